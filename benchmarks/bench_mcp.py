"""MCP in a session: what a slow server adds to connecting, and what a tool call costs over the server's own.

1. ``connect()`` on the embedded server, without MCP and with an MCP server that never answers (the worst slow
   start), alternated, median of --runs: the targets says a slow server adds at most 50 ms.
2. One tool call (the test toolbox's ``echo``, stdio) through the registry, as a session runs it (argument
   validation, approval policy, the MCP client), against the bare SDK call on the same connection, median of
   --calls: the target says the overhead is at most 10 ms.

Usage: python benchmarks/bench_mcp.py [--runs 7] [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

from voicedesk.app import AppRuntime, AudioBackend, RuntimeOptions
from voicedesk.app.tools import SessionTools, ToolChoice
from voicedesk.audio.filesource import FileSource
from voicedesk.audio.null import NullSink
from voicedesk.config import AppSettings
from voicedesk.local.server import LocalServerOptions

TOOLBOX = Path(__file__).parents[1] / "tests" / "mcp_servers" / "toolbox_server.py"


def _config(folder: Path, *flags: str) -> Path:
    path = folder / f"mcp{'-'.join(flags)}.json"
    server = {"command": sys.executable, "args": [str(TOOLBOX), *flags]}
    path.write_text(json.dumps({"mcpServers": {"toolbox": server}}))
    return path


def _audio(_settings: AppSettings, _problem: object) -> AudioBackend:
    return AudioBackend(FileSource(speed=math.inf), NullSink(speed=math.inf))


async def _connect_ms(mcp_config: Path | None, empty: Path) -> float:
    runtime = AppRuntime(
        AppSettings(endpoint="local"),
        RuntimeOptions(
            audio_factory=_audio,
            local_options=LocalServerOptions(audio_pace=math.inf, record_audio=False),
            mcp_config=mcp_config or empty,
        ),
    )
    await runtime.prepare()
    started = time.perf_counter()
    await runtime.connect()
    elapsed = (time.perf_counter() - started) * 1000
    await runtime.shutdown()
    return elapsed


async def _call_overhead(config: Path, calls: int) -> tuple[float, float]:
    tools = SessionTools(ToolChoice(builtins=[], mcp_config=config, policies={"echo": "always"}))
    tools.start()
    await tools.settled(30)
    registry = tools.registry()
    assert tools.servers is not None
    connection = tools.servers._connections[0]
    session = connection._client.session  # type: ignore[union-attr]
    ours, bare = [], []
    for n in range(calls):
        started = time.perf_counter()
        result = await registry.execute("echo", json.dumps({"text": f"x{n}"}), timeout_s=10)
        ours.append(time.perf_counter() - started)
        assert result.ok, result.output
        started = time.perf_counter()
        await session.call_tool("echo", {"text": f"y{n}"})
        bare.append(time.perf_counter() - started)
    await tools.close()
    return statistics.median(ours) * 1000, statistics.median(bare) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        empty = Path(folder) / "none.json"
        empty.write_text('{"mcpServers": {}}')
        hanging = _config(Path(folder), "--hang")
        without, with_slow = [], []
        for _ in range(args.runs):
            without.append(await _connect_ms(None, empty))
            with_slow.append(await _connect_ms(hanging, empty))
        print(f"connect, no MCP server:          median {statistics.median(without):6.1f} ms")
        print(f"connect, a server that never answers: median {statistics.median(with_slow):6.1f} ms")
        ours, bare = await _call_overhead(_config(Path(folder)), args.calls)
        print(
            f"tool call: through the registry {ours:.2f} ms, bare SDK call {bare:.2f} ms, overhead {ours - bare:.2f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
