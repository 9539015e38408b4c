"""FileSource: clips then silence in exact 480-sample blocks, at a pace that does not drift; NullSource."""

from __future__ import annotations

import asyncio
import logging
import math
import time

import numpy as np
import pytest

from voicedesk.audio.base import AudioSource, Pcm16
from voicedesk.audio.filesource import FileSource, NullSource


def ramp(samples: int, start: int = 1) -> Pcm16:
    return (np.arange(samples) % 30_000 + start).astype(np.int16)


class Blocks:
    def __init__(self) -> None:
        self.blocks: list[Pcm16] = []

    def __call__(self, block: Pcm16) -> None:
        self.blocks.append(block)

    def joined(self) -> Pcm16:
        return np.concatenate(self.blocks) if self.blocks else np.zeros(0, dtype=np.int16)


async def test_protocols() -> None:
    assert isinstance(FileSource(), AudioSource)
    assert isinstance(NullSource(), AudioSource)


async def test_clip_then_silence_in_exact_blocks() -> None:
    source = FileSource(speed=math.inf)
    got = Blocks()
    await source.start(got)
    clip = ramp(1_000)
    await source.play(clip)
    # play() returned: the block holding the clip's last sample has been delivered
    delivered = got.joined()
    assert delivered.size >= 1_000
    await asyncio.sleep(0.01)
    await source.stop()
    stream = got.joined()
    assert all(block.size == 480 and block.dtype == np.int16 for block in got.blocks)
    assert np.array_equal(stream[:1_000], clip)
    assert stream.size > 1_440 and not np.any(stream[1_000:])  # then silence, as a live microphone


async def test_silence_flows_before_any_clip() -> None:
    source = FileSource(speed=math.inf)
    got = Blocks()
    await source.start(got)
    await asyncio.sleep(0.01)
    await source.stop()
    assert len(got.blocks) > 0
    assert not np.any(got.joined())


async def test_clips_queued_together_are_contiguous() -> None:
    source = FileSource(speed=math.inf)
    got = Blocks()
    first, second = ramp(700, 1), ramp(300, 5_000)
    done: list[str] = []

    async def play(name: str, clip: Pcm16) -> None:
        await source.play(clip)
        done.append(name)

    tasks = [asyncio.create_task(play("first", first)), asyncio.create_task(play("second", second))]
    await asyncio.sleep(0)  # both queued before the source starts
    assert source.pending_ms() == pytest.approx(1_000 / 24)
    await source.start(got)
    await asyncio.gather(*tasks)
    await source.stop()
    assert done == ["first", "second"]
    assert np.array_equal(got.joined()[:1_000], np.concatenate([first, second]))
    assert source.pending_ms() == 0


async def test_real_time_pace() -> None:
    source = FileSource()
    got = Blocks()
    await source.start(got)
    started = time.monotonic()
    await source.play(ramp(4_800))  # 200 ms
    elapsed = time.monotonic() - started
    await source.stop()
    assert elapsed >= 0.15  # not faster than real time (generous margin for timer slack)
    assert elapsed < 2.0
    assert np.array_equal(got.joined()[:4_800], ramp(4_800))


async def test_pace_does_not_drift() -> None:
    # 10x: a 2 ms period, where sleeping one period per block would lose much of the time to timer slack.
    source = FileSource(speed=10.0)
    got = Blocks()
    await source.start(got)
    await asyncio.sleep(0.5)
    count = len(got.blocks)
    await source.stop()
    expected = 0.5 / 0.002
    assert 0.8 * expected <= count <= 1.05 * expected


async def test_infinite_speed_idles_in_real_time_after_a_burst() -> None:
    source = FileSource(speed=math.inf, idle_burst_s=0.2)
    got = Blocks()
    await source.start(got)
    await asyncio.sleep(0.3)
    await source.stop()
    burst = 10
    # the burst, then roughly real time: far from the flood an unpaced loop would produce
    assert burst <= len(got.blocks) <= burst + 0.3 / 0.02 + 5


async def test_stop_cancels_cleanly_and_releases_play() -> None:
    source = FileSource()
    got = Blocks()
    await source.start(got)
    playing = asyncio.create_task(source.play(ramp(240_000)))  # 10 s
    await asyncio.sleep(0.05)
    await source.stop()
    await asyncio.wait_for(playing, 1.0)  # returns instead of hanging
    count = len(got.blocks)
    await asyncio.sleep(0.05)
    assert len(got.blocks) == count  # nothing after stop
    assert source.pending_ms() == 0
    # and it can start again
    await source.start(got)
    await source.play(ramp(480))
    await source.stop()


async def test_start_twice_is_an_error() -> None:
    source = FileSource(speed=math.inf)
    await source.start(Blocks())
    with pytest.raises(RuntimeError, match="already started"):
        await source.start(Blocks())
    await source.stop()


async def test_a_failing_consumer_stops_the_source_without_hanging_play(caplog: pytest.LogCaptureFixture) -> None:
    source = FileSource(speed=math.inf)
    calls = 0

    def broken(block: Pcm16) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise ValueError("consumer bug")

    with caplog.at_level(logging.ERROR):
        await source.start(broken)
        await asyncio.wait_for(source.play(ramp(48_000)), 1.0)
        await source.stop()
    assert calls == 3
    assert "file source stopped" in caplog.text


async def test_block_size_and_levels() -> None:
    assert FileSource().block_samples == 480
    assert FileSource(block_ms=10).block_samples == 240
    with pytest.raises(ValueError):
        FileSource(block_ms=0)
    source = FileSource(speed=math.inf)
    got = Blocks()
    await source.start(got)
    await source.play(np.full(480, 16_384, dtype=np.int16))
    assert source.levels().peak == pytest.approx(0.5)
    await source.stop()
    assert source.levels().peak == 0.0


async def test_null_source_delivers_nothing() -> None:
    source = NullSource()
    got = Blocks()
    await source.start(got)
    await asyncio.sleep(0.05)
    await source.stop()
    assert got.blocks == []
    assert source.levels().peak == 0.0
