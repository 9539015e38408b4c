"""Reading the far-end timeline at ``1 + drift`` samples per microphone sample.

Clock drift between two sound cards is at most a few hundred ppm, so the echo canceller's reference
only needs a fractional delay that slides slowly, not a general resampler. A windowed-sinc
interpolator with a precomputed table of phases does it in a few vectorised numpy calls per block,
where libsamplerate's ``sinc_medium`` took a fifth of the echo path's time for its far longer filter
(figures: docs/decisions/0001-echo-canceller.md).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from voicedesk.audio.echo_reference import FarEndTimeline

Float32 = npt.NDArray[np.float32]

TAPS = 16  # samples around each read position
PHASES = 512  # fractional positions tabulated: 1/1024 sample of error at most
CUTOFF = 0.9  # of the Nyquist frequency: speech above 10.8 kHz is faint, and the taps stay short
KAISER_BETA = 7.0


def _phase_table() -> npt.NDArray[np.float32]:
    """Row ``p`` weights samples ``base - TAPS/2 + 1 ... base + TAPS/2`` to read at ``base + p / PHASES``."""
    frac = np.arange(PHASES + 1)[:, None] / PHASES
    offsets = np.arange(TAPS)[None, :] - (TAPS // 2 - 1) - frac  # sample offset from the read position
    half = TAPS / 2
    window = np.i0(KAISER_BETA * np.sqrt(np.clip(1.0 - (offsets / half) ** 2, 0.0, 1.0))) / np.i0(KAISER_BETA)
    table = CUTOFF * np.sinc(CUTOFF * offsets) * window
    table /= table.sum(axis=1, keepdims=True)  # unit gain at DC for every phase
    return table.astype(np.float32)


class DriftReader:
    """Reads ``block`` samples from a timeline starting at a fractional position, one sample apart
    by ``step`` timeline samples (``1 + drift``). Positions beyond what was played read as zeros."""

    reach = TAPS // 2  # samples after a read position the interpolation needs

    def __init__(self, block: int) -> None:
        self.block = block
        self._table = _phase_table()
        self._steps = np.arange(block, dtype=np.float64)
        self._taps = np.arange(TAPS)

    def read(self, timeline: FarEndTimeline, position: float, step: float) -> Float32:
        t = position + self._steps * step
        base = np.floor(t)
        phase = np.rint((t - base) * PHASES).astype(np.intp)
        first = int(base[0]) - (TAPS // 2 - 1)
        span = timeline.samples(first, int(base[-1]) - first + TAPS)
        rows = (base - base[0]).astype(np.intp)[:, None] + self._taps  # span[0] is base[0]'s first tap
        out: Float32 = np.einsum("ij,ij->i", span[rows], self._table[phase])
        return out
