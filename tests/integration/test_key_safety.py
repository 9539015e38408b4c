"""Keys go only to the host they were configured for: no redirect is followed with a key, no key travels over
plain ws:// to another machine unless asked, and a URL that cannot work is one line and exit 2.

Real parts: websockets servers on real sockets (loopback, and this machine's own non-loopback address where
it has one), the real client and transport, ``voicedesk ask`` as a subprocess.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from tests.integration.test_ask_cli import run_ask
from voicedesk.realtime.client import Backoff, RealtimeClient, RedirectRefused
from voicedesk.realtime.endpoint import Endpoint, azure_endpoint, custom_endpoint, openai_endpoint

KEY = "sk-test-KEY-SAFETY-0123456789"
RequestHandler = Callable[[ServerConnection, Request], Response | None]


@asynccontextmanager
async def http_server(host: str, process_request: RequestHandler) -> AsyncIterator[Server]:
    async def never_reached(connection: ServerConnection) -> None:
        await connection.close()

    async with serve(never_reached, host, 0, process_request=process_request) as server:
        yield server


def port_of(server: Server) -> int:
    return int(server.sockets[0].getsockname()[1])


class Recorder:
    """A server that writes down every handshake it gets and refuses it (401)."""

    def __init__(self) -> None:
        self.requests: list[Headers] = []

    def __call__(self, connection: ServerConnection, request: Request) -> Response:
        self.requests.append(request.headers)
        return connection.respond(HTTPStatus.UNAUTHORIZED, "recorded\n")

    def saw(self, secret: str) -> bool:
        return any(secret in value for headers in self.requests for _, value in headers.raw_items())


class Redirector:
    """A server that answers every handshake with a redirect, counting them."""

    def __init__(self, location: str, status: int) -> None:
        self.location, self.status = location, status
        self.requests = 0

    def __call__(self, connection: ServerConnection, request: Request) -> Response:
        self.requests += 1
        response = connection.respond(HTTPStatus(self.status), "moved\n")
        response.headers["Location"] = self.location
        return response


def endpoint_for(style: str, base: str) -> Endpoint:
    if style == "azure api-key":
        return azure_endpoint(base.replace("ws://", "http://"), "dep", api_key=KEY)
    if style == "azure bearer":
        return azure_endpoint(base.replace("ws://", "http://"), "dep", bearer_token=KEY)
    if style == "openai":
        return openai_endpoint("gpt-realtime", KEY, base_url=base + "/v1/realtime")
    return custom_endpoint(base + "/v1/realtime", KEY)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
@pytest.mark.parametrize("style", ["azure api-key", "azure bearer", "openai", "custom"])
async def test_a_redirect_to_another_origin_never_gets_the_key(style: str, status: int) -> None:
    second = Recorder()
    async with http_server("127.0.0.1", second) as other:
        target = f"ws://127.0.0.1:{port_of(other)}/v1/realtime?model=gpt-realtime"
        redirector = Redirector(target, status)
        async with http_server("127.0.0.1", redirector) as first:
            endpoint = endpoint_for(style, f"ws://127.0.0.1:{port_of(first)}")
            client = RealtimeClient(endpoint, on_event=lambda event, raw: None, backoff=Backoff(give_up_after_s=3))
            with pytest.raises(RedirectRefused) as refused:
                await client.connect()
    assert not second.saw(KEY), "the key went to the redirect's host"
    assert second.requests == [], "the redirect was followed"
    message = str(refused.value)
    assert message.count("\n") == 0
    assert f"redirected to {target}" in message
    assert "use that URL directly" in message
    assert KEY not in message
    assert redirector.requests == 1, "a redirect is the same answer every time: no retries"


async def test_a_redirect_to_the_same_origin_is_refused_too() -> None:
    """Any redirect: the new URL is the person's to check and configure, not the server's to choose."""
    seen = Recorder()

    def redirect_or_record(connection: ServerConnection, request: Request) -> Response:
        if request.path.startswith("/elsewhere"):
            return seen(connection, request)
        return Redirector("/elsewhere", 307)(connection, request)

    async with http_server("127.0.0.1", redirect_or_record) as server:
        endpoint = custom_endpoint(f"ws://127.0.0.1:{port_of(server)}/v1/realtime", KEY)
        client = RealtimeClient(endpoint, on_event=lambda event, raw: None, backoff=Backoff(give_up_after_s=3))
        with pytest.raises(RedirectRefused, match=rf"redirected to ws://127\.0\.0\.1:{port_of(server)}/elsewhere"):
            await client.connect()
    assert seen.requests == []


# --------------------------------------------------------------------------- voicedesk ask, as a person runs it


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


async def test_ask_refuses_an_azure_redirect_in_one_line(tmp_path: Path) -> None:
    second = Recorder()
    async with http_server("127.0.0.1", second) as other:
        target = f"ws://127.0.0.1:{port_of(other)}/openai/v1/realtime?model=dep"
        async with http_server("127.0.0.1", Redirector(target, 302)) as first:
            code, _out, err = await run_ask(
                "--azure-endpoint",
                f"http://127.0.0.1:{port_of(first)}",
                "--deployment",
                "dep",
                "--text",
                "hi",
                "--out-dir",
                str(tmp_path / "out"),
                env={"AZURE_OPENAI_API_KEY": KEY},
            )
    assert code == 4, err  # the endpoint cannot be used as configured: unreachable
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and f"redirected to {target}" in lines[0], err
    assert "use that URL directly" in lines[0] and "lost" not in err
    assert second.requests == []


def non_loopback_address() -> str | None:
    """An address of this machine that is not loopback: a server on it is 'another host' to the check."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


