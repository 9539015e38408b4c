"""Output guardrails: how soon the heard audio stops once a blocked pattern appears in the transcript, and what
the checks cost the event loop.

The embedded local server runs in its own process (``voicedesk.app.serve --pace 1``: audio in real time, the
transcript in step with it) and is asked for a card number; the client plays on a real-time NullSink. For each
way of checking, per run:

- stop after appearing: from the transcript delta that completes the pattern (as the session hands it on) to
  the playback flush (``audio_interrupted``), in wall-clock ms, and the audio played meanwhile (sample count);
- largest loop gap: a 1 ms ticker on the session's loop while the answer streams (same run, same machine).

Then the cost of one pattern check on the loop (``re.search`` over the window a check looks at), in µs.

Run: .venv/bin/python benchmarks/bench_guardrails.py [--runs 9]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import statistics
import subprocess
import sys
import time
import timeit

from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.audio.filesource import NullSource
from voicedesk.audio.null import NullSink
from voicedesk.local.responder import CARD_ANSWER
from voicedesk.realtime.endpoint import custom_endpoint
from voicedesk.realtime.session_config import SessionSettings, TurnDetection
from voicedesk.session import events as se
from voicedesk.session.controller import SessionController
from voicedesk.session.guardrails import MAX_WINDOW_CHARS, OVERLAP_CHARS, OutputGuardrails
from voicedesk.session.handoffs import Assistant

CARD = r"\b(?:\d[ -]?){13,16}\b"
CARD_PATTERN = re.compile(CARD)


def card_hook(text: str) -> tuple[bool, str]:
    """The same rule as a Python hook (run on its own thread)."""
    return CARD_PATTERN.search(text) is not None, "a card number"


WAYS = {
    "blocked_patterns (searched as each delta arrives)": OutputGuardrails(blocked_patterns=(CARD,)),
    "hook on its thread, debounce_chars 1": OutputGuardrails(hook=card_hook, hook_name="card_hook", debounce_chars=1),
    "hook on its thread, debounce_chars 100 (default)": OutputGuardrails(hook=card_hook, hook_name="card_hook"),
    "no guardrails": OutputGuardrails(),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def one_run(url: str, guardrails: OutputGuardrails) -> tuple[float | None, float | None, float]:
    """(ms from appearing to the flush, audio ms played meanwhile, largest loop gap ms)."""
    sink = NullSink(speed=1.0)
    settings = SessionSettings(turn_detection=TurnDetection(type="none"), transcription_model=None)
    assistant = Assistant("Billing", settings, guardrails=guardrails)
    controller = SessionController(
        custom_endpoint(url), settings, source=NullSource(), sink=sink, assistants=[assistant]
    )
    appeared: list[tuple[float, int]] = []
    stopped: list[tuple[float, int]] = []
    done = asyncio.Event()

    def on_event(event: se.SessionEvent) -> None:
        if isinstance(event, se.TranscriptDelta) and not appeared and CARD_PATTERN.search(event.text):
            appeared.append((time.perf_counter(), sink.played_samples))
        elif isinstance(event, se.AudioInterrupted) and not stopped:
            stopped.append((time.perf_counter(), sink.played_samples))
        elif isinstance(event, se.AgentEnd):
            done.set()

    controller.subscribe(on_event)
    await controller.connect()
    gaps: list[float] = []
    ticking = True

    async def ticker() -> None:
        last = time.perf_counter()
        while ticking:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick_task = asyncio.create_task(ticker())
    controller.send_text("What card number do you have on file?")
    await asyncio.wait_for(done.wait(), 60)
    if guardrails.active:
        await asyncio.wait_for(controller.wait_idle(), 60)  # the recovery answer too
    ticking = False
    await tick_task
    await controller.disconnect()
    if not appeared or not stopped:
        return None, None, max(gaps) * 1000
    (t0, played0), (t1, played1) = appeared[0], stopped[0]
    return (t1 - t0) * 1000, (played1 - played0) / SAMPLE_RATE * 1000, max(gaps) * 1000


def check_cost_us(chars: int) -> float:
    """One pattern check on the loop: the card pattern over a window of ``chars`` characters of an answer."""
    text = (CARD_ANSWER.replace("4111 1111 1111 1111", "four one one one") + " ") * (chars // 80 + 1)
    window = text[:chars]
    runs = 2000
    return min(timeit.repeat(lambda: CARD_PATTERN.search(window), number=runs, repeat=5)) / runs * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    port = _free_port()
    server = subprocess.Popen(  # noqa: ASYNC220 - started before anything is measured
        [sys.executable, "-m", "voicedesk.app.serve", "--port", str(port), "--pace", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdout is not None
    server.stdout.readline()  # the server prints its URL once listening
    url = f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"
    try:
        print(f"a card number in a spoken answer, real-time playback, median / max of {args.runs} runs")
        print(f"  {'checks':<50} {'stop after appearing':>22} {'played meanwhile':>18} {'loop gap':>14}")
        for name, guardrails in WAYS.items():
            results = [await one_run(url, guardrails) for _ in range(args.runs)]
            latency = [r[0] for r in results if r[0] is not None]
            played = [r[1] for r in results if r[1] is not None]
            gaps = [r[2] for r in results]
            stop = f"{statistics.median(latency):.2f} / {max(latency):.2f} ms" if latency else "never stops"
            heard = f"{statistics.median(played):.0f} / {max(played):.0f} ms" if played else "-"
            gap = f"{statistics.median(gaps):.1f} / {max(gaps):.1f} ms"
            print(f"  {name:<50} {stop:>22} {heard:>18} {gap:>14}")
        default_window = 100 + OVERLAP_CHARS
        print("one pattern check on the loop (the card pattern, re.search):")
        for chars in (default_window, MAX_WINDOW_CHARS):
            print(f"  over {chars:>4} characters: {check_cost_us(chars):6.1f} µs")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
