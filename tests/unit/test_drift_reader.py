"""The echo canceller's reference is read at 1 + drift timeline samples per microphone sample."""

from __future__ import annotations

import numpy as np
import pytest

from voicedesk.audio.drift_reader import DriftReader
from voicedesk.audio.echo_reference import FarEndTimeline

RATE = 24000


def _timeline_with_tone(freq: float, seconds: float = 2.0) -> FarEndTimeline:
    timeline = FarEndTimeline()
    t = np.arange(int(seconds * RATE))
    timeline.append(np.sin(2 * np.pi * freq * t / RATE).astype(np.float32), 0.0)
    return timeline


def _error_db(got: np.ndarray, want: np.ndarray) -> float:
    return float(10 * np.log10(np.mean((got - want) ** 2) / np.mean(want**2)))


POSITIONS_AND_STEPS = [(1000.0, 1.0), (1000.3, 1.0), (5000.7, 1.0 + 200e-6), (777.25, 1.0 - 2e-3)]


@pytest.mark.parametrize(("freq", "limit_db"), [(300.0, -65.0), (1000.0, -65.0), (4000.0, -55.0), (8000.0, -38.0)])
@pytest.mark.parametrize(("position", "step"), POSITIONS_AND_STEPS)
def test_reads_between_samples_as_the_band_limited_signal(
    freq: float, limit_db: float, position: float, step: float
) -> None:
    timeline = _timeline_with_tone(freq)
    reader = DriftReader(480)
    got = reader.read(timeline, position, step)
    want = np.sin(2 * np.pi * freq * (position + np.arange(480) * step) / RATE)
    assert _error_db(got, want) < limit_db


def test_consecutive_blocks_join_without_a_seam() -> None:
    timeline = _timeline_with_tone(500.0)
    reader = DriftReader(480)
    position, step = 100.6, 1.0 + 150e-6
    blocks = []
    for _ in range(20):
        blocks.append(reader.read(timeline, position, step))
        position += 480 * step
    want = np.sin(2 * np.pi * 500.0 * (100.6 + np.arange(20 * 480) * step) / RATE)
    assert _error_db(np.concatenate(blocks), want) < -65.0


def test_what_was_not_played_reads_as_silence() -> None:
    timeline = _timeline_with_tone(500.0, seconds=0.1)  # 2400 samples
    reader = DriftReader(480)
    beyond = reader.read(timeline, 2400.0 + reader.reach, 1.0)
    assert not beyond.any()
    before = reader.read(timeline, -1000.0, 1.0)
    assert not before.any()
