"""A deterministic speech-like voice: what the local "model" sounds like.

Voiced harmonics on a slowly wandering pitch, a syllable-rate amplitude envelope inside each word and short
pauses between words, around -16 dBFS RMS: enough for meters, VAD, echo gates and a person listening to
recognise "speech". Each word owns a time slot (0.3 s on average, longer words longer), so the transcript
can be streamed in step with the audio and a truncation point maps back to the words that were heard.

Rendering is closed-form in absolute sample time, so any chunking gives identical samples, and it is
vectorised: two minutes of audio cost a fraction of a second of CPU.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.local.codec import Pcm

WORD_SLOT_S = 0.3
_VOICED_FRACTION = 0.8  # the rest of each slot is the pause before the next word
_RAMP = SAMPLE_RATE * 8 // 1000  # 8 ms word attack/decay, no clicks
_GAIN = 0.255 * 32767
_BASE_HARMONICS = np.array([1.0, 0.55, 0.35, 0.22, 0.12])

_VOICE_PITCH_HZ = {
    "alloy": 150.0, "ash": 110.0, "ballad": 120.0, "coral": 210.0, "echo": 105.0,
    "sage": 190.0, "shimmer": 220.0, "verse": 125.0, "marin": 200.0, "cedar": 115.0,
}  # fmt: skip
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


def pitch_for(voice: str) -> float:
    return _VOICE_PITCH_HZ.get(voice, 160.0)


def _syllables(word: str) -> int:
    return max(1, min(4, len(_VOWEL_GROUPS.findall(word.lower()))))


def _timbre(word: str) -> npt.NDArray[np.float64]:
    """Per-word harmonic weights from a hash of the word: the same word always sounds the same."""
    h = zlib.crc32(word.lower().encode())
    wobble = np.array([((h >> (4 * k)) & 0xF) / 15.0 for k in range(_BASE_HARMONICS.size)])
    return _BASE_HARMONICS * (0.7 + 0.6 * wobble)


@dataclass(frozen=True, slots=True)
class SpeechPlan:
    """Where every word of an answer sits in its audio; render any sample range of it."""

    words: tuple[str, ...]
    starts: npt.NDArray[np.int64]  # slot start of each word, in samples
    voiced: npt.NDArray[np.int64]  # voiced length of each word, in samples
    syllables: npt.NDArray[np.float64]
    timbre: npt.NDArray[np.float64]  # (words, harmonics)
    total_samples: int
    period: int  # pitch period in samples (the voice's base pitch)

    def words_started(self, sample: int) -> int:
        """How many words have begun before ``sample`` (what a listener stopped there heard)."""
        return int(np.searchsorted(self.starts, sample, side="left")) if self.words else 0

    def render(self, start: int, stop: int) -> Pcm:
        stop = min(stop, self.total_samples)
        if stop <= start or not self.words:
            return np.zeros(max(0, stop - start), dtype=np.int16)
        m = stop - start
        env = np.zeros(m, dtype=np.float32)
        weights = np.empty((self.timbre.shape[1], m), dtype=np.float32)
        first = int(np.searchsorted(self.starts, start, side="right")) - 1
        last = int(np.searchsorted(self.starts, stop - 1, side="right")) - 1
        for w in range(first, last + 1):
            w_start = int(self.starts[w])
            w_stop = int(self.starts[w + 1]) if w + 1 < len(self.words) else self.total_samples
            a, b = max(start, w_start), min(stop, w_stop)
            weights[:, a - start : b - start] = self.timbre[w][:, None]
            vlen = int(self.voiced[w])
            v_stop = min(b, w_start + vlen)
            if v_stop <= a:
                continue  # this slice is the pause after the word
            local = np.arange(a - w_start, v_stop - w_start, dtype=np.float32)
            frac = local * np.float32(self.syllables[w] / vlen)
            frac -= np.floor(frac)
            seg = np.sqrt(np.sin(np.float32(np.pi) * frac))
            seg *= np.clip(np.minimum(local, vlen - local) * np.float32(1.0 / _RAMP), 0.0, 1.0)
            env[a - start : v_stop - start] = seg

        # Pitch f0 * (1 + 0.08 sin(2π 0.9 t) + 0.04 sin(2π 2.3 t)), integrated in closed form. The
        # carrier's period is a whole number of samples, so its phase is exact integer arithmetic at any
        # position; the slow contour terms are small enough for float32.
        n = np.arange(start, stop, dtype=np.int64)
        phase = (n % self.period).astype(np.float32) * np.float32(2 * math.pi / self.period)
        t = (n * (1.0 / SAMPLE_RATE)).astype(np.float32)
        f0 = SAMPLE_RATE / self.period
        w1, w2 = 2 * math.pi * 0.9, 2 * math.pi * 2.3
        phase -= np.float32(2 * math.pi * f0 * 0.08 / w1) * np.cos(np.float32(w1) * t)
        phase -= np.float32(2 * math.pi * f0 * 0.04 / w2) * np.cos(np.float32(w2) * t)
        s1 = np.sin(phase)
        c2 = np.float32(2.0) * np.cos(phase)
        out = weights[0] * s1
        prev, cur = np.zeros_like(s1), s1
        for k in range(1, weights.shape[0]):
            prev, cur = cur, c2 * cur - prev  # sin((k+1)x) from sin(kx), sin((k-1)x)
            out += weights[k] * cur
        out *= env
        out *= np.float32(_GAIN)
        pcm: Pcm = np.clip(out, -32768, 32767).astype(np.int16)
        return pcm


def plan_speech(text: str, *, voice: str = "alloy", speed: float = 1.0, duration_s: float | None = None) -> SpeechPlan:
    """Lay out ``text``: ~0.3 s per word at speed 1.0, or exactly ``duration_s`` when given."""
    words = tuple(text.split())
    period = round(SAMPLE_RATE / pitch_for(voice))
    if not words:
        empty_i = np.zeros(0, dtype=np.int64)
        return SpeechPlan((), empty_i, empty_i, np.zeros(0), np.zeros((0, 5)), 0, period)
    weights = np.array([min(10, max(2, len(w))) + 4 for w in words], dtype=np.float64)
    total_s = duration_s if duration_s is not None else WORD_SLOT_S * len(words) / max(speed, 0.25)
    edges = np.concatenate(([0.0], np.cumsum(weights))) / weights.sum() * total_s * SAMPLE_RATE
    bounds = np.round(edges).astype(np.int64)
    starts = bounds[:-1]
    slots = np.diff(bounds)
    voiced = np.maximum(1, (slots * _VOICED_FRACTION).astype(np.int64))
    syllables = np.array([_syllables(w) for w in words], dtype=np.float64)
    timbre = np.stack([_timbre(w) for w in words])
    return SpeechPlan(words, starts, voiced, syllables, timbre, int(bounds[-1]), period)
