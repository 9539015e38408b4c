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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import numpy.typing as npt

from voicedesk.audio.base import SAMPLE_RATE

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
        self._a2 = 0.9999**2
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
        self._ybuf: Float64 = np.zeros(n, dtype=np.float64)
        self._ola: Float64 = np.zeros(n, dtype=np.float64)
        self._e_psd: Float64 = np.full(n // 2 + 1, 1e-9)
        self._pey = 0.0
        self._pyy = 1e-9
        self.leak = 0.5

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
        self._e_pad[n:] = e
        big_e = np.fft.rfft(self._e_pad)
        x2 = self._x.real**2 + self._x.imag**2
        self._psi = 0.9 * self._psi + 0.1 * (big_e.real**2 + big_e.imag**2)
        phi = np.einsum("pk,pk->k", self._p, x2) + 2.0 * self._psi + 1e-10
        mu = self._p / phi
        # Constrained update: the gradient is cut to n taps so partitions stay linear convolutions.
        grad = np.fft.irfft(mu * np.conj(self._x) * big_e, n=2 * n, axis=1)
        grad[:, n:] = 0.0
        self._w += np.fft.rfft(grad, axis=1)
        self._p *= 1.0 - 0.5 * mu * x2
        out = self._suppress(e, y) if self.suppress else e
        return out.astype(np.float32)

    def _suppress(self, e: Float64, y: Float64) -> Float64:
        """Wiener-like gain from a residual-echo estimate ``leak * |Y|^2`` (Speex's leak regression)."""
        n, h = self.block, self._half
        out = np.empty(n, dtype=np.float64)
        for part in range(2):
            seg = slice(part * h, (part + 1) * h)
            self._ebuf[:h] = self._ebuf[h:]
            self._ebuf[h:] = e[seg]
            self._ybuf[:h] = self._ybuf[h:]
            self._ybuf[h:] = y[seg]
            ef = np.fft.rfft(self._ebuf * self._win)
            yf = np.fft.rfft(self._ybuf * self._win)
            e2 = ef.real**2 + ef.imag**2
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
            gain = np.clip(1.0 - self._overdrive * self.leak * y2 / (self._e_psd + 1e-12), self._floor, 1.0)
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
    """What the speaker played, at 24 kHz, placed on the PortAudio stream clock.

    The playback side appends played audio with the DAC time of its first sample; the capture side
    asks for the reference matching a microphone block's ADC time. Small timestamp jitter is
    ignored (the adaptive filter absorbs it); a drift past ``realign_s`` moves the anchor, which
    ``on_realign`` reports so the canceller can start over.
    """

    def __init__(self, *, capacity_s: float = 4.0, rate: int = SAMPLE_RATE, realign_s: float = 0.008) -> None:
        self.rate = rate
        self._buf: Float32 = np.zeros(int(capacity_s * rate), dtype=np.float32)
        self._end = 0  # samples ever appended
        self._t0: float | None = None  # stream time of sample 0
        self._dev = 0.0
        self._realign_s = realign_s
        self.realigned = 0
        self.on_realign: Callable[[], None] | None = None

    @property
    def end(self) -> int:
        return self._end

    def _append(self, samples: Float32) -> None:
        cap = self._buf.size
        if samples.size >= cap:
            samples = samples[-cap:]
            self._end += samples.size - cap
        start = self._end % cap
        first = min(samples.size, cap - start)
        self._buf[start : start + first] = samples[:first]
        self._buf[: samples.size - first] = samples[first:]
        self._end += samples.size

    def append(self, samples: Float32, t_first: float) -> None:
        if self._t0 is None:
            self._t0 = t_first - self._end / self.rate
        else:
            expected = self._t0 + self._end / self.rate
            gap = t_first - expected
            if gap > 0.05:
                # The output stopped (device switch, restart): the silence in between was played too.
                self._append(np.zeros(int(gap * self.rate), dtype=np.float32))
                expected = self._t0 + self._end / self.rate
                gap = t_first - expected
            self._dev = 0.9 * self._dev + 0.1 * gap
            if abs(self._dev) > self._realign_s or gap < -0.05:
                self._t0 += self._dev if abs(gap) <= 0.05 else gap
                self._dev = 0.0
                self.realigned += 1
                if self.on_realign is not None:
                    self.on_realign()
        self._append(samples)

    def index_of(self, t: float) -> int | None:
        """Timeline index of the sample played at stream time ``t``."""
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
        for i in range(lo, hi, cap):  # at most two pieces because n < cap
            j = min(hi, i + cap)
            s = i % cap
            first = min(j - i, cap - s)
            out[i - i0 : i - i0 + first] = self._buf[s : s + first]
            if first < j - i:
                out[i - i0 + first : j - i0] = self._buf[: j - i - first]
        return out


class DelayEstimator:
    """Finds where the echo sits relative to the timestamp-aligned reference (GCC-PHAT).

    Device timestamps are often off by tens of ms (PulseAudio's ALSA plugin, for one, leaves its
    own buffering out), which would put the echo outside the filter; a correlation of the
    microphone with the reference over the last seconds finds the true offset.
    """

    def __init__(self, *, rate: int = SAMPLE_RATE, window_s: float = 2.0, search_s: float = 0.35) -> None:
        self.rate = rate
        self._decim = 3  # 8 kHz is plenty to locate speech
        self._window = int(window_s * rate)
        self._search = int(search_s * rate / self._decim)
        self._mic: Float32 = np.zeros(self._window, dtype=np.float32)
        self._n = 0
        self._t_end = 0.0

    def add(self, mic: Float32, t_first: float) -> None:
        k = mic.size
        self._mic[:-k] = self._mic[k:]
        self._mic[-k:] = mic
        self._n += k
        self._t_end = t_first + k / self.rate

    def estimate(self, timeline: FarEndTimeline) -> tuple[float, float] | None:
        """(delay of the echo after the reference in s, confidence) or None when undecidable."""
        if self._n < self._window:
            return None
        d = self._decim
        t_start = self._t_end - self._window / self.rate
        pad = self._search * d
        ref = timeline.reference(t_start - pad / self.rate, self._window + 2 * pad)
        if float(np.mean(ref.astype(np.float64) ** 2)) < 1e-7:
            return None  # nothing played: nothing to find
        mic = self._mic.reshape(-1, d).mean(axis=1)
        far = ref[: (ref.size // d) * d].reshape(-1, d).mean(axis=1)
        n = 1 << math.ceil(math.log2(mic.size + far.size))
        cross = np.fft.rfft(mic, n) * np.conj(np.fft.rfft(far, n))
        corr = np.fft.irfft(cross / (np.abs(cross) + 1e-12), n)
        # corr[j] peaks where mic[i + j] ~ far[i]. far starts `search` samples early, so an echo
        # delayed by D sits at j = D - search: j runs over [-2 search, 0] for D in [-search, search].
        s2 = 2 * self._search
        lags = np.concatenate([corr[n - s2 :], corr[:1]])
        peak = int(np.argmax(np.abs(lags)))
        strength = float(np.abs(lags[peak]) / (np.median(np.abs(lags)) + 1e-12))
        return (peak - self._search) * d / self.rate, strength


class EchoControl:
    """Applies the chosen mode to 24 kHz pcm16 microphone blocks, given their ADC time.

    The reference is taken ``lead_s`` ahead of the block's time, so the echo lands a little into
    the filter; ``lead_s`` follows the delay estimator when the timestamps turn out to be off.
    """

    def __init__(self, mode: EchoMode = "aec", *, block: int = 480, lead_s: float = 0.03) -> None:
        self.timeline = FarEndTimeline(realign_s=0.02)
        self.timeline.on_realign = self._realigned
        self.block = block
        self.lead_s = lead_s
        self.margin_s = 0.03  # where the echo should sit in the filter
        self._aec = KalmanEchoCanceller(block)
        self._gate = HalfDuplexGate(block)
        self._delay = DelayEstimator()
        self._blocks = 0
        self._candidate: float | None = None
        self.relocations = 0
        self._ref_pos: int | None = None  # timeline index of the next reference block
        self.mode: EchoMode = mode

    def set_mode(self, mode: EchoMode) -> None:
        if mode not in ECHO_MODES:
            raise ValueError(f"echo mode must be one of {ECHO_MODES}")
        if mode != self.mode:
            self._aec.reset()
            self._gate.reset()
        self.mode = mode

    def _realigned(self) -> None:
        self._aec.reset()
        self._ref_pos = None

    def _reference(self, t_adc: float) -> Float32:
        """The reference block for a microphone block: contiguous from block to block.

        Block timestamps jitter by a few samples; following them would cut the reference into
        pieces that no filter can match, so the position only jumps when it is 10 ms off.
        """
        wanted = self.timeline.index_of(t_adc + self.lead_s)
        if wanted is None:
            return np.zeros(self.block, dtype=np.float32)
        if self._ref_pos is None or abs(wanted - self._ref_pos) > SAMPLE_RATE // 100:
            if self._ref_pos is not None:
                self._aec.reset()
            self._ref_pos = wanted
        out = self.timeline.samples(self._ref_pos, self.block)
        self._ref_pos += self.block
        return out

    @property
    def muted(self) -> bool:
        return self.mode == "half-duplex" and self._gate.muted

    def _track_delay(self, mic: Float32, t_adc: float) -> None:
        self._delay.add(mic, t_adc)
        self._blocks += 1
        if self._blocks % 25:
            return  # twice a second at 20 ms blocks
        found = self._delay.estimate(self.timeline)
        if found is None or found[1] < 8.0:
            return
        delay = found[0]
        # Tap position of the echo with the current lead: keep it inside the filter's span.
        tap = delay + self.lead_s
        tail = self._aec.partitions * self.block / SAMPLE_RATE
        if 0.005 <= tap <= tail - 0.08:
            self._candidate = None
            return
        if self._candidate is not None and abs(self._candidate - delay) < 0.004:
            self.lead_s = self.margin_s - delay
            self.relocations += 1
            self._aec.reset()
            self._ref_pos = None
            self._candidate = None
        else:
            self._candidate = delay

    def process(self, block: npt.NDArray[np.int16], t_adc: float) -> npt.NDArray[np.int16]:
        if self.mode == "off":
            return block
        mic = block.astype(np.float32) * (1.0 / 32768.0)
        self._track_delay(mic, t_adc)
        if self.mode == "half-duplex":
            # What is audible at the microphone now, with 50 ms to spare so the gate closes early.
            now = t_adc + self.lead_s - self.margin_s
            out = self._gate.process(mic, self.timeline.reference(now, block.size + SAMPLE_RATE // 20))
        else:
            out = self._aec.process(mic, self._reference(t_adc))
        return np.clip(np.round(out * 32768.0), -32768, 32767).astype(np.int16)
