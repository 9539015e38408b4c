"""MCP servers as tools, against real servers run as child processes: the toolbox test server written with the
SDK (tests/mcp_servers) and the published mcp-server-time."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.contract import validate_client_event
from voicedesk.realtime import events as ev
from voicedesk.realtime.session_config import SessionSettings, build_session_payload
from voicedesk.tools.builtins import default_registry
from voicedesk.tools.mcp import McpServers, Phase
from voicedesk.tools.mcp.schema import NAME
from voicedesk.tools.mcp_config import HttpServerConfig, StdioServerConfig
from voicedesk.tools.validation import validate

TOOLBOX = Path(__file__).parents[1] / "mcp_servers" / "toolbox_server.py"
WAIT_S = 90.0  # a loaded 2-core machine starts a Python MCP server in 1-3 s; this is only a hang guard


def toolbox(name: str = "toolbox", *flags: str) -> StdioServerConfig:
    return StdioServerConfig(name, sys.executable, (str(TOOLBOX), *flags))


def time_server() -> StdioServerConfig:
    return StdioServerConfig("time", sys.executable, ("-m", "mcp_server_time", "--local-timezone", "UTC"))


async def until(condition: Callable[[], bool], what: str, servers: McpServers | None = None) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            states = [state.summary() for state in servers.states()] if servers is not None else []
            raise AssertionError(f"gave up waiting for {what} {states}")
        await asyncio.sleep(0.02)


def ready(servers: McpServers, *names: str) -> Callable[[], bool]:
    def check() -> bool:
        phases = {state.name: state.phase for state in servers.states()}
        return all(phases[name] is Phase.READY for name in names)

    return check


def by_name(servers: McpServers) -> dict[str, object]:
    return {tool.name: tool for tool in servers.tools()}


async def test_tools_of_both_servers_listed_and_called_with_their_real_results() -> None:
    servers = McpServers([toolbox(), time_server()], taken_names=default_registry().names())
    servers.start()
    try:
        await until(ready(servers, "toolbox", "time"), "both servers ready")
        tools = {tool.name: tool for tool in servers.tools()}
        # Seven toolbox tools arrive over four tools/list pages of two.
        assert sorted(tools) == sorted(
            ["echo", "add", "media", "fail", "crash", "wait", "grow", "get_current_time", "convert_time"]
        )
        for tool in tools.values():
            definition = tool.definition()
            assert NAME.match(definition["name"])
            assert definition["parameters"]["type"] == "object"
            assert "$schema" not in json.dumps(definition) and "title" not in definition["parameters"]
        definitions = [tool.definition() for tool in servers.tools()]
        for protocol in ("ga", "beta"):
            payload = build_session_payload(SessionSettings(), protocol, definitions)
            validate_client_event({**ev.SessionUpdate(payload).to_wire(protocol), "event_id": "e1"}, protocol)

        now = await tools["get_current_time"].call({"timezone": "UTC"})
        assert now.ok, now.output
        answer = json.loads(now.output)
        assert answer["timezone"] == "UTC"
        told = dt.datetime.fromisoformat(answer["datetime"])
        assert abs(told - dt.datetime.now(dt.UTC)) < dt.timedelta(hours=1)

        converted = await tools["convert_time"].call(
            {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}
        )
        assert json.loads(converted.output)["target"]["datetime"].endswith("T21:00:00+09:00")

        echo = await tools["echo"].call({"text": "hello"})
        assert echo.ok and echo.output.startswith("echo: hello (pid ")
        total = await tools["add"].call({"numbers": [1, 2.5]})
        assert json.loads(total.output) == {"total": 3.5, "terms": 2}
        media = await tools["media"].call({})
        assert media.output.splitlines() == [
            "Here you are.",
            "[an image (image/png, 30 bytes) that cannot be shown here]",
            "[the resource file:///notes/today.txt (text/plain):]",
            "Buy milk.",
            "[a link to the resource 'report' at file:///reports/q3.pdf, application/pdf]",
        ]
        failed = await tools["fail"].call({"reason": "the disk is full"})
        assert not failed.ok
        assert json.loads(failed.output) == {"error": "Error executing tool fail: the disk is full"}
    finally:
        await servers.close()
    assert servers.tools() == ()
    assert {state.phase for state in servers.states()} == {Phase.STOPPED}


async def test_through_the_registry_arguments_are_checked_before_the_server_is_called() -> None:
    registry = default_registry()
    servers = McpServers([toolbox()], taken_names=registry.names())
    servers.start()
    try:
        await until(ready(servers, "toolbox"), "the toolbox")
        servers.sync_registry(registry)
        assert registry.names()[:3] == ["calculator", "get_time", "stop_conversation"]
        assert len(registry) == 3 + 7
        result = await registry.execute("add", '{"numbers": [2, 3]}')
        assert (result.ok, json.loads(result.output)) == (True, {"total": 5.0, "terms": 2})
        refused = await registry.execute("add", '{"numbers": "two"}')
        assert (
            refused.error == "Invalid arguments for 'add': argument 'numbers' must be an array, got the string \"two\"."
        )
        failed = await registry.execute("fail", "{}")
        assert failed.error == "The tool 'fail' failed: Error executing tool fail: broken on purpose"
        slow = await registry.execute("wait", '{"seconds": 30}', timeout_s=0.5)
        assert slow.error == "The tool 'wait' did not finish within 0.5 seconds."
        assert registry.definitions()[-1]["name"] == "grow"
    finally:
        await servers.close()


async def test_a_tool_name_taken_elsewhere_is_prefixed_with_its_server() -> None:
    servers = McpServers([toolbox("box-1"), toolbox("box.2")], taken_names=["echo"])
    servers.start()
    try:
        await until(ready(servers, "box-1", "box.2"), "both toolboxes")
        names = [tool.name for tool in servers.tools()]
        assert "box-1__echo" in names and "box_2__echo" in names and "echo" not in names
        assert len(set(names)) == len(names) == 14
        assert all(NAME.match(name) for name in names)
        tools = {tool.name: tool for tool in servers.tools()}
        assert (await tools["box_2__add"].call({"numbers": [1]})).ok
    finally:
        await servers.close()


async def test_start_returns_at_once_and_a_silent_server_is_reported_failed_after_its_time_out() -> None:
    # 8 s: several times what the toolbox needs to start on a loaded machine (a slow start would only be
    # retried, half a second later), yet short enough for the silent server to be given up soon.
    servers = McpServers([toolbox("silent", "--hang"), toolbox()], start_timeout_s=8.0, restart_delays_s=(0.5, 1.0))
    started = time.perf_counter()
    servers.start()
    took = time.perf_counter() - started
    # Structural: start() only creates tasks. 0.5 s is hundreds of times what it needs.
    assert took < 0.5
    assert {state.name: state.phase for state in servers.states()} == {
        "silent": Phase.STARTING,
        "toolbox": Phase.STARTING,
    }
    try:
        await until(ready(servers, "toolbox"), "the toolbox, beside a silent server", servers)
        assert servers.states()[0].phase is Phase.STARTING
        await until(lambda: servers.states()[0].phase is Phase.FAILED, "the silent server to be given up")
        assert servers.states()[0].detail.startswith("did not answer within 8 s; trying again in ")
        assert {tool.server for tool in servers.tools()} == {"toolbox"}
    finally:
        await servers.close()


async def test_a_server_that_cannot_start_says_why_with_its_last_stderr_lines() -> None:
    missing = StdioServerConfig("missing", "no-such-program-for-voicedesk")
    servers = McpServers([toolbox("broken", "--stderr-then-exit"), missing], restart_delays_s=(60, 60))
    servers.start()
    try:
        await until(lambda: {s.phase for s in servers.states()} == {Phase.FAILED}, "both servers to fail", servers)
        broken, absent = servers.states()
        assert broken.stderr_tail[-2:] == ("toolbox: cannot open the database", "toolbox: giving up")
        assert broken.summary().endswith("(its last words: toolbox: giving up)")
        assert "no-such-program-for-voicedesk" in absent.summary()
        assert "No such file or directory" in absent.summary() or "no such program" in absent.summary()
    finally:
        await servers.close()


async def test_a_crash_mid_call_is_an_error_then_the_tools_come_back_after_the_restart() -> None:
    servers = McpServers([toolbox()], restart_delays_s=(0.2, 1.0))
    changes: list[list[str]] = []
    servers.on_tools_changed(lambda: changes.append([tool.name for tool in servers.tools()]))
    servers.start()
    try:
        await until(ready(servers, "toolbox"), "the toolbox")
        tools = {tool.name: tool for tool in servers.tools()}
        first_pid = (await tools["echo"].call({"text": "x"})).output.split("pid ")[1]
        crashed = await tools["crash"].call({})
        assert not crashed.ok
        assert crashed.error == "The MCP server 'toolbox' stopped while running 'crash'; it is being restarted."
        await until(lambda: [] in changes, "the tools to leave")
        await until(ready(servers, "toolbox"), "the restarted toolbox")
        assert servers.states()[0].restarts == 1
        tools = {tool.name: tool for tool in servers.tools()}
        again = await tools["echo"].call({"text": "x"})
        assert again.ok and again.output.split("pid ")[1] != first_pid
    finally:
        await servers.close()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_tool_list_change_reaches_the_listeners(mode: str) -> None:
    servers = McpServers([toolbox()], mode=mode)
    servers.start()
    try:
        await until(ready(servers, "toolbox"), "the toolbox")
        changed = asyncio.Event()
        servers.on_tools_changed(changed.set)
        grow = next(tool for tool in servers.tools() if tool.name == "grow")
        assert (await grow.call({"name": "sprout"})).output == "added sprout"
        await asyncio.wait_for(changed.wait(), WAIT_S)
        sprout = next(tool for tool in servers.tools() if tool.name == "sprout")
        assert sprout.description == "A tool added at run time: sprout."
        assert (await sprout.call({})).output == "I am sprout"
    finally:
        await servers.close()


def test_schemas_sent_fit_the_registry_validator() -> None:
    # The validator raises on a type it does not know: cleaned schemas must only carry known ones.
    from voicedesk.tools.mcp.schema import clean_parameters

    schema = clean_parameters({"type": "object", "properties": {"x": {"type": ["strange", "integer"]}}})
    assert validate({"x": 3}, schema) == []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
async def test_no_child_process_is_left_after_close() -> None:
    servers = McpServers([toolbox()])
    servers.start()
    await until(ready(servers, "toolbox"), "the toolbox")
    echo = next(tool for tool in servers.tools() if tool.name == "echo")
    pid = int((await echo.call({"text": "x"})).output.split("pid ")[1].rstrip(")"))
    assert _alive(pid)
    await servers.close()
    await until(lambda: not _alive(pid), "the server process to be gone")


PARENT = """
import asyncio, json, sys
from voicedesk.tools.mcp import McpServers
from tests.contract import validate_client_event
from voicedesk.realtime import events as ev
from voicedesk.realtime.session_config import SessionSettings, build_session_payload
from voicedesk.tools.mcp_config import HttpServerConfig, StdioServerConfig

