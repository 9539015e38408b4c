"""SilenceWatch: digital silence from a microphone is reported once, and so is the first sound after it."""

from __future__ import annotations

import numpy as np

from voicedesk.audio.silence import SilenceWatch

BLOCK = 480  # 20 ms at 24 kHz


def _blocks(watch: SilenceWatch, block: np.ndarray, count: int) -> list[str]:
    return [c for _ in range(count) if (c := watch.feed(block)) is not None]


def test_zeros_for_the_whole_delay_are_reported_once() -> None:
    watch = SilenceWatch(after_s=1.0)
    zeros = np.zeros(BLOCK, dtype=np.int16)
    assert _blocks(watch, zeros, 49) == []  # 0.98 s
    assert _blocks(watch, zeros, 1) == ["went silent"]
    assert _blocks(watch, zeros, 500) == [] and watch.silent


def test_the_lowest_bits_moving_still_count_as_silence_but_a_noise_floor_does_not() -> None:
    rng = np.random.default_rng(1)
    dither = rng.integers(-2, 3, BLOCK).astype(np.int16)
    watch = SilenceWatch(after_s=0.5)
    assert _blocks(watch, dither, 25) == ["went silent"]
    quiet_room = (rng.standard_normal(BLOCK) * 6).astype(np.int16)  # about -75 dBFS
    watch = SilenceWatch(after_s=0.5)
    assert _blocks(watch, quiet_room, 100) == []


def test_the_first_sound_after_silence_is_reported_and_counting_starts_over() -> None:
    watch = SilenceWatch(after_s=0.2, after_sound_s=0.4)
    zeros = np.zeros(BLOCK, dtype=np.int16)
    click = zeros.copy()
    click[100] = -32768  # the most negative sample: abs() of it would overflow int16
    assert _blocks(watch, zeros, 10) == ["went silent"]
    assert watch.feed(click) == "hears again" and not watch.silent
    # once the stream has heard sound, a silence may be a pause behind a noise gate: only a long one counts
    assert _blocks(watch, zeros, 19) == []
    assert _blocks(watch, zeros, 1) == ["went silent"]


def test_a_new_stream_counts_its_own_silence_but_keeps_an_open_report() -> None:
    watch = SilenceWatch(after_s=0.2, after_sound_s=10.0)
    zeros = np.zeros(BLOCK, dtype=np.int16)
    _blocks(watch, zeros, 8)
    watch.restart()  # e.g. switched to another device
    assert _blocks(watch, zeros, 9) == []  # 8 + 9 blocks would have been enough without the restart
    assert _blocks(watch, zeros, 1) == ["went silent"]
    watch.restart()
    assert watch.feed(np.full(BLOCK, 500, dtype=np.int16)) == "hears again"
    assert watch.feed(np.zeros(0, dtype=np.int16)) is None
    watch.restart()  # a new stream has heard nothing yet: the short delay applies again
    assert _blocks(watch, zeros, 10) == ["went silent"]
