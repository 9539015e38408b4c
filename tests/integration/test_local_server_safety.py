"""Who may drive the local server: web pages (Origin), programs without the key, too many connections; what it
keeps after a connection closes; and ``voicedesk serve``'s refusals, key handling and signals.

Real parts only: the embedded server on loopback, raw websocket clients, the app runtime, and ``voicedesk serve``
as a child process.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import sys
import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from tests.integration.test_local_faults import handshake_refusal
from tests.integration.test_local_server import local_server, peer, say_text
from voicedesk.app import AppRuntime, RuntimeOptions, null_audio
from voicedesk.config import AppSettings
from voicedesk.local.server import LocalRealtimeServer, LocalServerOptions

KEY_ENV = "VOICEDESK_SERVE_KEY"  # the documented name, spelled out
PAGE = {"Origin": "https://evil.example"}
WAIT_S = 30.0  # generous: the machine may be loaded; only a hang runs into it


async def eventually(condition: Callable[[], bool], within: float = WAIT_S) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        await asyncio.sleep(0.02)


# --------------------------------------------------------------------------- web pages


async def test_a_web_page_origin_is_refused_with_403_before_its_key_is_looked_at() -> None:
    async with local_server(api_key="sk-right-key-123456") as server:
        for origin in ("https://evil.example", "null", "http://localhost:3000"):
            status, body = await handshake_refusal(f"{server.url}&api-key=sk-right-key-123456", {"Origin": origin})
            assert status == 403
            error = body["error"]
            assert isinstance(error, dict) and error["code"] == "origin_not_allowed"
            assert "web pages" in error["message"] and "--allow-origin" in error["message"]
        assert not server.sessions
        async with peer(server, headers={"Authorization": "Bearer sk-right-key-123456"}) as p:  # a program
            await p.expect("session.created")


async def test_an_allowed_origin_connects_and_others_still_do_not() -> None:
    async with local_server(allowed_origins=("http://localhost:3000",)) as server:
        async with peer(server, headers={"Origin": "http://localhost:3000"}) as p:
            await p.expect("session.created")
        status, _ = await handshake_refusal(server.url, {"Origin": "http://localhost:3001"})
        assert status == 403


# --------------------------------------------------------------------------- the app's own server


async def test_the_app_started_server_refuses_clients_without_its_key_while_the_app_talks(tmp_path: Path) -> None:
    options = RuntimeOptions(
        audio_factory=lambda _settings, _problem: null_audio("test"), journal=False, recordings_dir=tmp_path / "rec"
    )
    runtime = AppRuntime(AppSettings(endpoint="local"), options)
    try:
        await runtime.connect()
        server = runtime.server
        assert server is not None and runtime.using_local_server and runtime.running
        assert server.options.api_key and len(server.options.api_key) >= 32, "a random key made for this start"

        status, body = await handshake_refusal(server.url)
        assert status == 401 and body["error"]["code"] == "missing_api_key"  # type: ignore[index]
        status, _ = await handshake_refusal(server.url, {"Authorization": "Bearer sk-guessed-0123456789"})
        assert status == 401
        status, _ = await handshake_refusal(server.url, PAGE)
        assert status == 403
        assert len(server.sessions) == 1, "only the app's own connection got in"

        runtime.controller.send_text("what is 12 times 7")  # type: ignore[union-attr]
        await eventually(lambda: bool(server.sessions and server.sessions[0].responses))
        assert server.sessions[0].responses[0]["status"] == "completed"

        await runtime.disconnect()
        await eventually(lambda: not server.sessions)  # the app keeps no closed connection's data
    finally:
        await runtime.shutdown()


# --------------------------------------------------------------------------- connection limit


async def _try_connect(server: LocalRealtimeServer) -> ClientConnection | int:
    try:
        return await connect(server.url)
    except InvalidStatus as refused:
        return refused.response.status_code


async def test_connections_over_the_limit_get_503_and_the_open_ones_carry_on() -> None:
    async with local_server(max_connections=2) as server, peer(server) as first, peer(server) as second:
        for p in (first, second):
            await p.expect("session.created")
        with pytest.raises(InvalidStatus) as refused:
            async with connect(server.url):
                pass
        response = refused.value.response
        assert response.status_code == 503
        error = json.loads(response.body)["error"]
        assert error["code"] == "too_many_connections" and "2 at once" in error["message"]
        assert len(server.sessions) == 2

        for p in (first, second):
            events = await say_text(p, "still there?")
            assert events[-1]["response"]["status"] == "completed"
        await first.ws.close()
        got: list[ClientConnection | int] = []

        async def slot_freed() -> bool:
            got.append(await _try_connect(server))
            return not isinstance(got[-1], int)

        deadline = time.monotonic() + WAIT_S
        while not await slot_freed():
            assert got[-1] == 503 and time.monotonic() < deadline
            await asyncio.sleep(0.05)
        third = got[-1]
        assert not isinstance(third, int)
        assert json.loads(await third.recv())["type"] == "session.created"
        await third.close()


async def test_twelve_handshakes_at_once_let_exactly_the_limit_in() -> None:
    async with local_server(max_connections=3) as server:
        results = await asyncio.gather(*(_try_connect(server) for _ in range(12)))
        opened = [r for r in results if not isinstance(r, int)]
        try:
            assert len(opened) == 3
            assert [r for r in results if isinstance(r, int)] == [503] * 9
        finally:
            for ws in opened:
                await ws.close()


async def test_refused_handshakes_take_no_slot_and_leave_no_record() -> None:
    async with local_server(api_key="sk-right-key-123456", max_connections=1) as server:
        for _ in range(5):
            assert (await handshake_refusal(server.url))[0] == 401
            assert (await handshake_refusal(server.url, PAGE))[0] == 403
        assert not server.sessions
        async with peer(server, headers={"api-key": "sk-right-key-123456"}) as p:
            await p.expect("session.created")


# --------------------------------------------------------------------------- retention


async def test_closed_connections_leave_nothing_behind_when_retention_is_off() -> None:
    async with local_server(keep_sessions=False, record_audio=False) as server:
        gone: list[weakref.ref[object]] = []
        for turn in range(3):
            async with peer(server) as p:
                await p.expect("session.created")
                await say_text(p, f"turn {turn}")
                assert len(server.sessions) == 1, "an open connection's record is there for as long as it is open"
                gone.append(weakref.ref(server.sessions[0].conversation))
            await eventually(lambda: not server.sessions)
        gc.collect()
        assert all(ref() is None for ref in gone), "a closed connection's conversation is still referenced"


async def test_the_test_double_keeps_records_by_default() -> None:
    assert LocalServerOptions().keep_sessions
    async with local_server() as server:
        for _ in range(2):
            async with peer(server) as p:
                await p.expect("session.created")
        await eventually(lambda: all(s.closed for s in server.sessions))
        assert len(server.sessions) == 2


# --------------------------------------------------------------------------- voicedesk serve


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    return {**env, **extra}


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a script started with `trap '' INT`, or nohup-like


@asynccontextmanager
async def serve_child(
    *args: str, env: dict[str, str] | None = None, preexec_fn: Callable[[], None] | None = None
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    """``voicedesk serve`` in a child process, through the real command line; yields it and its port."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voicedesk", "serve", "--port", "0", "--pace", "inf", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env or _env(), preexec_fn=preexec_fn,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        url = (await asyncio.wait_for(child.stdout.readline(), WAIT_S)).decode().strip()
        assert url.startswith("ws://"), url
        yield child, int(url.split(":")[2].split("/")[0])
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


