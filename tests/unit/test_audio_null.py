"""NullSink and WavFileSink: the simulated playback clock, flush with its fade, and the recorded file."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

import numpy as np
import pytest

from voicedesk.audio.base import AudioSink
from voicedesk.audio.clock import FADE_SAMPLES
from voicedesk.audio.null import NullSink, WavFileSink
from voicedesk.audio.wavfile import AudioFileError, read_wav


class FakeTime:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def const(samples: int, value: int = 10_000) -> np.ndarray:
    return np.full(samples, value, dtype=np.int16)


async def test_is_an_audio_sink(tmp_path: Path) -> None:
    assert isinstance(NullSink(), AudioSink)
    assert isinstance(WavFileSink(tmp_path / "x.wav"), AudioSink)


async def test_plays_at_real_time_pace_while_audio_is_queued() -> None:
    clock = FakeTime()
    sink = NullSink(now=clock)
    await sink.start()
    sink.write(const(24_000))
    assert (sink.played_samples, sink.buffered_samples) == (0, 24_000)
    clock.advance(0.25)
    assert (sink.played_samples, sink.buffered_samples) == (6_000, 18_000)
    clock.advance(0.5)
    assert (sink.played_samples, sink.buffered_samples) == (18_000, 6_000)
    clock.advance(10)  # only what was queued can be played
    assert (sink.played_samples, sink.buffered_samples) == (24_000, 0)


async def test_underrun_time_is_not_played() -> None:
    clock = FakeTime()
    sink = NullSink(now=clock)
    await sink.start()
    sink.write(const(2_400))
    clock.advance(1.0)  # 0.1 s of audio, then 0.9 s of underrun
    assert sink.played_samples == 2_400
    sink.write(const(24_000))
    clock.advance(0.1)
    assert (sink.played_samples, sink.buffered_samples) == (4_800, 21_600)


async def test_time_does_not_count_before_start_or_after_stop() -> None:
    clock = FakeTime()
    sink = NullSink(now=clock)
    sink.write(const(24_000))
    clock.advance(1.0)
    assert (sink.played_samples, sink.buffered_samples) == (0, 24_000)
    await sink.start()
    clock.advance(0.5)
    assert sink.played_samples == 12_000
    await sink.stop()
    assert (sink.played_samples, sink.buffered_samples) == (12_000, 0)
    clock.advance(1.0)
    assert sink.played_samples == 12_000


async def test_speed_scales_the_clock() -> None:
    clock = FakeTime()
    sink = NullSink(speed=4.0, now=clock)
    await sink.start()
    sink.write(const(48_000))
    clock.advance(0.25)
    assert sink.played_samples == 24_000


async def test_fractional_samples_are_carried_not_lost() -> None:
    clock = FakeTime()
    sink = NullSink(now=clock)
    await sink.start()
    sink.write(const(24_000))
    for _ in range(1000):  # 1000 x 1/7 ms: each step pays 3.43 samples
        clock.advance(1 / 7000)
        _ = sink.played_samples
    assert sink.played_samples in (3_428, 3_429)


async def test_infinite_speed_plays_everything_at_once() -> None:
    sink = NullSink(speed=math.inf)
    await sink.start()
    sink.write(const(100_000))
    assert (sink.played_samples, sink.buffered_samples) == (100_000, 0)
    await asyncio.wait_for(sink.drained(), 1.0)


async def test_flush_plays_a_short_fade_and_drops_the_rest() -> None:
    clock = FakeTime()
    sink = NullSink(now=clock)
    await sink.start()
    sink.write(const(24_000))
    clock.advance(0.1)
    assert sink.played_samples == 2_400
    sink.flush()
    assert (sink.played_samples, sink.buffered_samples) == (2_400 + FADE_SAMPLES, 0)
    clock.advance(1.0)
    assert (sink.played_samples, sink.buffered_samples) == (2_400 + FADE_SAMPLES, 0)
    # a short queue fades over what there is
    sink.write(const(50))
    sink.flush()
    assert sink.played_samples == 2_400 + FADE_SAMPLES + 50
    # and playback resumes normally afterwards
    sink.write(const(2_400))
    clock.advance(0.05)
    assert sink.played_samples == 2_400 + FADE_SAMPLES + 50 + 1_200


async def test_output_latency_is_configurable() -> None:
    assert NullSink().output_latency_s == 0.0
    assert NullSink(output_latency_s=0.12).output_latency_s == 0.12
    sink = NullSink()
    sink.output_latency_s = 0.3
    assert sink.output_latency_s == 0.3
    with pytest.raises(ValueError):
        sink.output_latency_s = -0.1
    with pytest.raises(ValueError):
        NullSink(output_latency_s=-1)
    with pytest.raises(ValueError):
        NullSink(speed=0)
    with pytest.raises(ValueError):
        NullSink(speed=math.nan)


async def test_levels_follow_what_is_playing() -> None:
    clock = FakeTime()
    sink = NullSink(now=clock)
    assert sink.levels().peak == 0.0
    await sink.start()
    sink.write(const(24_000, 16_384))
    clock.advance(0.1)
    levels = sink.levels()
    assert levels.peak == pytest.approx(0.5)
    assert levels.rms == pytest.approx(0.5)
    clock.advance(2.0)  # the queue ran dry 1.1 s ago
    assert sink.levels().peak == 0.0


async def test_real_clock_moves_between_bounds() -> None:
    sink = NullSink()
    await sink.start()
    sink.write(const(24_000))
    await asyncio.sleep(0.1)
    played = sink.played_samples
    assert 0 < played < 24_000  # generous: time passed, but not a whole second of it
    # read a moment later, buffered may have shrunk a little further
    assert 24_000 - 2_400 <= played + sink.buffered_samples <= 24_000
    await asyncio.sleep(0.05)
    assert sink.played_samples > played


async def test_drained_waits_for_the_queue_to_play() -> None:
    sink = NullSink()
    await sink.start()
    sink.write(const(2_400))  # 100 ms
    started = time.monotonic()
    await asyncio.wait_for(sink.drained(), 5.0)
    assert time.monotonic() - started >= 0.08
    assert (sink.played_samples, sink.buffered_samples) == (2_400, 0)


async def test_drained_returns_early_on_flush_and_refuses_a_stopped_queue() -> None:
    sink = NullSink()
    await sink.start()
    sink.write(const(240_000))  # 10 s
    waiting = asyncio.create_task(sink.drained())
    await asyncio.sleep(0.02)
    assert not waiting.done()
    sink.flush()
    await asyncio.wait_for(waiting, 1.0)
    idle = NullSink()
    idle.write(const(10))
    with pytest.raises(RuntimeError, match="not started"):
        await idle.drained()


async def test_wav_sink_records_what_was_played_with_the_fade(tmp_path: Path) -> None:
    clock = FakeTime()
    path = tmp_path / "out" / "heard.wav"
    sink = WavFileSink(path, now=clock)
    await sink.start()
    sink.write(const(24_000))
    clock.advance(0.25)
    assert sink.played_samples == 6_000
    assert read_wav(path).size == 6_000  # readable while the sink is running
    sink.flush()
    clock.advance(1.0)
    await sink.stop()
    recorded = read_wav(path)
    assert recorded.size == 6_000 + FADE_SAMPLES == sink.played_samples
    assert np.all(recorded[:6_000] == 10_000)
    fade = recorded[6_000:].astype(np.int32)
    assert fade[0] > 9_000 and fade[-1] == 0
    assert np.all(np.diff(fade) <= 0)  # a fade, no jump back up


async def test_wav_sink_timeline_has_no_gaps_and_resumes_across_starts(tmp_path: Path) -> None:
    path = tmp_path / "heard.wav"
    sink = WavFileSink(path, speed=math.inf)
    await sink.start()
    sink.write(const(100, 1))
    sink.write(const(50, 2))
    await sink.stop()
    await sink.start()  # a reconnect: the file goes on
    sink.write(const(25, 3))
    await sink.stop()
    assert read_wav(path).tolist() == [1] * 100 + [2] * 50 + [3] * 25


async def test_wav_sink_stop_drops_what_was_never_played(tmp_path: Path) -> None:
    clock = FakeTime()
    path = tmp_path / "heard.wav"
    sink = WavFileSink(path, now=clock)
    await sink.start()
    sink.write(const(24_000))
    clock.advance(0.1)
    await sink.stop()
    assert read_wav(path).size == 2_400


async def test_wav_sink_unwritable_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    sink = WavFileSink(blocker / "heard.wav")
    with pytest.raises(AudioFileError, match="cannot write"):
        await sink.start()
