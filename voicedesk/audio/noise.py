"""Noise suppression for the microphone: steady noise (fans, hum, air conditioning) taken out, speech kept.

A short-time spectral gain on 20 ms frames with half-block hops (sqrt-Hann analysis and synthesis, as the
echo suppressor), so it adds 10 ms; with ``aec`` it is applied to the echo suppressor's own frames instead
(``shape``), adding nothing. Per bin, the noise is the minimum of the smoothed power over the last
1.5 s (Martin's minimum statistics, kept as six quarter-second minima), scaled up by the minimum's bias:
a syllable does not lift it, a fan switched on is learned within 1.5 s, a muted stretch is forgotten as
fast. The gain is a decision-directed Wiener gain (Ephraim & Malah), which keeps the "musical noise" of
plain spectral subtraction down, floored at ``floor_db`` so the room never goes dead.
Runs on the loop thread after echo control, never in a PortAudio callback.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.audio.stft import HalfHopStft

Float32 = npt.NDArray[np.float32]
Complex = npt.NDArray[np.complex64]


class NoiseSuppressor:
    """``process(block)`` takes consecutive float blocks of ``block`` samples and returns them cleaned,
    half a block late."""

    SUBWINDOWS = 6
    BIAS = 2.5  # the mean over the minimum of a smoothed noise power (measured on white and pink noise)

    def __init__(self, block: int = 480, *, floor_db: float = -18.0, window_s: float = 1.5) -> None:
        if block % 2:
            raise ValueError("block must be even")
        self.block = block
        self._half = block // 2
        self._floor = np.float32(10.0 ** (floor_db / 20.0))
        self._sub_hops = max(1, round(window_s * SAMPLE_RATE / self._half / self.SUBWINDOWS))
        self.reset()

    def reset(self) -> None:
        n, bins = self.block, self._half + 1
        self._stft = HalfHopStft(n)
        self._smooth: Float32 = np.zeros(bins, dtype=np.float32)
        self._minima: Float32 = np.full((self.SUBWINDOWS, bins), np.inf, dtype=np.float32)  # newest last
        self._noise: Float32 = np.full(bins, np.inf, dtype=np.float32)
        self._prior: Float32 = np.zeros(bins, dtype=np.float32)  # the last frame's clean-speech power / noise
        self._hops = 0

    @property
    def noise_floor_dbfs(self) -> float:
        """The learned noise level over the whole band."""
        # Parseval on a one-sided spectrum of a frame windowed by sqrt-Hann (mean square 1/2).
        mean_square = 4.0 * float(np.sum(self._noise)) / self.block**2
        return float(10.0 * np.log10(mean_square + 1e-20))

    def gains(self, power: Float32) -> Float32:
        """The gain for one frame's power spectrum (``half + 1`` bins), updating the noise estimate."""
        self._hops += 1
        self._smooth = power if self._hops == 1 else 0.7 * self._smooth + 0.3 * power
        minima = self._minima
        np.minimum(minima[-1], self._smooth, out=minima[-1])
        turn = self._hops % self._sub_hops == 0
        if turn or self._hops < self._sub_hops:  # at first, the only minimum there is
            self._noise = np.maximum(self.BIAS * minima.min(axis=0), 1e-12).astype(np.float32)
        if turn:
            minima[:-1] = minima[1:].copy()
            minima[-1] = np.inf
        noise = self._noise
        post: Float32 = power / noise
        prior: Float32 = 0.98 * self._prior + 0.02 * np.maximum(post - 1.0, 0.0)
        gain: Float32 = prior / (1.0 + prior)
        np.maximum(gain, self._floor, out=gain)
        self._prior = gain * gain * post
        return gain

    def shape(self, spec: Complex) -> None:
        """Apply the gains in place to the two half-block frames' spectra of one block (``2, half + 1``),
        for a caller that runs the same short-time transform (the echo suppressor)."""
        power = spec.real**2 + spec.imag**2
        spec[0] *= self.gains(power[0])
        spec[1] *= self.gains(power[1])

    def process(self, block: Float32) -> Float32:
        spec = self._stft.analyse(block)[0]
        self.shape(spec)
        return self._stft.synthesise(spec)