async def _stops_with_0(child: asyncio.subprocess.Process, signum: signal.Signals) -> str:
    child.send_signal(signum)
    assert await asyncio.wait_for(child.wait(), WAIT_S) == 0
    assert child.stderr is not None
    return (await child.stderr.read()).decode()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_serve_started_with_sigint_ignored_still_stops_on_sigint_with_0() -> None:
    async with serve_child(preexec_fn=_ignore_sigint) as (child, port):
        async with connect(f"ws://127.0.0.1:{port}/v1/realtime") as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
        stderr = await _stops_with_0(child, signal.SIGINT)
        assert "Traceback" not in stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_serve_takes_its_key_from_the_environment_and_stops_on_sigterm(tmp_path: Path) -> None:
    async with serve_child(env=_env(**{KEY_ENV: "sk-serve-key-0123456789"})) as (child, port):
        url = f"ws://127.0.0.1:{port}/v1/realtime"
        assert (await handshake_refusal(url))[0] == 401
        async with connect(url, additional_headers={"Authorization": "Bearer sk-serve-key-0123456789"}) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
        await _stops_with_0(child, signal.SIGTERM)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_serve_on_every_interface_warns_and_needs_the_key_from_its_file(tmp_path: Path) -> None:
    key_file = tmp_path / "serve.key"
    key_file.write_text("sk-file-key-0123456789\n")
    async with serve_child("--host", "0.0.0.0", "--api-key-file", str(key_file)) as (child, port):
        url = f"ws://127.0.0.1:{port}/v1/realtime"
        assert (await handshake_refusal(url))[0] == 401
        async with connect(url, additional_headers={"api-key": "sk-file-key-0123456789"}) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
        stderr = await _stops_with_0(child, signal.SIGTERM)
    warning = [line for line in stderr.splitlines() if "WARNING" in line]
    assert len(warning) == 1 and "0.0.0.0" in warning[0] and "other machines" in warning[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--port", "99999"], "out of range"),
        (["--port", "-1"], "out of range"),
        (["--api-key", "sk-visible-in-ps-0123"], KEY_ENV),
        (["--api-key=sk-visible-in-ps-0123"], KEY_ENV),
        (["--host", "0.0.0.0", "--port", "0"], "needs a key"),
        (["--api-key-file", "/nonexistent/serve.key"], "cannot read the key"),
    ],
)
async def test_serve_refuses_bad_options_with_one_line_and_exit_2(args: list[str], says: str) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voicedesk", "serve", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=_env(),
    )  # fmt: skip
    try:
        stdout, stderr = await asyncio.wait_for(child.communicate(), WAIT_S)
    finally:
        if child.returncode is None:  # it started serving instead of refusing
            child.kill()
            await child.wait()
    lines = stderr.decode().splitlines()
    assert child.returncode == 2 and len(lines) == 1, lines
    assert lines[0].startswith("voicedesk serve: ") and says in lines[0]
    assert "sk-visible-in-ps" not in lines[0] and not stdout


def test_both_ways_to_start_serve_share_one_pace_default(capsys: pytest.CaptureFixture[str]) -> None:
    from voicedesk.app.serve import build_parser
    from voicedesk.cli import main

    default = LocalServerOptions().audio_pace
    assert build_parser().parse_args([]).pace == default
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--help"])
    assert exited.value.code == 0
    assert f"default {default}" in capsys.readouterr().out
