"""Short-time spectra for the microphone's spectral gains (the echo suppressor, the noise suppressor).

Frames one block long, a hop of half a block, sqrt-Hann for analysis and again for synthesis (their product,
a Hann window, sums to one at this hop), so a gain of one gives the input back half a block late.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Float32 = npt.NDArray[np.float32]
Complex = npt.NDArray[np.complex64]


class HalfHopStft:
    """``analyse`` takes one block of each of ``rows`` signals and returns their two frames' spectra
    (``rows, 2, block // 2 + 1``); ``synthesise`` takes the two frames' spectra of one signal and returns
    that signal's block, half a block late."""

    def __init__(self, block: int, rows: int = 1) -> None:
        if block % 2:
            raise ValueError("block must be even")
        self.block = block
        self.half = block // 2
        self.window: Float32 = np.sqrt(np.hanning(block + 1)[:block]).astype(np.float32)
        self._hann: Float32 = self.window * self.window
        self._signal: Float32 = np.zeros((rows, block + self.half), dtype=np.float32)  # last half block + this
        self._frames: Float32 = np.zeros((rows, 2, block), dtype=np.float32)
        self._overlap: Float32 = np.zeros(self.half, dtype=np.float32)

    def _push(self, blocks: tuple[Float32, ...]) -> Float32:
        n, h, signal = self.block, self.half, self._signal
        signal[:, :h] = signal[:, n:]
        for row, block in enumerate(blocks):
            signal[row, h:] = block
        return signal

    def analyse(self, *blocks: Float32) -> Complex:
        n, h = self.block, self.half
        signal, frames = self._push(blocks), self._frames
        np.multiply(signal[:, :n], self.window, out=frames[:, 0])
        np.multiply(signal[:, h : h + n], self.window, out=frames[:, 1])
        spectra: Complex = np.fft.rfft(frames, axis=2).astype(np.complex64, copy=False)
        return spectra

    def analyse_row(self, *blocks: Float32, row: int) -> Complex:
        """``analyse(...)[row]`` without transforming the other rows (their history is still kept)."""
        n, h = self.block, self.half
        signal, frames = self._push(blocks)[row], self._frames[row]
        np.multiply(signal[:n], self.window, out=frames[0])
        np.multiply(signal[h : h + n], self.window, out=frames[1])
        spectra: Complex = np.fft.rfft(frames, axis=1).astype(np.complex64, copy=False)
        return spectra

    def synthesise(self, spectra: Complex) -> Float32:
        n = self.block
        shaped = np.fft.irfft(spectra, n=n, axis=1).astype(np.float32, copy=False) * self.window
        return self._overlap_add(shaped[0], shaped[1])

    def pass_through(self, *blocks: Float32, row: int = 0) -> Float32:
        """What ``synthesise(analyse(...)[row])`` gives for a gain of one, without the FFTs."""
        n, h = self.block, self.half
        signal = self._push(blocks)[row]
        return self._overlap_add(signal[:n] * self._hann, signal[h : h + n] * self._hann)

    def _overlap_add(self, first: Float32, second: Float32) -> Float32:
        h = self.half
        out = np.empty(self.block, dtype=np.float32)
        out[:h] = self._overlap + first[:h]
        out[h:] = first[h:] + second[:h]
        self._overlap[:] = second[h:]
        return out
