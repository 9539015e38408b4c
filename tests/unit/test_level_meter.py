"""LevelMeter and PlaybackClock levels: a reading is the latest window of sound, and silence as soon as the
sound stops or the playback is flushed (no release ramp). Time is injected, so every step is exact."""

from __future__ import annotations

import numpy as np
import pytest

from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.audio.clock import PlaybackClock
from voicedesk.audio.levels import LEVEL_WINDOW_S, LevelMeter

WINDOW = round(LEVEL_WINDOW_S * SAMPLE_RATE)
BLOCK = 480  # 20 ms, a microphone block / a read-back


class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def tone(samples: int, amplitude: float = 0.5) -> np.ndarray:
    n = np.arange(samples)
    return np.round(amplitude * 32767 * np.sin(2 * np.pi * 440 * n / SAMPLE_RATE)).astype(np.int16)


def feed_blocks(meter: LevelMeter, now: FakeTime, pcm: np.ndarray) -> None:
    """As a device delivers: one block every 20 ms."""
    for i in range(0, pcm.size, BLOCK):
        now.advance(BLOCK / SAMPLE_RATE)
        meter.feed(pcm[i : i + BLOCK])


def test_a_tone_reads_its_peak_and_then_zero_after_one_window_of_silence() -> None:
    now = FakeTime()
    meter = LevelMeter(now=now)
    feed_blocks(meter, now, tone(SAMPLE_RATE // 2))
    assert meter.levels().peak == pytest.approx(0.5, abs=0.01)
    assert meter.levels().rms == pytest.approx(0.5 / np.sqrt(2), abs=0.02)
    # Silence shorter than the window: the tone's tail is still in it.
    meter.feed(np.zeros(WINDOW - 1, dtype=np.int16))
    assert meter.levels().peak > 0.0
    # One whole window of silence: the very next reading is zero (an exponential release would read 0.45).
    meter.feed(np.zeros(1, dtype=np.int16))
    assert meter.levels().peak == 0.0 and meter.levels().rms == 0.0


def test_a_meter_fed_nothing_reads_silence_once_the_next_block_is_overdue() -> None:
    now = FakeTime()
    meter = LevelMeter(now=now)
    feed_blocks(meter, now, tone(BLOCK))
    now.advance(BLOCK / SAMPLE_RATE + LEVEL_WINDOW_S - 0.001)  # the next block is due, and a window more
    assert meter.levels().peak > 0.4
    now.advance(0.002)
    assert meter.levels().peak == 0.0  # the stream stopped: nothing is playing


def test_reset_reads_silence_at_once_and_the_next_sound_is_measured_fresh() -> None:
    now = FakeTime()
    meter = LevelMeter(now=now)
    feed_blocks(meter, now, tone(4 * BLOCK, 0.9))
    assert meter.levels().peak > 0.85
    meter.reset()
    assert meter.levels().peak == 0.0  # no time passed at all
    meter.feed(tone(BLOCK, 0.1))
    assert meter.levels().peak == pytest.approx(0.1, abs=0.01)  # the loud tone before the reset is gone


def test_float_blocks_are_measured_like_int16() -> None:
    now = FakeTime()
    meter = LevelMeter(rate=48_000, now=now)
    meter.feed(np.full(960, -0.25, dtype=np.float32))
    assert meter.levels().peak == pytest.approx(0.25) and meter.levels().rms == pytest.approx(0.25)


def test_playback_clock_level_drops_after_one_window_past_the_end_of_the_audio() -> None:
    now = FakeTime()
    clock = PlaybackClock(1.0, now=now)
    clock.start()
    clock.write(tone(SAMPLE_RATE // 5))  # 200 ms
    now.advance(0.1)
    assert clock.levels().peak == pytest.approx(0.5, abs=0.01)
    now.advance(0.1 + LEVEL_WINDOW_S - 0.001)  # played out; its last window still sounding
    assert clock.buffered_samples == 0 and clock.levels().peak > 0.0
    now.advance(0.002)
    assert clock.levels().peak == 0.0


def test_playback_clock_flush_reads_silence_at_once() -> None:
    now = FakeTime()
    clock = PlaybackClock(1.0, now=now)
    clock.start()
    clock.write(tone(SAMPLE_RATE))
    now.advance(0.5)
    assert clock.levels().peak > 0.45
    clock.flush()  # an interrupt: no time passes before the next frame reads
    assert clock.levels().peak == 0.0
    clock.write(tone(SAMPLE_RATE, 0.2))  # the next answer is measured as it plays
    now.advance(0.1)
    assert clock.levels().peak == pytest.approx(0.2, abs=0.01)
