"""The linear echo canceller and its residual-echo suppressor (the ``aec`` mode's filter).

A partitioned-block frequency-domain Kalman filter (Enzner & Vary's FDKF,
diagonalised per partition as in Kuech et al. 2014): its per-bin step size falls by itself when the
error is dominated by near-end speech, so double talk neither diverges the filter nor needs a
detector. Our own numpy filter because the bindings that cancel as well do not install on every
platform we ship for, and the one that does cancels far less (docs/decisions/0001-echo-canceller.md).
Everything runs on the loop thread, never in a PortAudio callback.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.audio.stft import HalfHopStft

SUSPECT_LEAK = 4.0  # residual over estimate assumed while the path may have changed (tuned on bench_echo.py)
A2 = 0.999**2  # per-block forgetting of the echo path: follows a moving echo (drift, a person moving)

Float32 = npt.NDArray[np.float32]
Complex = npt.NDArray[np.complex64]


class KalmanEchoCanceller:
    """Linear echo canceller plus residual-echo suppressor on fixed blocks of 24 kHz float audio.

    ``process(mic, ref)`` takes one block of microphone signal and the far-end reference for the
    same moment (``ref`` may lead the echo by a few ms; the filter covers ``tail_ms`` after that)
    and returns the cleaned block. The suppressor works on half blocks with a sqrt-Hann
    overlap-add, which delays the output by half a block (10 ms at 20 ms blocks).
    """

    def __init__(
        self,
        block: int = 480,
        *,
        tail_ms: float = 320.0,
        rate: int = SAMPLE_RATE,
        suppress: bool = True,
        floor_db: float = -40.0,
        overdrive: float = 3.0,
    ) -> None:
        if block % 2:
            raise ValueError("block must be even")
        self.block = block
        self.partitions = max(1, math.ceil(tail_ms * rate / 1000 / block))
        self.suppress = suppress
        self._floor = 10.0 ** (floor_db / 20.0)
        self._overdrive = overdrive
        self._bins = block + 1
        # Per-bin forgetting of the state (A^2) lets the filter follow a moving echo path.
        self._a2 = A2
        self._half = block // 2
        # A further spectral gain on the suppressor's frames (noise suppression), applied in place to
        # the output's two half-block spectra: it then shares this STFT and adds no delay of its own.
        self.post_filter: Callable[[Complex], None] | None = None
        self.path_changes = 0  # echo-path changes detected since the canceller was made
        self.reset()

    def reset(self) -> None:
        p, k, n = self.partitions, self._bins, self.block
        self._x: Complex = np.zeros((p, k), dtype=np.complex64)  # far-end spectra, newest first
        self._x2: Float32 = np.zeros((p, k), dtype=np.float32)  # and their powers
        self._constrain_next = 0  # the partition whose taps are cut back to one block next
        self._far_quiet = 0  # blocks since the reference last carried sound
        self._owed = 0  # prediction steps not yet applied to _p while the far end was quiet
        self._w: Complex = np.zeros((p, k), dtype=np.complex64)  # echo path estimate
        self._p: Float32 = np.ones((p, k), dtype=np.float32)  # state error variance
        self._psi: Float32 = np.ones(k, dtype=np.float32)  # near-end + noise PSD
        self._x_prev: Float32 = np.zeros(n, dtype=np.float32)
        self._e_pad: Float32 = np.zeros(2 * n, dtype=np.float32)
        # suppressor state
        self._stft = HalfHopStft(n, rows=3)  # d, e, y
        self._e_psd: Float32 = np.full(n // 2 + 1, 1e-9, dtype=np.float32)
        self._e2f: Float32 = np.full(k, 1e-9, dtype=np.float32)  # smoothed |E|^2 on the filter's bins
        self._unsure: Float32 = np.zeros(n // 2 + 1, dtype=np.float32)  # predicted misalignment echo / error, per bin
        self._pey = 0.0
        self._pyy = 1e-9
        self.leak = 0.5
        self.mic_energy = 0.0  # of the last block, before and after the linear filter
        self.error_energy = 0.0
        self.estimate: Float32 = np.zeros(n, dtype=np.float32)  # the last block's echo estimate and error
        self.error: Float32 = np.zeros(n, dtype=np.float32)
        self._s_ey = 0.0  # smoothed <e, y>, <e, e>, <y, y>, <d, d>: the path-change detector's statistics
        self._s_ee = 0.0
        self._s_yy = 0.0
        self._s_dd = 0.0
        self._misfit_blocks = 0
        self._holdoff = 0
        self._armed = True  # no shake since the filter last cancelled
        self.suspect = False  # the filter may have lost the echo path (see _watch_path)

    def response(self) -> Complex:
        """The echo path the filter has learned, as one frequency response on its ``block + 1`` bins.

        Partition ``p`` delays by ``p * block`` samples, a phase of ``(-1)^(k p)`` on bin ``k`` of the
        ``2 * block`` FFT. How the partitions share the response is not unique when the far end is
        periodic (a voice), but the total at the bins it excites is.
        """
        signs = np.where(np.outer(np.arange(self.partitions), np.arange(self._bins)) % 2 == 1, -1.0, 1.0)
        total: Complex = np.sum(self._w * signs, axis=0)
        return total

    def shake(self, strength: float = 1.0) -> None:
        """The echo path jumped (the output skipped or repeated audio): keep what was learned as a
        starting point but make the filter as unsure of it as of its whole size, so it re-adapts
        fast and the suppressor holds the echo down meanwhile."""
        self._p += strength * np.sum(self._w.real**2 + self._w.imag**2, axis=0)

    def _watch_path(self, ey: float, yy: float) -> None:
        """Shake the filter when the echo path changed under it (the laptop was moved).

        The error of a filter whose path is wrong contains its own estimate: ``e = d - y`` with the
        old echo ``y`` no longer in ``d`` (or a louder or softer one), so ``e`` correlates with ``y``.
        Near-end speech in double talk does not, and a converged filter's residual is small, so
        neither triggers it. A strong correlation on a large error for 60 ms re-opens the filter."""
        a = 0.7  # ~60 ms of smoothing at 20 ms blocks
        self._s_ey = a * self._s_ey + (1 - a) * ey
        self._s_ee = a * self._s_ee + (1 - a) * self.error_energy
        self._s_yy = a * self._s_yy + (1 - a) * yy
        self._s_dd = a * self._s_dd + (1 - a) * self.mic_energy
        # Until the detector is sure, a filter that stopped cancelling while its estimate is still a
        # sizeable part of the microphone may have lost the path: the suppressor then takes the
        # estimate's spectrum, made louder, as the residual's (a moved laptop's new echo has the far
        # end's spectrum), as long as the error also leans against the estimate (the old echo, gone
        # from the microphone, is still subtracted). A voice louder than the echo keeps the estimate
        # small, and a quieter one leans on it only by chance, so either passes.
        self.suspect = (
            self._far_quiet == 0
            and self._s_ee > 0.3 * self._s_dd
            and self._s_yy > 0.2 * self._s_dd
            and -self._s_ey > 0.1 * self._s_yy
        )
        if self._holdoff > 0:
            self._holdoff -= 1
            return
        if not self._armed:
            # After a shake the filter re-learns, and while it does its error correlates with its
            # estimate too: shaking it again would restart that, over and over in double talk. The
            # detector waits until the filter cancels 10 dB again.
            self._armed = self._far_quiet == 0 and 0.0 < self._s_ee < 0.1 * self._s_dd
            return
        # Judged only where the estimate is a sizeable part of the microphone: a voice far louder
        # than the echo correlates with it by chance as strongly as a wrong filter's error does.
        big_error = self._s_ee > 0.1 * self._s_dd and self._s_yy > 0.2 * self._s_dd > 0.0
        rho2 = self._s_ey**2 / (self._s_ee * self._s_yy + 1e-30)
        # An error louder than the microphone by part of the estimate: only a wrong filter adds energy.
        misfit = big_error and (rho2 > 0.3 or self._s_ee > self._s_dd + 0.3 * self._s_yy)
        self._misfit_blocks = self._misfit_blocks + 1 if misfit else 0
        if self._misfit_blocks >= 3:
            self.shake(4.0)
            self.path_changes += 1
            self._misfit_blocks = 0
            self._holdoff = 25
            self._armed = False

    def process(self, mic: Float32, ref: Float32) -> Float32:
        n = self.block
        d = mic.astype(np.float32)
        x = ref.astype(np.float32)
        self._far_quiet = self._far_quiet + 1 if float(np.dot(x, x)) < 1e-12 * n else 0
        if self._far_quiet > self.partitions:
            return self._pass_through(d)
        self._catch_up()
        self._x[1:] = self._x[:-1]
        self._x2[1:] = self._x2[:-1]
        self._x[0] = xf = np.fft.rfft(np.concatenate((self._x_prev, x)))
        self._x2[0] = xf.real**2 + xf.imag**2
        self._x_prev = x
        # prediction step
        w2 = self._w.real**2 + self._w.imag**2
        self._p *= self._a2
        self._p += (1.0 - self._a2) * w2
        # numpy's FFTs keep float32 (its stubs say float64): astype(copy=False) is free and types it.
        # (A product summed over partitions: einsum is twice as slow on complex arrays.)
        y = np.fft.irfft((self._x * self._w).sum(axis=0), n=2 * n)[n:].astype(np.float32, copy=False)
        e = d - y
        self.mic_energy = float(np.dot(d, d))
        self.error_energy = float(np.dot(e, e))
        self.estimate, self.error = y, e
        self._watch_path(float(np.dot(e, y)), float(np.dot(y, y)))
        self._e_pad[n:] = e
        big_e = np.fft.rfft(self._e_pad)
        e2 = (big_e.real**2 + big_e.imag**2).astype(np.float32, copy=False)
        self._psi = 0.9 * self._psi + 0.1 * e2
        # The echo the filter may still be missing, from its own state uncertainty (the error of the
        # zero-padded half block carries half of it): large while it converges, small after.
        x2 = self._x2
        unsure = 0.5 * np.einsum("pk,pk->k", self._p, x2)
        self._e2f = 0.5 * self._e2f + 0.5 * e2
        self._unsure = np.minimum(unsure[::2] / (self._e2f[::2] + 1e-12), 100.0)
        mu = self._p / (2.0 * unsure + 2.0 * self._psi + 1e-10)
        self._w += mu * np.conj(self._x) * big_e
        self._constrain()
        mu *= x2
        mu *= -0.5
        mu += 1.0
        self._p *= mu
        out = self._suppress(d, e, y) if self.suppress else e
        return out.astype(np.float32)

    def _pass_through(self, d: Float32) -> Float32:
        """The far end has been silent for longer than the filter: there is no echo to model, so the
        filter's work is skipped (most of the time in a conversation); only what the next echo needs
        is kept current: the near-end level, the detector's statistics and the suppressor's frames."""
        n = self.block
        if self._far_quiet == self.partitions + 1:
            self._x[:] = 0.0
            self._x2[:] = 0.0
            self._x_prev[:] = 0.0
        self._owed += 1
        self.mic_energy = self.error_energy = float(np.dot(d, d))
        self.estimate, self.error = np.zeros(n, dtype=np.float32), d
        self._watch_path(0.0, 0.0)
        self._e_pad[n:] = d
        big_e = np.fft.rfft(self._e_pad)
        e2 = (big_e.real**2 + big_e.imag**2).astype(np.float32, copy=False)
        self._psi = 0.9 * self._psi + 0.1 * e2
        self._e2f = 0.5 * self._e2f + 0.5 * e2
        self._unsure[:] = 0.0
        if not self.suppress:
            return d
        if self.post_filter is not None:
            spec = self._stft.analyse_row(d, d, self.estimate, row=1)
            self.post_filter(spec)
            return self._stft.synthesise(spec)
        # The suppressor's gain is 1 without an echo estimate.
        return self._stft.pass_through(d, d, self.estimate, row=1)

    def _catch_up(self) -> None:
        """Apply the prediction steps skipped while the far end was quiet (the path does not move
        meanwhile, so ``k`` steps are one: ``p = a^2k p + (1 - a^2k) |w|^2``)."""
        if self._owed:
            a2k = self._a2**self._owed
            self._p *= a2k
            self._p += (1.0 - a2k) * (self._w.real**2 + self._w.imag**2)
            self._owed = 0

    def _constrain(self) -> None:
        """Cut one partition back to ``block`` taps, in turn (as WebRTC AEC3 does): an unconstrained
        update is a circular convolution, and cutting every partition every block costs two FFTs per
        partition; cutting one per block keeps the wrap-around small at a sixteenth of the cost."""
        n, q = self.block, self._constrain_next
        taps = np.fft.irfft(self._w[q], n=2 * n)
        taps[n:] = 0.0
        self._w[q] = np.fft.rfft(taps)
        self._constrain_next = (q + 1) % self.partitions

    def _suppress(self, d: Float32, e: Float32, y: Float32) -> Float32:
        """Wiener-like gain from a residual-echo estimate: ``leak * |Y|^2`` (Speex's leak regression)
        for what the converged filter misses, plus the filter's own uncertainty while it converges
        (Enzner's Kalman postfilter), so echo is held down from the first syllable on. A bin where
        the filter made things worse than the microphone (it learned a wrong path where the far end
        had not excited it) starts from the microphone instead."""
        spec = self._stft.analyse(d, e, y)  # the two half-block frames of each, in one FFT call
        d2, e2, y2 = spec.real**2 + spec.imag**2  # each (2 frames, bins)
        worse = e2 > d2
        np.copyto(spec[1], spec[0], where=worse)
        np.copyto(e2, d2, where=worse)
        # How much of the residual moves with the echo estimate: near-end speech does not, so it does
        # not inflate the estimate. Both frames' statistics at once; the smoothing runs frame by frame.
        # (Their covariances across bins, as sum(a b) - sum(a) sum(b) / bins: no centred copies.)
        e_sum, y_sum = e2.sum(axis=1), y2.sum(axis=1)
        cross = np.einsum("fk,fk->f", e2, y2) - e_sum * y_sum / e2.shape[1]
        energy = np.einsum("fk,fk->f", y2, y2) - y_sum * y_sum / e2.shape[1]
        leaks = np.empty((2, 1), dtype=np.float32)
        psd = np.empty_like(e2)
        for frame in range(2):
            self._pey = 0.95 * self._pey + 0.05 * float(cross[frame])
            self._pyy = 0.95 * self._pyy + 0.05 * float(energy[frame])
            self._pey = max(self._pey, 0.005 * self._pyy)
            self.leak = leaks[frame, 0] = min(self._pey / (self._pyy + 1e-12), 0.5)
            self._e_psd = psd[frame] = 0.5 * self._e_psd + 0.5 * e2[frame]
        if self.suspect:
            leaks[:] = SUSPECT_LEAK
        psd += 1e-12
        gains = y2 / psd
        gains *= leaks
        gains += self._unsure
        gains *= -self._overdrive
        gains += 1.0
        np.clip(gains, self._floor, 1.0, out=gains)
        cleaned = spec[1] * gains
        if self.post_filter is not None:
            self.post_filter(cleaned)
        return self._stft.synthesise(cleaned)