async def test_ask_sends_no_key_over_plain_ws_to_another_machine(tmp_path: Path) -> None:
    code, _out, err = await run_ask(
        "--url", "ws://192.0.2.1:1/v1/realtime", "--text", "hi", "--out-dir", str(tmp_path / "out"),
        env={"OPENAI_API_KEY": KEY},
    )  # fmt: skip
    assert code == 2, err
    line = one_line(err)
    assert line.startswith("voicedesk: ") and "--allow-insecure" in line and "192.0.2.1" in line
    assert KEY not in err


async def test_plain_ws_to_another_machine_waits_for_allow_insecure(tmp_path: Path) -> None:
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to stand for another host")
    recorder = Recorder()
    async with http_server(address, recorder) as server:
        url = f"ws://{address}:{port_of(server)}/v1/realtime?model=gpt-realtime"
        args = ("--url", url, "--text", "hi", "--timeout", "30")
        code, _out, err = await run_ask(*args, "--out-dir", str(tmp_path / "refused"), env={"OPENAI_API_KEY": KEY})
        assert code == 2, err
        assert "--allow-insecure" in one_line(err)
        assert recorder.requests == [], "nothing may be sent before the check"

        code, _out, err = await run_ask(
            *args, "--allow-insecure", "--out-dir", str(tmp_path / "allowed"), env={"OPENAI_API_KEY": KEY}
        )
    assert "--allow-insecure" not in err
    assert recorder.saw(KEY), "with --allow-insecure the key goes where the person pointed it"
    assert code == 3, err  # the recorder refuses every key (401)


async def test_plain_ws_without_a_key_is_not_refused(tmp_path: Path) -> None:
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to stand for another host")
    recorder = Recorder()
    async with http_server(address, recorder) as server:
        url = f"ws://{address}:{port_of(server)}/v1/realtime?model=gpt-realtime"
        code, _out, err = await run_ask("--url", url, "--text", "hi", "--out-dir", str(tmp_path / "out"))
    assert len(recorder.requests) >= 1, err
    assert code == 3, err


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ws://127.0.0.1:99999/v1/realtime", "port must be a number from 1 to 65535"),
        ("ws://127.0.0.1:0/v1/realtime", "port must be a number from 1 to 65535"),
        ("ws://127.0.0.1:http/v1/realtime", "port must be a number from 1 to 65535"),
        ("ws://[::1", "not an IPv6 address"),
        ("ws://[nope]:80/v1/realtime", "not an IPv6 address"),
        ("ws://:8080/v1/realtime", "names no valid host"),
        ("ws:///v1/realtime", "is not a websocket URL"),
        ("ftp://example.com/v1/realtime", "is not a websocket URL"),
        ("example.com/v1/realtime", "is not a websocket URL"),
        ("ws://localhost:8080/v1/realtime#top", "#fragment"),
        ("ws://me@localhost:8080/v1/realtime", "needs a password"),
    ],
)
async def test_a_url_that_cannot_work_is_one_line_and_exit_2(tmp_path: Path, url: str, says: str) -> None:
    out = tmp_path / "out"
    code, stdout, err = await run_ask("--url", url, "--text", "hi", "--out-dir", str(out), env={"OPENAI_API_KEY": KEY})
    assert code == 2, err
    line = one_line(err)
    assert line.startswith("voicedesk: ") and says in line, line
    assert stdout == ""
    assert not out.exists(), "checked before anything starts"


@pytest.mark.parametrize("resource", ["https://myres.openai.azure.com:70000", "https://[::1", "https://"])
async def test_a_bad_azure_endpoint_is_one_line_and_exit_2(tmp_path: Path, resource: str) -> None:
    out = tmp_path / "out"
    code, _stdout, err = await run_ask(
        "--azure-endpoint", resource, "--deployment", "d", "--text", "hi", "--out-dir", str(out),
        env={"AZURE_OPENAI_API_KEY": KEY},
    )  # fmt: skip
    assert code == 2, err
    assert one_line(err).startswith("voicedesk: '")
    assert not out.exists()
