"""Acoustic echo control for speakers: the assistant's own voice must not reach the server's VAD.

Modes:

- ``aec`` (default): an adaptive filter predicts the echo from what was actually played and
  subtracts it, then a residual-echo suppressor removes what the linear model misses;
- ``half-duplex``: the microphone is muted (silence is still delivered, so the stream stays
  continuous) while the assistant's audio is audible plus a hangover; barge-in is by button;
- ``off``: for headsets.

The canceller is a partitioned-block frequency-domain Kalman filter (Enzner & Vary's FDKF,
diagonalised per partition as in Kuech et al. 2014): its per-bin step size falls by itself when the
error is dominated by near-end speech, so double talk neither diverges the filter nor needs a
detector. Chosen by measurement over the Python bindings (benchmarks/bench_audio.py, report in
the commit): ``aec-audio-processing`` (WebRTC AEC3) cancels best but ships wheels for Windows only,
``speexdsp``/``webrtc-audio-processing`` need swig and do not build, ``speexdsp-aec`` needs a
system libspeexdsp, and ``pyaec`` (a Speex port, wheels everywhere) reached 16 dB linear. This
numpy filter reaches ~40 dB linear, ~48 dB with the suppressor, keeps the near-end intact in double
talk, and costs ~1.6 % of a core. Everything runs on the loop thread, never in a PortAudio callback.

On real devices the hard part is the reference, not the filter (measured through PulseAudio, see
EchoControl): it is paired with the microphone by sample counts, never taken from audio not yet
played, corrected for output underruns and for clock drift between the two devices. Through a
PulseAudio loopback (speaker monitor -> microphone, 40 ms, -13 dB) the echo falls by 45-57 dB, and by
~40 dB when the loopback's rate adaptation makes it drift by ~90 ppm.
"""

from __future__ import annotations

import importlib
import math
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from voicedesk.audio.base import SAMPLE_RATE

# A compiled module without type information: bound as Any on purpose (as in resample.py).
samplerate: Any = importlib.import_module("samplerate")

A2 = 0.999**2  # per-block forgetting of the echo path: follows a moving echo (drift, a person moving)
EchoMode = Literal["aec", "half-duplex", "off"]
ECHO_MODES: tuple[EchoMode, ...] = ("aec", "half-duplex", "off")

