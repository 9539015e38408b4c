"""Test signals shared by the integration and Qt tests."""

from __future__ import annotations

import numpy as np

from voicedesk.audio.base import SAMPLE_RATE, Pcm16


def speech_like(seconds: float, *, seed: int = 1, level: float = 0.3) -> Pcm16:
    """Voiced harmonics with a syllable-rate envelope: enough for an energy VAD to call it speech."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 140 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t + rng.uniform(0, np.pi))
    signal = voice * envelope
    signal = signal / float(np.max(np.abs(signal))) * level
    return (signal * 32767).astype(np.int16)
