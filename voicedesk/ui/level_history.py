"""The history of audio levels the waveform draws and the level meters read: a ``Ring`` of two levels
per display frame (microphone, assistant), on a dB display scale. Plain numpy, no Qt.

Two traces share one clock: each ``push`` adds one sample to both. ``traces()`` returns views of the ring
in time order, never copies.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from voicedesk.ui.ring import Ring

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
        self._ring: Ring[tuple[float, float]] = Ring(size, dtype=np.float64, row_shape=(2,))
        self._quiet = size  # consecutive silent pushes; >= size means the whole view is flat
        self.x: FloatArray = np.arange(size, dtype=np.float64)

    @property
    def flat(self) -> bool:
        """Everything in view is silence: nothing would change on screen."""
        return self._quiet > self.size

    def push(self, mic_peak: float, out_peak: float) -> None:
        mic, out = level_to_display(mic_peak), level_to_display(out_peak)
        self._ring.push((mic, out))
        self._quiet = self._quiet + 1 if mic == 0.0 and out == 0.0 else 0

    def traces(self) -> tuple[FloatArray, FloatArray]:
        """(mic, assistant), oldest first, as views of the ring (valid until the next ``push``)."""
        rows = self._ring.latest(self.size)
        return rows[:, 0], rows[:, 1]

    def latest(self) -> tuple[float, float]:
        """The newest (mic, assistant) levels on the display scale; silence before the first push."""
        if not len(self._ring):
            return 0.0, 0.0
        row = self._ring.latest(1)[0]
        return float(row[0]), float(row[1])

    def clear(self) -> None:
        self._ring.clear()
        self._quiet = self.size
