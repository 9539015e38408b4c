"""Playback through real PortAudio streams on the virtual speaker, checked on ``spk.monitor``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pytest
from audio_testkit import VirtualPulse, active_span, dominant_frequency, envelope, to_pcm16, tone, wait_until

from voicedesk.audio.base import AudioSink
from voicedesk.audio.playback import DeviceSink

pytestmark = pytest.mark.pulse
REC_RATE = 48000


async def _wait_for(cond: Callable[[], bool], limit_s: float = 5.0) -> None:
    if not await wait_until(cond, limit_s, poll_s=0.01):
        raise TimeoutError("condition not met")


async def test_tone_plays_intact(pulse: VirtualPulse) -> None:
    sink = DeviceSink()
    assert isinstance(sink, AudioSink)
    await sink.start()
    rec = pulse.record("spk.monitor", REC_RATE)
    rec.wait_started()
    try:
        await asyncio.sleep(0.2)
        pcm = to_pcm16(tone(1000.0, 1.5, amplitude=0.5))
        # Written in 100 ms pieces the way a server streams deltas.
        for i in range(0, pcm.size, 2400):
            sink.write(pcm[i : i + 2400])
            await asyncio.sleep(0.05)
        await _wait_for(lambda: sink.buffered_samples == 0 and sink.played_samples >= pcm.size)
        await asyncio.sleep(0.2)
    finally:
        x = rec.stop()
        await sink.stop()
    assert sink.played_samples == pcm.size
    assert sink.underruns == 0
    lo, hi = active_span(x, REC_RATE)
    assert (hi - lo) / REC_RATE == pytest.approx(1.5, abs=0.02)
    body = x[lo + 2400 : hi - 2400]
    assert dominant_frequency(body, REC_RATE) == pytest.approx(1000.0, abs=1.0)
    assert np.sqrt(np.mean(body**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.05)
    env = envelope(body, REC_RATE)
    assert env.min() > 0.9 * np.median(env), "a dropout in the middle of the tone"


async def test_flush_silences_within_a_block_and_counts_what_was_played(pulse: VirtualPulse) -> None:
    sink = DeviceSink()
    await sink.start()
    rec = pulse.record("spk.monitor", REC_RATE)
    rec.wait_started()
    try:
        await asyncio.sleep(0.2)
        sink.write(to_pcm16(tone(440.0, 3.0, amplitude=0.5)))
        await asyncio.sleep(1.0)
        played_at_flush = sink.played_samples
        sink.flush()
        assert sink.buffered_samples <= 24000 * 0.01
        await _wait_for(lambda: not sink.flush_pending)
        await asyncio.sleep(0.3)
        played = sink.played_samples
    finally:
        x = rec.stop()
        await sink.stop()
    lo, hi = active_span(x, REC_RATE, threshold=0.003)
    heard_s = (hi - lo) / REC_RATE
    # What the speaker output agrees with played_samples within 30 ms.
    assert heard_s == pytest.approx(played / 24000, abs=0.03)
    # After flush(), only what was already handed to the device, one callback and the fade remain.
    after_flush_s = played / 24000 - played_at_flush / 24000
    assert after_flush_s <= 0.02 + 0.01
    assert heard_s - played_at_flush / 24000 <= 0.02 + 0.01 + sink.output_latency_s + 0.01
    # The fade: no click, the last 10 ms fall smoothly (no full-scale step to zero).
    tail = envelope(x[hi - 960 : hi], REC_RATE, 0.001)
    assert tail[-1] < 0.5 * tail[0]


async def test_short_sound_plays_below_prebuffer_and_counters_stay_monotonic(pulse: VirtualPulse) -> None:
    sink = DeviceSink()
    await sink.start()
    try:
        sink.write(to_pcm16(tone(600.0, 0.02)))  # 20 ms, less than the 40 ms prebuffer
        await _wait_for(lambda: sink.played_samples == 480, limit_s=2.0)
        seen = []
        sink.write(to_pcm16(tone(600.0, 0.5)))
        for _ in range(30):
            seen.append(sink.played_samples + 0)
            await asyncio.sleep(0.02)
        assert seen == sorted(seen)
        assert sink.played_samples + sink.buffered_samples == 480 + 12000
    finally:
        await sink.stop()


@pytest.mark.parametrize(("rate", "channels"), [(16000, 1), (44100, 2), (48000, 2)])
async def test_device_formats(pulse: VirtualPulse, rate: int, channels: int) -> None:
    sink = DeviceSink(samplerate=rate, channels=channels)
    await sink.start()
    rec = pulse.record("spk.monitor", REC_RATE)
    rec.wait_started()
    try:
        await asyncio.sleep(0.1)
        assert (sink.rate, sink.channels) == (rate, channels)
        sink.write(to_pcm16(tone(1000.0, 0.5)))
        await _wait_for(lambda: sink.buffered_samples == 0)
        await asyncio.sleep(0.2)
    finally:
        x = rec.stop()
        await sink.stop()
    assert sink.played_samples == 12000
    lo, hi = active_span(x, REC_RATE)
    assert dominant_frequency(x[lo + 2400 : hi - 2400], REC_RATE) == pytest.approx(1000.0, abs=2.0)
