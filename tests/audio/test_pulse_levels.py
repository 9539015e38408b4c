"""The output level of a real PortAudio stream: it follows what plays, and a flush silences it at once,
including the read-back of audio the flush cut (played before the callback applied it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from audio_testkit import VirtualPulse, to_pcm16, tone, wait_until

from voicedesk.audio.playback import DeviceSink

pytestmark = pytest.mark.pulse


async def _wait_for(cond: Callable[[], bool], limit_s: float = 5.0) -> None:
    if not await wait_until(cond, limit_s, poll_s=0.005):
        raise TimeoutError("condition not met")


async def test_a_flush_reads_silence_at_once_and_stays_silent(pulse: VirtualPulse) -> None:
    del pulse
    sink = DeviceSink()
    await sink.start()
    try:
        sink.write(to_pcm16(tone(440.0, 3.0, amplitude=0.5)))
        await _wait_for(lambda: sink.levels().peak > 0.45)
        sink.flush()
        assert sink.levels().peak == 0.0  # at once, whether or not the callback has applied the flush yet
        readings = []
        for _ in range(2500):  # up to ~5 s for the callback to apply the flush
            if not sink.flush_pending:
                break
            sink.pump()
            readings.append(sink.levels().peak)
            await asyncio.sleep(0.002)
        assert not sink.flush_pending
        played = sink.played_samples
        for _ in range(10):  # the read-back of the fade and of what was queued on the device before it
            sink.pump()
            readings.append(sink.levels().peak)
            await asyncio.sleep(0.01)
        assert sink.played_samples == played  # nothing plays any more
        assert readings and max(readings) == 0.0
        sink.write(to_pcm16(tone(440.0, 0.5, amplitude=0.2)))  # the next answer is measured as it plays
        await _wait_for(lambda: sink.levels().peak > 0.15)
    finally:
        await sink.stop()
