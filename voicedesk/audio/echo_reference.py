"""The far-end reference for the echo canceller: what was played, where its echo sits, how the clocks drift.

On real devices the hard part is the reference, not the filter (docs/decisions/0001-echo-canceller.md):
it is paired with the microphone by sample counts, never taken from audio not yet
played, corrected for output underruns and for clock drift between the two devices.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.audio.echo_canceller import KalmanEchoCanceller

Float32 = npt.NDArray[np.float32]
Complex = npt.NDArray[np.complex64]


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

        ``discontinuity``: the output underran since the last append. Through PulseAudio the stream
        times then jump by what really happened to the sound, well within the 3 ms trusted here: forward
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
        self._mic: Float32 = np.zeros(self._window, dtype=np.float32)  # a ring: the newest ends at _n % window
        self._n = 0

    def restart(self) -> None:
        """The pairing of microphone and reference changed: forget the history."""
        self._n = 0

    def add(self, mic: Float32) -> None:
        w, start = self._window, self._n % self._window
        first = min(mic.size, w - start)
        self._mic[start : start + first] = mic[:first]
        self._mic[: mic.size - first] = mic[first:]
        self._n += mic.size

    def estimate(self, timeline: FarEndTimeline, ref_end: int) -> tuple[float, float] | None:
        """(tap in s, confidence) for a history whose last sample was paired with index ``ref_end - 1``."""
        if self._n < self._window:
            return None
        d = self._decim
        ref_start = ref_end - self._window
        far = timeline.samples(ref_start - self._max_tap, self._window + self._max_tap - self._min_tap)
        if float(np.mean(far.astype(np.float64) ** 2)) < 1e-7:
            return None  # nothing played: nothing to find
        mic = np.roll(self._mic, -(self._n % self._window)).reshape(-1, d).mean(axis=1)
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


class DriftTracker:
    """Clock drift between speaker and microphone (two devices, or PulseAudio's adaptive loopback).

    Once a second, while the canceller cancels at all (> 2 dB), it sees how far the echo moved: how far
    the filter's impulse response moved plus how the lag the filter has not followed yet changed (in a
    live room the filter follows a sliding echo slowly), and steers ``drift`` so that it stops moving:
    the reference is read at ``1 + drift`` timeline samples per microphone sample, so the echo stays put
    in the filter instead of sliding out.
    """

    def __init__(self, block: int) -> None:
        self.block = block
        self.drift = 0.0
        self._h_prev: Complex | None = None
        self._h_blocks = 0  # microphone blocks since _h_prev
        self._mic_e = 0.0  # energies of the microphone and the filter's error while the far end plays
        self._err_e = 0.0
        self._lag_num = 0.0  # <e, y'> and <y', y'>: how far the echo sits behind the filter's estimate
        self._lag_den = 0.0
        self._lag_prev: float | None = None

    def forget_response(self) -> None:
        """The filter restarted or the echo path jumped: the next response starts a fresh comparison."""
        self._h_prev = None
        self._lag_prev = None

    def update(self, aec: KalmanEchoCanceller, far_active: bool) -> None:
        """Called after every microphone block the canceller processed."""
        if far_active:
            self._mic_e += aec.mic_energy
            self._err_e += aec.error_energy
            # d(t) = y(t - lag) ~ y - lag * y': the error's part along y' is the lag the filter has
            # not followed yet (in a live room it follows a sliding echo only slowly).
            est = aec.estimate
            slope = est[1:] - est[:-1]
            self._lag_num += float(np.dot(aec.error[1:], slope))
            self._lag_den += float(np.dot(slope, slope))
        self._h_blocks += 1
        if self._h_blocks < 50:
            return
        converged = self._mic_e > 1.5 * self._err_e > 0.0
        lag = -self._lag_num / self._lag_den if self._lag_den > 0.0 else 0.0
        self._mic_e = self._err_e = self._lag_num = self._lag_den = 0.0
        if not converged:
            self._h_prev = self._lag_prev = None
            self._h_blocks = 0
            return
        h = aec.response()
        prev, elapsed = self._h_prev, self._h_blocks * self.block
        lag_prev, self._lag_prev = self._lag_prev, lag
        self._h_prev, self._h_blocks = h, 0
        if prev is None or lag_prev is None:
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
        moved += float(np.clip(lag - lag_prev, -6.0, 6.0))  # where the echo went = filter's move + lag's change
        self.drift = float(np.clip(self.drift - 0.7 * moved / elapsed, -0.002, 0.002))
