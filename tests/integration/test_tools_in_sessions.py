"""MCP servers, the tools folder and approval in real sessions: ``voicedesk ask`` and the app runtime against
the embedded server, MCP servers as real child processes (the SDK-built toolbox and mcp-server-time)."""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from tests.contract import validate_client_event
from tests.integration.test_ask_cli import run_ask
from voicedesk.app import AppRuntime, AudioBackend, RuntimeOptions
from voicedesk.audio.filesource import FileSource
from voicedesk.audio.null import NullSink
from voicedesk.config import AppSettings
from voicedesk.local.server import LocalServerOptions
from voicedesk.realtime.session_config import SessionSettings, TurnDetection
from voicedesk.session import events as se
from voicedesk.session.journal import read_journal
from voicedesk.tools.mcp import Phase

TOOLBOX = Path(__file__).parents[1] / "mcp_servers" / "toolbox_server.py"


def _mcp_json(path: Path, servers: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"mcpServers": servers}))
    return path


def _toolbox(*flags: str, calls: Path | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"command": sys.executable, "args": [str(TOOLBOX), *flags]}
    if calls is not None:
        entry["env"] = {"TOOLBOX_CALLS": str(calls)}
    return entry


def _client_events(out: Path) -> list[dict[str, Any]]:
    lines = (out / "events.jsonl").read_text().splitlines()
    return [r["event"] for r in map(json.loads, lines) if r["direction"] == "client"]


def _outputs(out: Path) -> list[str]:
    return [r["output"] for r in read_journal(out / "conversation.jsonl") if r["type"] == "function_call_output"]


async def test_an_mcp_tool_answers_through_ask_when_approved(tmp_path: Path) -> None:
    config = _mcp_json(
        tmp_path / "mcp.json",
        {"time": {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]}},
    )
    out = tmp_path / "out"
    ask = 'call the tool get_current_time with {"timezone": "UTC"}'
    code, stdout, stderr = await run_ask(
        "--mcp-config", str(config), "--approve", "all", "--text", "hello", "--text", ask, "--out-dir", str(out)
    )
    assert code == 0, stderr
    # The server's real answer reached the model and the conversation.
    (output,) = _outputs(out)
    answer = json.loads(output)
    assert answer["timezone"] == "UTC"
    assert abs(datetime.fromisoformat(answer["datetime"]).timestamp() - time.time()) < 600  # the real time
    assert "tool get_current_time(" in stdout
    # The tools joined the session with a session.update, valid against the openai models.
    updates = [e for e in _client_events(out) if e["type"] == "session.update"]
    for update in updates:
        validate_client_event(update, "ga")
    offered = {t["name"] for u in updates for t in u["session"].get("tools", [])}
    assert {"get_current_time", "convert_time", "calculator"} <= offered


async def test_a_declined_call_never_reaches_the_server(tmp_path: Path) -> None:
    calls = tmp_path / "calls.log"
    config = _mcp_json(tmp_path / "mcp.json", {"toolbox": _toolbox(calls=calls)})
    out = tmp_path / "out"
    code, _, stderr = await run_ask(
        "--mcp-config",
        str(config),
        "--text",
        "hello",
        "--text",
        'call the tool echo with {"text": "secret"}',
        "--out-dir",
        str(out),
    )
    assert code == 0, stderr
    (output,) = _outputs(out)
    assert "declined to run the tool 'echo'" in output
    assert not calls.exists()  # never called
    # The model was answered once after the refusal, as after any tool output.
    creates = [e for e in _client_events(out) if e["type"] == "response.create"]
    assert len(creates) == 3  # two turns, and one after the declined call


async def test_tools_folder_tools_run_and_a_broken_file_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "tools"
    folder.mkdir()
    (folder / "words.py").write_text(
        "def shout(text: str) -> str:\n    '''Say it loudly.'''\n    return text.upper() + '!'\n"
    )
    (folder / "broken.py").write_text("def oops(:\n")
    out = tmp_path / "out"
    code, _, stderr = await run_ask(
        "--tools-dir",
        str(folder),
        "--approve",
        "all",
        "--text",
        "hello",
        "--text",
        'call the tool shout with {"text": "hi"}',
        "--out-dir",
        str(out),
    )
    assert code == 0, stderr
    assert _outputs(out) == ['"HI!"'] or _outputs(out) == ["HI!"]
    problems = [line for line in stderr.splitlines() if "broken.py" in line]
    assert len(problems) == 1 and problems[0].startswith("voicedesk: warning: Tools:")


