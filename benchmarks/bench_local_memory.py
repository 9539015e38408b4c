"""Memory of the local server over many connections: flat when closed connections' records are dropped.

The server runs with record_audio off (as the app and ``voicedesk serve`` run it), once keeping closed
connections' records (``keep_sessions=True``, the test double's setting) and once dropping them (the app's and
``voicedesk serve``'s). Each connection, one after another, appends SECONDS of speech-like audio, commits it,
asks for an answer of SECONDS and closes. We print:

- the resident memory (VmRSS, Linux) of the server in a child process, as the OS sees it; the allocator keeps
  some freed memory, so this levels off rather than dropping;
- the Python heap still allocated once the connections have closed (tracemalloc, server in this process): what
  the server holds on to, without the allocator's slack.

Run: .venv/bin/python benchmarks/bench_local_memory.py [--connections 30] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import math
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
from websockets.asyncio.client import connect

from voicedesk.local.server import LocalRealtimeServer, LocalServerOptions

RATE = 24000


async def _child(keep: bool) -> None:
    options = LocalServerOptions(audio_pace=math.inf, record_audio=False, keep_sessions=keep)
    async with LocalRealtimeServer(options) as server:
        print(server.url, flush=True)
        await asyncio.Event().wait()  # until the parent terminates us


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _speech_like(seconds: int) -> list[str]:
    """Base64 pcm16 blocks of 100 ms: a tone with a syllable-rate envelope, so it is not silence."""
    t = np.arange(RATE * seconds) / RATE
    pcm = (8000 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype("<i2")
    step = RATE // 10
    return [base64.b64encode(pcm[i : i + step].tobytes()).decode() for i in range(0, pcm.size, step)]


async def _one_connection(url: str, blocks: list[str], seconds: int) -> float:
    """Seconds of answer audio received."""
    async with connect(url, max_size=None) as ws:
        no_vad = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
        await ws.send(json.dumps({"type": "session.update", "session": no_vad}))
        for block in blocks:
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": block}))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        ask = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": f"talk for {seconds} seconds"}],
        }
        await ws.send(json.dumps({"type": "conversation.item.create", "item": ask}))
        await ws.send(json.dumps({"type": "response.create"}))
        answered = 0
        while (event := json.loads(await ws.recv()))["type"] != "response.done":
            if event["type"] == "response.output_audio.delta":
                answered += len(event["delta"]) * 3 // 4 // 2
        return answered / RATE


async def _measure(keep: bool, connections: int, seconds: int) -> list[float]:
    child = subprocess.Popen(  # noqa: ASYNC220 - started before anything is measured
        [sys.executable, __file__, "--child", "keep" if keep else "drop"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        blocks = _speech_like(seconds)
        rss = [_rss_mb(child.pid)]
        for _ in range(connections):
            answered = await _one_connection(url, blocks, seconds)
            assert answered >= seconds * 0.8, f"the answer was {answered:.1f} s"
            await asyncio.sleep(0.3)  # let the server finish its side of the close
            rss.append(_rss_mb(child.pid))
        return rss
    finally:
        child.terminate()
        child.wait(timeout=10)


async def _retained_mb(keep: bool, connections: int, seconds: int) -> float:
    options = LocalServerOptions(audio_pace=math.inf, record_audio=False, keep_sessions=keep)
    blocks = _speech_like(seconds)
    async with LocalRealtimeServer(options) as server:
        await _one_connection(server.url, blocks, seconds)  # warm-up: caches, the loop's own structures
        await asyncio.sleep(0.3)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(connections):
            await _one_connection(server.url, blocks, seconds)
        await asyncio.sleep(0.3)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    return (after - before) / 2**20


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=30)
    parser.add_argument("--seconds", type=int, default=30, help="audio sent and answered per connection")
    parser.add_argument("--child", choices=("keep", "drop"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        await _child(args.child == "keep")
        return
    print(f"local server RSS (MB), {args.connections} connections one after another, {args.seconds} s in and out each")
    marks = sorted({n for n in (1, 2, 5, 10, args.connections // 2, args.connections) if 0 < n <= args.connections})
    print(f"  {'records':28s} start  " + "  ".join(f"after {n:>3d}" for n in marks))
    for keep in (True, False):
        rss = await _measure(keep, args.connections, args.seconds)
        name = "kept (keep_sessions=True)" if keep else "dropped (app, serve)"
        print(f"  {name:28s} {rss[0]:5.0f}  " + "  ".join(f"{rss[n]:9.0f}" for n in marks))
    print(f"Python heap still held after {args.connections} closed connections (MB)")
    for keep in (True, False):
        name = "kept (keep_sessions=True)" if keep else "dropped (app, serve)"
        print(f"  {name:28s} {await _retained_mb(keep, args.connections, args.seconds):7.2f}")


if __name__ == "__main__":
    asyncio.run(main())