Float32 = npt.NDArray[np.float32]
Float64 = npt.NDArray[np.float64]
Complex = npt.NDArray[np.complex128]


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
        self._win: Float64 = np.sqrt(np.hanning(block + 1)[:block])
        self.reset()

    def reset(self) -> None:
        p, k, n = self.partitions, self._bins, self.block
        self._x: Complex = np.zeros((p, k), dtype=np.complex128)  # far-end spectra, newest first
        self._w: Complex = np.zeros((p, k), dtype=np.complex128)  # echo path estimate
        self._p: Float64 = np.ones((p, k), dtype=np.float64)  # state error variance
        self._psi: Float64 = np.ones(k, dtype=np.float64)  # near-end + noise PSD
        self._x_prev: Float64 = np.zeros(n, dtype=np.float64)
        self._e_pad: Float64 = np.zeros(2 * n, dtype=np.float64)
        # suppressor state
        self._ebuf: Float64 = np.zeros(n, dtype=np.float64)
        self._dbuf: Float64 = np.zeros(n, dtype=np.float64)
        self._ybuf: Float64 = np.zeros(n, dtype=np.float64)
        self._ola: Float64 = np.zeros(n, dtype=np.float64)
        self._e_psd: Float64 = np.full(n // 2 + 1, 1e-9)
        self._e2f: Float64 = np.full(k, 1e-9)  # smoothed |E|^2 on the filter's bins
        self._unsure: Float64 = np.zeros(n // 2 + 1)  # predicted misalignment echo / error, per bin
        self._pey = 0.0
        self._pyy = 1e-9
        self.leak = 0.5
        self.mic_energy = 0.0  # of the last block, before and after the linear filter
        self.error_energy = 0.0

    def response(self) -> Complex:
        """The echo path the filter has learned, as one frequency response on its ``block + 1`` bins.

        Partition ``p`` delays by ``p * block`` samples, a phase of ``(-1)^(k p)`` on bin ``k`` of the
        ``2 * block`` FFT. How the partitions share the response is not unique when the far end is
        periodic (a voice), but the total at the bins it excites is.
        """
        signs = np.where(np.outer(np.arange(self.partitions), np.arange(self._bins)) % 2 == 1, -1.0, 1.0)
        total: Complex = np.sum(self._w * signs, axis=0)
        return total

    def shake(self) -> None:
        """The echo path jumped (the output skipped or repeated audio): keep what was learned as a
        starting point but make the filter as unsure of it as of its whole size, so it re-adapts
        fast and the suppressor holds the echo down meanwhile."""
        self._p += np.sum(self._w.real**2 + self._w.imag**2, axis=0)

    def process(self, mic: Float32, ref: Float32) -> Float32:
        n = self.block
        d = mic.astype(np.float64)
        x = ref.astype(np.float64)
        self._x[1:] = self._x[:-1]
        self._x[0] = np.fft.rfft(np.concatenate((self._x_prev, x)))
        self._x_prev = x
        # prediction step
        self._p = self._a2 * self._p + (1.0 - self._a2) * (self._w.real**2 + self._w.imag**2)
        y = np.fft.irfft(np.einsum("pk,pk->k", self._x, self._w), n=2 * n)[n:]
        e = d - y
        self.mic_energy = float(np.dot(d, d))
        self.error_energy = float(np.dot(e, e))
        self._e_pad[n:] = e
        big_e = np.fft.rfft(self._e_pad)
        x2 = self._x.real**2 + self._x.imag**2
        e2 = big_e.real**2 + big_e.imag**2
        self._psi = 0.9 * self._psi + 0.1 * e2
        # The echo the filter may still be missing, from its own state uncertainty (the error of the
        # zero-padded half block carries half of it): large while it converges, small after.
        unsure = 0.5 * np.einsum("pk,pk->k", self._p, x2)
        self._e2f = 0.5 * self._e2f + 0.5 * e2
        self._unsure = np.minimum(unsure[::2] / (self._e2f[::2] + 1e-12), 100.0)
        phi = 2.0 * unsure + 2.0 * self._psi + 1e-10
        mu = self._p / phi
        # Constrained update: the gradient is cut to n taps so partitions stay linear convolutions.
        grad = np.fft.irfft(mu * np.conj(self._x) * big_e, n=2 * n, axis=1)
        grad[:, n:] = 0.0
        self._w += np.fft.rfft(grad, axis=1)
        self._p *= 1.0 - 0.5 * mu * x2
        out = self._suppress(d, e, y) if self.suppress else e
        return out.astype(np.float32)

    def _suppress(self, d: Float64, e: Float64, y: Float64) -> Float64:
        """Wiener-like gain from a residual-echo estimate: ``leak * |Y|^2`` (Speex's leak regression)
        for what the converged filter misses, plus the filter's own uncertainty while it converges
        (Enzner's Kalman postfilter), so echo is held down from the first syllable on. A bin where
        the filter made things worse than the microphone (it learned a wrong path where the far end
        had not excited it) starts from the microphone instead."""
        n, h = self.block, self._half
        out = np.empty(n, dtype=np.float64)
        for part in range(2):
            seg = slice(part * h, (part + 1) * h)
            self._dbuf[:h] = self._dbuf[h:]
            self._dbuf[h:] = d[seg]
            self._ebuf[:h] = self._ebuf[h:]
            self._ebuf[h:] = e[seg]
            self._ybuf[:h] = self._ybuf[h:]
            self._ybuf[h:] = y[seg]
            df = np.fft.rfft(self._dbuf * self._win)
            ef = np.fft.rfft(self._ebuf * self._win)
            yf = np.fft.rfft(self._ybuf * self._win)
            e2 = ef.real**2 + ef.imag**2
            d2 = df.real**2 + df.imag**2
            worse = e2 > d2
            ef[worse] = df[worse]
            e2[worse] = d2[worse]
            y2 = yf.real**2 + yf.imag**2
            # How much of the residual moves with the echo estimate: near-end speech does not,
            # so it does not inflate the estimate.
            de = e2 - e2.mean()
            dy = y2 - y2.mean()
            self._pey = 0.95 * self._pey + 0.05 * float(np.dot(de, dy))
            self._pyy = 0.95 * self._pyy + 0.05 * float(np.dot(dy, dy))
            self._pey = max(self._pey, 0.005 * self._pyy)
            self.leak = min(self._pey / (self._pyy + 1e-12), 0.5)
            self._e_psd = 0.5 * self._e_psd + 0.5 * e2
            residual = self.leak * y2 / (self._e_psd + 1e-12) + self._unsure
            gain = np.clip(1.0 - self._overdrive * residual, self._floor, 1.0)
            frame = np.fft.irfft(ef * gain, n=n) * self._win
            self._ola[: n - h] = self._ola[h:]
            self._ola[n - h :] = 0.0
            self._ola += frame
            out[seg] = self._ola[:h]
        return out


class HalfDuplexGate:
    """Mutes the microphone while the far end is audible, plus ``hangover_s``; short ramps avoid clicks."""

    def __init__(
        self,
        block: int = 480,
        *,
        rate: int = SAMPLE_RATE,
        threshold_db: float = -50.0,
        hangover_s: float = 0.3,
        ramp_s: float = 0.005,
    ) -> None:
        self.block = block
        self._threshold = 10.0 ** (threshold_db / 20.0)
        self._hangover_blocks = max(1, math.ceil(hangover_s * rate / block))
        self._ramp = max(1, int(ramp_s * rate))
        self._quiet_blocks = self._hangover_blocks + 1
        self._gain = 1.0

    @property
    def muted(self) -> bool:
        return self._quiet_blocks <= self._hangover_blocks

    def reset(self) -> None:
        self._quiet_blocks = self._hangover_blocks + 1
        self._gain = 1.0

    def process(self, mic: Float32, ref: Float32) -> Float32:
        active = ref.size > 0 and float(np.sqrt(np.mean(ref.astype(np.float64) ** 2))) > self._threshold
        self._quiet_blocks = 0 if active else self._quiet_blocks + 1
        target = 0.0 if self.muted else 1.0
        if target == self._gain:
            return mic if target == 1.0 else np.zeros_like(mic)
        ramp = np.ones(mic.size, dtype=np.float32) * target
        steps = min(self._ramp, mic.size)
        ramp[:steps] = np.linspace(self._gain, target, steps, dtype=np.float32)
        self._gain = target
        return (mic * ramp).astype(np.float32)


class FarEndTimeline:
    """What the speaker played, at 24 kHz, as one contiguous run of samples.

    Positions on it are sample counts, which is what the echo canceller aligns on: the output and input
    streams count samples on the sound card's clock, so a fixed offset between a microphone sample's
    index and the timeline index holds for as long as both streams run. PortAudio's stream times only
    place it coarsely (the first alignment, the half-duplex gate): through PulseAudio's ALSA plugin
    they drift from the sample counts by hundreds of ppm and jitter by milliseconds.

    When the output stops (a device switch, an underrun) the silence it leaves was played too: the
    gap, taken from the stream times, is filled with zeros so the sample counts stay on time.
    """

    def __init__(self, *, capacity_s: float = 4.0, rate: int = SAMPLE_RATE, gap_s: float = 0.05) -> None:
        self.rate = rate
        self._buf: Float32 = np.zeros(int(capacity_s * rate), dtype=np.float32)
        self._end = 0  # samples ever appended
        self._t0: float | None = None  # stream time of sample 0, by the latest append
        self._t_next: float | None = None  # stream time right after the last appended sample
        self._gap_s = gap_s
        self.gaps = 0
        self.live = False  # the output stream runs (set by the playback side)
        self.generation = 0  # bumped when the output restarts: the echo path may have changed

    @property
    def end(self) -> int:
        return self._end

    def _append(self, samples: Float32) -> None:
        cap = self._buf.size
        if samples.size >= cap:
            self._end += samples.size - cap
            samples = samples[-cap:]
        start = self._end % cap
        first = min(samples.size, cap - start)
        self._buf[start : start + first] = samples[:first]
        self._buf[: samples.size - first] = samples[first:]
        self._end += samples.size

    def append(self, samples: Float32, t_first: float, *, discontinuity: bool = False) -> None:
        """Add played audio whose first sample left at stream time ``t_first``.

        ``discontinuity``: the output underran since the last append. Measured through PulseAudio,
        the stream times then jump by what really happened to the sound, to within ~0.2 ms: forward
        when silence was inserted (filled with zeros here), backward when audio already handed to
        the device was dropped (taken back off the end here), so sample counts stay on time.
        """
        if self._t_next is not None:
            gap = t_first - self._t_next
            if gap > (0.003 if discontinuity else self._gap_s):
                self._append(np.zeros(min(int(gap * self.rate), self._buf.size), dtype=np.float32))
                self.gaps += 1
            elif discontinuity and gap < -0.003:
                self._end -= min(int(-gap * self.rate), self._end, int(0.25 * self.rate))
                self.gaps += 1
        self._t0 = t_first - self._end / self.rate
        self._append(samples)
        self._t_next = t_first + samples.size / self.rate

    def stopped(self) -> None:
        """The output stream closed (switch, failure): alignment must be found again after it."""
        self.live = False
        self.generation += 1

    def index_of(self, t: float) -> int | None:
        """Timeline index of the sample played at stream time ``t`` (coarse: see the class doc)."""
        return None if self._t0 is None else round((t - self._t0) * self.rate)

    def reference(self, t_start: float, n: int) -> Float32:
        """``n`` samples played from ``t_start`` on (zeros where nothing is known)."""
        i0 = self.index_of(t_start)
        return np.zeros(n, dtype=np.float32) if i0 is None else self.samples(i0, n)

    def samples(self, i0: int, n: int) -> Float32:
        """``n`` samples from timeline index ``i0`` (zeros outside what is kept)."""
        out = np.zeros(n, dtype=np.float32)
        lo = max(i0, self._end - self._buf.size, 0)
        hi = min(i0 + n, self._end)
        if hi <= lo:
            return out
        cap = self._buf.size
        s = lo % cap
        first = min(hi - lo, cap - s)
        out[lo - i0 : lo - i0 + first] = self._buf[s : s + first]
        if first < hi - lo:
            out[lo - i0 + first : hi - i0] = self._buf[: hi - lo - first]
        return out


class DelayEstimator:
    """Finds where the echo sits behind the reference the canceller is given (GCC-PHAT at 8 kHz).

    ``add`` takes microphone blocks; ``estimate`` correlates the last ``window_s`` of them with the
    timeline around the reference positions they were paired with and returns the echo's tap: how
    long after a reference sample its echo reaches the microphone (negative: before, which no
    causal filter can model).
    """

    def __init__(
        self, *, rate: int = SAMPLE_RATE, window_s: float = 2.0, max_tap_s: float = 0.45, min_tap_s: float = -0.1
    ) -> None:
        self.rate = rate
        self._decim = 3
        self._window = int(window_s * rate)
        self._max_tap = int(max_tap_s * rate)
        self._min_tap = int(min_tap_s * rate)
        self._mic: Float32 = np.zeros(self._window, dtype=np.float32)
        self._n = 0

    def restart(self) -> None:
        """The pairing of microphone and reference changed: forget the history."""
        self._n = 0

    def add(self, mic: Float32) -> None:
        k = mic.size
        self._mic[:-k] = self._mic[k:]
        self._mic[-k:] = mic
        self._n += k

    def estimate(self, timeline: FarEndTimeline, ref_end: int) -> tuple[float, float] | None:
        """(tap in s, confidence) for a history whose last sample was paired with index ``ref_end - 1``."""
        if self._n < self._window:
            return None
        d = self._decim
        ref_start = ref_end - self._window
        far = timeline.samples(ref_start - self._max_tap, self._window + self._max_tap - self._min_tap)
        if float(np.mean(far.astype(np.float64) ** 2)) < 1e-7:
            return None  # nothing played: nothing to find
        mic = self._mic.reshape(-1, d).mean(axis=1)
        far_d = far[: (far.size // d) * d].reshape(-1, d).mean(axis=1)
        n = 1 << math.ceil(math.log2(mic.size + far_d.size))
        cross = np.conj(np.fft.rfft(mic, n)) * np.fft.rfft(far_d, n)
        corr = np.fft.irfft(cross / (np.abs(cross) + 1e-12), n)
        # corr[j] peaks where mic[i] ~ far[i + j], i.e. the echo's tap is max_tap - j * d.
        span = (self._max_tap - self._min_tap) // d
        lags = np.abs(corr[: span + 1])
        j = int(np.argmax(lags))
        strength = float(lags[j] / (np.median(lags) + 1e-12))
        return (self._max_tap - j * d) / self.rate, strength


class EchoControl:
    """Applies the chosen mode to consecutive 24 kHz pcm16 microphone blocks.

    The canceller pairs microphone block ``k`` with timeline samples ``(k * block) * (1 + drift) +
    offset``, so the reference is as continuous as the microphone. The offset is first guessed from
    the stream times, then kept causal (a reference block is never taken from audio the speaker has
    not played yet: that would be zeros now and the real signal later, so the filter would learn
    holes; through PulseAudio's ALSA plugin the stream times put 84 % of blocks partly there, which
    capped the cancellation at 2-5 dB) and moved when the delay estimator finds the echo outside the
    filter. Each move restarts the filter, so they are kept rare: a ``slack_s`` margin below what has
    been played absorbs jitter. ``drift`` is found from how the filter's response moves while it
    cancels, and applied by reading the reference through a resampler.
    """

    def __init__(
        self,
        mode: EchoMode = "aec",
        *,
        block: int = 480,
        lead_s: float = 0.0,
        slack_s: float = 0.02,
        tail_ms: float = 320.0,
    ) -> None:
        self.timeline = FarEndTimeline()
        self.block = block
        self.lead_s = lead_s  # first guess: reference this far after the block's stream time
        self.slack_s = slack_s
        self.margin_s = 0.02  # where a relocated echo is put in the filter
        self._aec = KalmanEchoCanceller(block, tail_ms=tail_ms)
        self._tail_s = self._aec.partitions * block / SAMPLE_RATE
        self._gate = HalfDuplexGate(block)
        self._delay = DelayEstimator(max_tap_s=self._tail_s + 0.15)
        self._blocks = 0
        self._mic_e = 0.0  # energy of the microphone and of the linear filter's error while the far end
        self._err_e = 0.0  # plays, since the last delay estimate
        self._candidate: float | None = None
        self._agree = 0
        self._ref_pos: int | None = None  # next timeline index to read for the reference
        # Clock drift between speaker and microphone (two devices, or PulseAudio's adaptive
        # loopback): the reference is read through a resampler at 1 + drift timeline samples per
        # microphone sample, so the echo stays put in the filter instead of sliding out of it.
        self.drift = 0.0
        self._rs: Any = samplerate.Resampler("sinc_medium", channels=1)
        self._fifo: Float32 = np.zeros(4 * block, dtype=np.float32)
        self._fifo_n = 0
        self._h_prev: Complex | None = None
        self._h_blocks = 0  # microphone blocks since _h_prev
        self._drift_mic_e = 0.0
        self._drift_err_e = 0.0
        self._generation = -1
        self._gaps_seen = 0
        self.relocations = 0  # moves after the delay estimator
        self.clamps = 0  # moves to keep the reference causal
        self.tap_s: float | None = None  # last confident delay estimate
        self.mode: EchoMode = mode

    def set_mode(self, mode: EchoMode) -> None:
        if mode not in ECHO_MODES:
            raise ValueError(f"echo mode must be one of {ECHO_MODES}")
        if mode != self.mode:
            self.restart()
        self.mode = mode

    def restart(self) -> None:
        """Forget the echo path and the alignment (new mode, the microphone restarted)."""
        self._aec.reset()
        self._gate.reset()
        self._ref_pos = None

    def _move(self, pos: int) -> None:
        self._ref_pos = pos
        self._rs.reset()
        self._fifo_n = 0
        self._h_prev = None
        self._aec.reset()
        self._delay.restart()
        self._candidate = None
        self._agree = 0

    def _reference(self, t_adc: float) -> Float32:
        tl = self.timeline
        n = self.block
        latest = tl.end - n - int(self.slack_s * SAMPLE_RATE)  # the newest start that is surely played
        if tl.generation != self._generation or self._ref_pos is None:
            guess = tl.index_of(t_adc + self.lead_s)
            if guess is None or not tl.live:
                return np.zeros(n, dtype=np.float32)
            self._generation = tl.generation
            self._move(min(guess, latest))
        elif self._ref_pos + n > tl.end:
            self.clamps += 1
            self._move(latest)
        elif tl.gaps != self._gaps_seen:
            self._aec.shake()  # the echo moved by about the gap: re-learn it, suppress meanwhile
            self._h_prev = None
        self._gaps_seen = tl.gaps
        assert self._ref_pos is not None
        ratio = 1.0 / (1.0 + self.drift)
        while self._fifo_n < n:
            got: Float32 = self._rs.process(tl.samples(self._ref_pos, n), ratio)
            self._ref_pos += n
            self._fifo[self._fifo_n : self._fifo_n + got.size] = got
            self._fifo_n += got.size
        out = self._fifo[:n].copy()
        self._fifo[: self._fifo_n - n] = self._fifo[n : self._fifo_n]
        self._fifo_n -= n
        return out

    def _track_drift(self, far_active: bool) -> None:
        """Once a second, while the filter cancels well (> 12 dB), see how far its impulse response
        moved and steer the reference's rate so that it stops moving."""
        if far_active:
            self._drift_mic_e += self._aec.mic_energy
            self._drift_err_e += self._aec.error_energy
        self._h_blocks += 1
        if self._h_blocks < 50:
            return
        converged = self._drift_mic_e > 3.0 * self._drift_err_e > 0.0
        self._drift_mic_e = self._drift_err_e = 0.0
        if not converged:
            self._h_prev = None
            self._h_blocks = 0
            return
        h = self._aec.response()
        prev, elapsed = self._h_prev, self._h_blocks * self.block
        self._h_prev, self._h_blocks = h, 0
        if prev is None:
            return
        # Cross-correlate the two responses at 1/16 of a sample: the peak is how far the echo moved.
        up = 16
        corr = np.fft.irfft(h * np.conj(prev), n=2 * self.block * up)
        span = 8 * up
        lags = np.concatenate((corr[-span:], corr[: span + 1]))
        k = int(np.argmax(lags))
        if not 0 < k < lags.size - 1:
            return  # moved too far to be drift
        a, b, c = lags[k - 1], lags[k], lags[k + 1]
        moved = (k - span + (0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c < 0 else 0.0)) / up
        self.drift = float(np.clip(self.drift - 0.7 * moved / elapsed, -0.002, 0.002))

    @property
    def muted(self) -> bool:
        return self.mode == "half-duplex" and self._gate.muted

    def _track_delay(self, mic: Float32, far_active: bool) -> None:
        if self._ref_pos is None:
            return
        self._track_drift(far_active)
        self._delay.add(mic)
        if far_active:
            self._mic_e += self._aec.mic_energy
            self._err_e += self._aec.error_energy
        self._blocks += 1
        if self._blocks % 25:
            return  # twice a second at 20 ms blocks
        mic_e, err_e = self._mic_e, self._err_e
        self._mic_e = self._err_e = 0.0
        found = self._delay.estimate(self.timeline, self._ref_pos - self._fifo_n)
        if found is None or found[1] < 8.0:
            return
        tap = found[0]
        self.tap_s = tap
        inside = 0.004 <= tap <= self._tail_s - 0.06
        # A filter that cancels the echo has found it, whatever a correlation says: periodic voices
        # give correlations several peaks. Only a filter that fails (< 6 dB) may be moved.
        cancelling = mic_e > 0.0 and err_e * 4.0 < mic_e
        if inside or cancelling or mic_e == 0.0:
            self._candidate = None
            self._agree = 0
            return
        if self._candidate is not None and abs(self._candidate - tap) < 0.002:
            self._agree += 1
        else:
            self._candidate, self._agree = tap, 0
        if self._agree >= 2:  # the same place three times in a row (1.5 s)
            latest = self.timeline.end - int(self.slack_s * SAMPLE_RATE)
            self.relocations += 1
            paired = self._ref_pos - self._fifo_n
            self._move(min(paired + round((self.margin_s - tap) * SAMPLE_RATE), latest))

    def process(self, block: npt.NDArray[np.int16], t_adc: float) -> npt.NDArray[np.int16]:
        if self.mode == "off":
            return block
        mic = block.astype(np.float32) * (1.0 / 32768.0)
        if self.mode == "half-duplex":
            # What is audible at the microphone now, with 50 ms to spare so the gate closes early.
            out = self._gate.process(mic, self.timeline.reference(t_adc, block.size + SAMPLE_RATE // 20))
        else:
            ref = self._reference(t_adc)
            out = self._aec.process(mic, ref)
            self._track_delay(mic, float(np.dot(ref, ref)) > 1e-6 * ref.size)
        return np.clip(np.round(out * 32768.0), -32768, 32767).astype(np.int16)
