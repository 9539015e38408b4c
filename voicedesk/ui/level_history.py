"""A fixed-size history of audio levels for the waveform view: plain numpy, no Qt.

Two traces (microphone and assistant) share one clock: each ``push`` adds one sample to both. The
buffer is written twice (at ``i`` and ``i + size``), so the latest ``size`` samples are always one
contiguous slice in time order: ``traces()`` returns views, never copies, and nothing is allocated
after construction.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
FLOOR_DB = -60.0


def level_to_display(peak: float) -> float:
    """0..1 of full scale -> 0..1 on a dB scale from -60 dBFS, so quiet speech is still visible."""
    if peak <= 0.0:
        return 0.0
    db = 20.0 * math.log10(min(peak, 1.0))
    return max(0.0, 1.0 - db / FLOOR_DB)


class LevelHistory:
    def __init__(self, size: int = 300) -> None:
        if size < 2:
            raise ValueError("a level history needs at least two samples")
        self.size = size
        self._mic = np.zeros(2 * size, dtype=np.float64)
        self._out = np.zeros(2 * size, dtype=np.float64)
        self._next = 0
        self._quiet = size  # consecutive silent pushes; >= size means the whole view is flat
        self.x: FloatArray = np.arange(size, dtype=np.float64)

    @property
    def flat(self) -> bool:
        """Everything in view is silence: nothing would change on screen."""
        return self._quiet > self.size

    def push(self, mic_peak: float, out_peak: float) -> None:
        mic, out = level_to_display(mic_peak), level_to_display(out_peak)
        i = self._next
        self._mic[i] = self._mic[i + self.size] = mic
        self._out[i] = self._out[i + self.size] = out
        self._next = (i + 1) % self.size
        self._quiet = self._quiet + 1 if mic == 0.0 and out == 0.0 else 0

    def traces(self) -> tuple[FloatArray, FloatArray]:
        """(mic, assistant), oldest first, as views of the ring (valid until the next ``push``)."""
        start = self._next
        return self._mic[start : start + self.size], self._out[start : start + self.size]

    def clear(self) -> None:
        self._mic.fill(0.0)
        self._out.fill(0.0)
        self._next = 0
        self._quiet = self.size
