"""CPU cost of the receive path per second of assistant audio (target: within 1.2x of a bare loop).

The embedded local server runs in its own process (``voicedesk serve --pace inf``) and streams a 120 s
answer as fast as the socket takes it. In this process we measure CPU time (``time.process_time``) of:

- bare:      websockets recv + json.loads + base64 decode, nothing else;
- voicedesk: the SessionController path: transport, parse into typed events, decode, playback tracking,
             hand to the sink (a NullSink playing instantly), conversation update;
- *+deflate:        the same with permessage-deflate negotiated (a server that offers it), to show why
                    voicedesk does not ask for compression.

Run: .venv/bin/python benchmarks/bench_receive.py [--seconds 120] [--runs 9]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import socket
import statistics
import subprocess
import sys
import time
from functools import partial

from websockets.asyncio.client import connect

from voicedesk.audio.filesource import NullSource
from voicedesk.audio.null import NullSink
from voicedesk.realtime.endpoint import custom_endpoint
from voicedesk.realtime.session_config import SessionSettings, TurnDetection
from voicedesk.realtime.transport import open_websocket
from voicedesk.session import events as se
from voicedesk.session.controller import SessionController


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ask(seconds: int) -> list[str]:
    return [
        json.dumps(
            {"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}}}
        ),
        json.dumps(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": f"talk for {seconds} seconds"}],
                },
            }
        ),
        json.dumps({"type": "response.create"}),
    ]


async def bare(url: str, seconds: int, compression: str | None) -> tuple[float, float]:
    async with connect(url, compression=compression, max_size=None) as ws:
        for message in _ask(seconds):
            await ws.send(message)
        audio_bytes = 0
        cpu0 = time.process_time()
        async for frame in ws:
            event = json.loads(frame)
            kind = event.get("type")
            if kind == "response.output_audio.delta":
                audio_bytes += len(base64.b64decode(event["delta"]))
            elif kind == "response.done":
                break
        cpu = time.process_time() - cpu0
    return cpu, audio_bytes / 2 / 24000


async def voicedesk(url: str, seconds: int, compression: str | None) -> tuple[float, float]:
    settings = SessionSettings(turn_detection=TurnDetection(type="none"), transcription_model=None)
    sink = NullSink(speed=math.inf)
    controller = SessionController(
        custom_endpoint(url),
        settings,
        source=NullSource(),
        sink=sink,
        transport_factory=partial(open_websocket, compression=compression),
    )
    done = asyncio.Event()
    audio_samples = 0

    def on_event(event: se.SessionEvent) -> None:
        nonlocal audio_samples
        if isinstance(event, se.AudioChunk):
            audio_samples += len(event.pcm)
        elif isinstance(event, se.AgentEnd):
            done.set()

    controller.subscribe(on_event)
    await controller.connect()
    cpu0 = time.process_time()
    controller.send_text(f"talk for {seconds} seconds")
    await done.wait()
    cpu = time.process_time() - cpu0
    await controller.disconnect()
    return cpu, audio_samples / 24000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--runs", type=int, default=9)  # one run is ~0.15 s of CPU: noisy
    args = parser.parse_args()
    servers, urls = [], []
    for deflate in (False, True):
        port = _free_port()
        command = [sys.executable, "-m", "voicedesk.app.serve", "--port", str(port), "--pace", "inf"]
        server = subprocess.Popen(  # noqa: ASYNC220 - started before anything is measured
            [*command, "--deflate"] if deflate else command, stdout=subprocess.PIPE, text=True
        )
        assert server.stdout is not None
        server.stdout.readline()  # the server prints its URL once listening
        servers.append(server)
        urls.append(f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime")
    plain_url, deflate_url = urls
    try:
        results: dict[str, list[float]] = {}
        for _ in range(args.runs):
            for name, run, url, compression in (
                ("bare", bare, plain_url, None),
                ("voicedesk", voicedesk, plain_url, None),
                ("bare+deflate", bare, deflate_url, "deflate"),
                ("voicedesk+deflate", voicedesk, deflate_url, "deflate"),
            ):
                cpu, audio_s = await run(url, args.seconds, compression)
                results.setdefault(name, []).append(cpu / audio_s * 1000)
        print(f"receive path, {args.seconds} s answer streamed unpaced, median of {args.runs} runs")
        medians = {name: statistics.median(values) for name, values in results.items()}
        for name, value in medians.items():
            print(f"  {name:18s} {value:6.2f} ms CPU per audio-second")
        print(f"  ratio voicedesk/bare: {medians['voicedesk'] / medians['bare']:.2f} (target <= 1.2)")
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
