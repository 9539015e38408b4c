"""Streaming sample-rate conversion between a device's rate and the protocol's 24 kHz.

libsamplerate (the ``samplerate`` package, ``sinc_medium``) rather than soxr's ``ResampleStream``: both
are far beyond 16-bit quality, but soxr holds back several times more output per chunk than the capture
path's budget of one block + 5 ms allows (figures: docs/decisions/0003-streaming-resampler.md).
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import numpy.typing as npt

# A compiled module without type information: bound as Any on purpose.
samplerate: Any = importlib.import_module("samplerate")

Float32 = npt.NDArray[np.float32]

CONVERTER = "sinc_medium"


class StreamResampler:
    """Converts a continuous mono float32 stream from ``in_rate`` to ``out_rate`` chunk by chunk.

    Output length follows the exact ratio over time; a chunk may come out a few samples short
    while the filter fills, and ``drain`` returns what is still held back when the stream ends.
    """

    def __init__(self, in_rate: float, out_rate: float) -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError("rates must be positive")
        self.in_rate = float(in_rate)
        self.out_rate = float(out_rate)
        self.ratio = self.out_rate / self.in_rate
        self._passthrough = self.in_rate == self.out_rate
        self._impl: Any = None if self._passthrough else samplerate.Resampler(CONVERTER, channels=1)
        self._empty: Float32 = np.zeros(0, dtype=np.float32)
        self._in = 0
        self._out = 0

    @property
    def passthrough(self) -> bool:
        return self._passthrough

    def process(self, chunk: Float32) -> Float32:
        if self._passthrough:
            return chunk.astype(np.float32, copy=True)
        if chunk.size == 0:
            return self._empty
        out: Float32 = self._impl.process(np.ascontiguousarray(chunk, dtype=np.float32), self.ratio)
        self._in += chunk.size
        self._out += out.size
        return out

    @property
    def held_back(self) -> int:
        """Output samples owed for input already taken (the filter's look-ahead)."""
        return max(0, round(self._in * self.ratio) - self._out)

    def drain(self) -> Float32:
        """End of a continuous stretch: return the held-back tail and get ready for a new stretch."""
        if self._passthrough:
            return self._empty
        owed = self.held_back
        pieces: list[Float32] = []
        got = 0
        pad = np.zeros(max(64, int(self.in_rate * 0.005)), dtype=np.float32)
        for _ in range(20):  # pushing zeros through brings the look-ahead out
            if got >= owed:
                break
            piece: Float32 = self._impl.process(pad, self.ratio)
            pieces.append(piece)
            got += piece.size
        self.reset()
        return np.concatenate(pieces)[:owed] if pieces else self._empty

    def reset(self) -> None:
        """Forget everything held back (after a flush)."""
        if not self._passthrough:
            self._impl.reset()
        self._in = 0
        self._out = 0


def resample_block(pcm: Float32, in_rate: float, out_rate: float) -> Float32:
    """One-shot conversion of a whole signal (tests, file sources)."""
    stream = StreamResampler(in_rate, out_rate)
    head = stream.process(pcm)
    return np.concatenate([head, stream.drain()]).astype(np.float32)