async def test_voicedesk_tools_lists_every_source(tmp_path: Path) -> None:
    folder = tmp_path / "tools"
    folder.mkdir()
    (folder / "words.py").write_text("def shout(text: str) -> str:\n    return text.upper()\n")
    config = _mcp_json(tmp_path / "mcp.json", {"toolbox": _toolbox()})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "voicedesk",
        "tools",
        "--json",
        "--mcp-config",
        str(config),
        "--tools-dir",
        str(folder),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    listed = json.loads(stdout)
    by_name = {t["name"]: t for t in listed["tools"]}
    assert by_name["calculator"]["source"] == "built-in" and by_name["calculator"]["approval"] == "always"
    assert by_name["shout"]["source"] == "file" and by_name["shout"]["approval"] == "ask"
    assert by_name["echo"]["source"] == "mcp" and by_name["echo"]["server"] == "toolbox"
    assert by_name["echo"]["parameters"]["properties"]["text"]["type"] == "string"
    assert listed["mcp_servers"][0]["state"] == "ready"


def _file_audio(_settings: AppSettings, _on_problem: object) -> AudioBackend:
    return AudioBackend(FileSource(speed=np.inf), NullSink(speed=np.inf))


async def test_a_slow_mcp_server_does_not_hold_the_connection_and_its_tools_join_later(tmp_path: Path) -> None:
    config = _mcp_json(tmp_path / "mcp.json", {"stuck": _toolbox("--hang"), "toolbox": _toolbox()})
    runtime = AppRuntime(
        AppSettings(endpoint="local"),
        RuntimeOptions(
            audio_factory=_file_audio,
            local_options=LocalServerOptions(audio_pace=np.inf, record_audio=False),
            mcp_config=config,
        ),
    )
    events: list[se.SessionEvent] = []
    runtime.subscribe(events.append)
    try:
        await runtime.connect()
        # Connected while both servers were still starting: the connection never waited for them.
        assert {state.phase for state in runtime.tools.states()} == {Phase.STARTING}
        assert runtime.server is not None
        loop = asyncio.get_running_loop()
        end = loop.time() + 30
        while "echo" not in _offered(runtime) and loop.time() < end:  # noqa: ASYNC110 - polling the server's log
            await asyncio.sleep(0.05)
        assert "echo" in _offered(runtime)  # a later session.update brought the toolbox's tools
        assert runtime.controller is not None and "echo" in runtime.controller.tools
    finally:
        await runtime.shutdown()


def _offered(runtime: AppRuntime) -> set[str]:
    assert runtime.server is not None
    session = runtime.server.sessions[-1]
    return {t["name"] for u in session.received("session.update") for t in u["session"].get("tools", [])}


async def test_a_message_sent_while_the_answer_to_a_tool_is_still_asked_for_gets_its_own_answer() -> None:
    """The response.create for the tool's output is on its way when the person's message goes out: the server
    answers the conversation as it was when the create arrived, so the message needs a create of its own."""
    runtime = AppRuntime(
        AppSettings(endpoint="local", session=SessionSettings(turn_detection=TurnDetection(type="none"))),
        RuntimeOptions(audio_factory=_file_audio, local_options=LocalServerOptions(audio_pace=math.inf)),
    )
    events: list[se.SessionEvent] = []
    runtime.subscribe(events.append)
    try:
        await runtime.connect()
        controller = runtime.controller
        assert controller is not None
        controller.send_text("what is 2 plus 3")
        while not any(isinstance(e, se.ToolEnd) for e in events):  # noqa: ASYNC110 - at once, no later
            await asyncio.sleep(0)
        controller.send_text("hello again")
        assert await controller.wait_idle(20)
        assert runtime.server is not None
        session = runtime.server.sessions[-1]
        # The question, the tool's output, and the message: each asked for its own answer, in that order, and
        # the last answer came after the message.
        assert len(session.received("response.create")) == 3
        order = [i.role or i.type for i in controller.history()]
        assert order.index("user", 1) < len(order) - 1 and order[-1] == "assistant"
    finally:
        await runtime.shutdown()
