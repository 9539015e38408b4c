"""Reading the far-end timeline at ``1 + drift`` samples per microphone sample.

Clock drift between two sound cards is at most a few hundred ppm, so the echo canceller's reference
only needs a fractional delay that slides slowly, not a general resampler. A windowed-sinc
interpolator with a precomputed table of phases does it in a few vectorised numpy calls per block,
where libsamplerate's ``sinc_medium`` took a fifth of the echo path's time for its far longer filter
(figures: docs/decisions/0001-echo-canceller.md).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import numpy.typing as npt

from voicedesk.audio.echo_reference import FarEndTimeline

Float32 = npt.NDArray[np.float32]

TAPS = 16  # samples around each read position
PHASES = 512  # fractional positions tabulated: 1/1024 sample of error at most
CUTOFF = 0.9  # of the Nyquist frequency: speech above 10.8 kHz is faint, and the taps stay short
KAISER_BETA = 7.0
MAX_SLIDE = 0.125  # samples the fractional offset may slide within one cross-faded piece


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
    by ``step`` timeline samples (``1 + drift``). Positions beyond what was played read as zeros.

    The fractional offset from the integer grid slides by ``drift`` per sample: a tenth of a sample
    over a block at 200 ppm. So a block is read as two fixed fractional delays, at the offsets where
    it starts and where it ends, cross-faded along it (two short correlations instead of a gathered
    kernel per sample); larger drift splits the block so that no piece slides further than that.
    """

    reach = TAPS // 2 + 1  # samples after a read position the interpolation may need

    def __init__(self, block: int) -> None:
        self.block = block
        self._table = _phase_table()
        self._ramps: dict[int, npt.NDArray[np.float32]] = {}  # cross-fade weights by piece length

    def _ramp(self, m: int) -> npt.NDArray[np.float32]:
        if m not in self._ramps:
            self._ramps[m] = (np.arange(m) / m).astype(np.float32)
        return self._ramps[m]

    def _fixed(self, span: Float32, start: int, offset: float, m: int) -> Float32:
        """``m`` samples read at ``span`` index ``start + i + offset``."""
        whole = math.floor(offset)
        phase = round((offset - whole) * PHASES)
        first = start + whole - (TAPS // 2 - 1)
        out: Float32 = np.correlate(span[first : first + m + TAPS - 1], self._table[phase], "valid")
        return out

    def read(self, timeline: FarEndTimeline, position: float, step: float) -> Float32:
        n, drift = self.block, step - 1.0
        origin = math.floor(position) - TAPS - 2  # span index 0
        end = math.floor(position + n * step) + TAPS + 2
        span = timeline.samples(origin, end - origin)
        pieces = max(1, math.ceil(abs(drift) * n / MAX_SLIDE))
        out = np.empty(n, dtype=np.float32)
        bounds = [n * k // pieces for k in range(pieces + 1)]
        for i0, i1 in itertools.pairwise(bounds):
            m = i1 - i0
            t0 = position + i0 * step
            start = math.floor(t0)
            frac = t0 - start
            begin = self._fixed(span, start - origin, frac, m)
            finish = self._fixed(span, start - origin, frac + m * drift, m)
            finish -= begin
            finish *= self._ramp(m)
            out[i0:i1] = begin + finish
        return out
