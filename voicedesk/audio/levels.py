"""Peak/RMS envelope and a short waveform history, fed on the loop side and polled by the GUI.

Blocks are fed as they are captured or played (24 kHz); reading is O(1) for the envelope and one
small copy for the history, so a 30 fps poll costs nothing measurable.
"""

from __future__ import annotations

import math
import time

import numpy as np
import numpy.typing as npt

from voicedesk.audio.base import SAMPLE_RATE, Levels


class LevelMeter:
    """Envelope with instant attack and exponential release, plus ``history_s`` of per-bin peaks."""

    def __init__(
        self,
        *,
        release_s: float = 0.3,
        history_s: float = 2.0,
        bins_per_s: int = 100,
        rate: int = SAMPLE_RATE,
    ) -> None:
        self._release_s = release_s
        self._rate = rate
        self._bin = max(1, rate // bins_per_s)
        self._history = np.zeros(int(history_s * bins_per_s), dtype=np.float32)
        self._hist_pos = 0
        self._partial_peak = 0.0
        self._partial_n = 0
        self._peak = 0.0
        self._rms = 0.0
        self._at = time.monotonic()

    def feed(self, block: npt.NDArray[np.int16] | npt.NDArray[np.float32]) -> None:
        if block.size == 0:
            return
        x = block.astype(np.float32) * (1.0 / 32768.0) if block.dtype == np.int16 else block
        a = np.abs(x)
        peak = float(a.max())
        rms = float(np.sqrt(np.mean(x * x)))
        now = time.monotonic()
        decay = self._decay(now)
        self._peak = max(peak, self._peak * decay)
        self._rms = max(rms, self._rms * decay)
        self._at = now
        self._push_history(a)

    def _push_history(self, a: npt.NDArray[np.float32]) -> None:
        i = 0
        n = a.size
        while i < n:
            take = min(self._bin - self._partial_n, n - i)
            self._partial_peak = max(self._partial_peak, float(a[i : i + take].max()))
            self._partial_n += take
            i += take
            if self._partial_n == self._bin:
                self._history[self._hist_pos % self._history.size] = self._partial_peak
                self._hist_pos += 1
                self._partial_peak = 0.0
                self._partial_n = 0

    def _decay(self, now: float) -> float:
        return math.exp(-max(0.0, now - self._at) / self._release_s)

    def levels(self) -> Levels:
        decay = self._decay(time.monotonic())
        return Levels(peak=min(1.0, self._peak * decay), rms=min(1.0, self._rms * decay))

    def history(self) -> npt.NDArray[np.float32]:
        """Peaks (0..1) of the last ``history_s`` in ``1/bins_per_s`` bins, oldest first."""
        size = self._history.size
        start = self._hist_pos % size
        return np.concatenate([self._history[start:], self._history[:start]])

    def reset(self) -> None:
        self._history[:] = 0
        self._peak = self._rms = 0.0