async def main() -> None:
    servers = McpServers([StdioServerConfig("toolbox", sys.executable, (sys.argv[1],))], guard=sys.argv[2] == "guard")
    servers.start()
    while not servers.tools():
        await asyncio.sleep(0.02)
    tools = {tool.name: tool for tool in servers.tools()}
    pid = (await tools["echo"].call({"text": "x"})).output.split("pid ")[1].rstrip(")")
    # A call that keeps the server busy: it cannot notice its stdin closing until the call ends.
    asyncio.create_task(tools["wait"].call({"seconds": 600}))
    await asyncio.sleep(0.5)
    print(pid, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_no_orphan_after_the_parent_is_killed(tmp_path: Path) -> None:
    # VOICEDESK_TEST_MCP_GUARD=none runs the parent without the guard: this test then fails (an orphan).
    script = tmp_path / "parent.py"
    script.write_text(PARENT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    parent = subprocess.Popen(
        [sys.executable, str(script), str(TOOLBOX), os.environ.get("VOICEDESK_TEST_MCP_GUARD", "guard")],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    server_pid = 0
    try:
        assert parent.stdout is not None
        server_pid = int(parent.stdout.readline())
        assert _alive(server_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(WAIT_S)
        deadline = time.monotonic() + WAIT_S
        while _alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(server_pid), "the MCP server outlived the process that started it"
    finally:
        parent.kill()
        if server_pid and _alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def http_toolbox() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(TOOLBOX), "--http", str(port), "--token", "sesame"], stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the HTTP toolbox did not come up"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(WAIT_S)


async def test_a_streamable_http_server_with_headers(http_toolbox: str) -> None:
    servers = McpServers(
        [
            HttpServerConfig("web", http_toolbox, {"Authorization": "Bearer sesame"}),
            HttpServerConfig("locked-out", http_toolbox, {"Authorization": "Bearer wrong"}),
        ],
        restart_delays_s=(60, 60),
    )
    servers.start()
    try:
        await until(ready(servers, "web"), "the HTTP server")
        await until(lambda: servers.states()[1].phase is Phase.FAILED, "the wrong token to be refused")
        assert servers.states()[1].detail == (
            "Server returned an error response (HTTP 401 Unauthorized); trying again in 60 s"
        )
        add = next(tool for tool in servers.tools() if tool.name == "add")
        assert json.loads((await add.call({"numbers": [4, 5]})).output) == {"total": 9.0, "terms": 2}
    finally:
        await servers.close()


async def test_restart_on_request_brings_a_fresh_process() -> None:
    servers = McpServers([toolbox()])
    servers.start()
    try:
        await until(ready(servers, "toolbox"), "the toolbox")
        echo = next(tool for tool in servers.tools() if tool.name == "echo")
        before = (await echo.call({"text": "x"})).output
        await servers.restart("toolbox")
        await until(lambda: servers.states()[0].phase is not Phase.READY, "the restart to begin")
        await until(ready(servers, "toolbox"), "the restarted toolbox")
        echo = next(tool for tool in servers.tools() if tool.name == "echo")
        assert (await echo.call({"text": "x"})).output != before
        with pytest.raises(KeyError, match="no MCP server named 'nope'"):
            await servers.restart("nope")
    finally:
        await servers.close()
