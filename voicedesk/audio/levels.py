"""The level of what was just played or captured, and a short waveform history, fed on the loop side and
polled by the GUI.

``levels()`` is the peak and RMS of the most recent ``LEVEL_WINDOW_S`` of audio fed, about one display
frame: when the sound stops (silence fed, or nothing fed at all for that long) the next read is silence,
so a trace drawn from it falls as fast as what is heard, without a decay ramp. ``reset`` (a playback
flush) makes the next read silence at once. Feeding copies at most one window of samples; reading is one
max and one mean over that window, so a 30 fps poll costs nothing measurable.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from voicedesk.audio.base import SAMPLE_RATE, Levels

LEVEL_WINDOW_S = 0.03
"""The stretch of audio a level reading covers: about one display frame (30 fps)."""


class LevelMeter:
    """The level of the latest ``window_s`` of audio fed, plus ``history_s`` of per-bin peaks.

    Audio arrives in blocks (a microphone block, a read-back of played audio), so a reading stays valid
    until one block length plus ``window_s`` after the last feed: the next block is due by then. Past that
    nothing is being fed (a stopped stream) and the reading is silence.
    """

    def __init__(
        self,
        *,
        window_s: float = LEVEL_WINDOW_S,
        history_s: float = 2.0,
        bins_per_s: int = 100,
        rate: int = SAMPLE_RATE,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate
        self._now = now
        self._window_s = window_s
        self._recent = np.zeros(max(1, round(window_s * rate)), dtype=np.float32)  # |samples|, newest last
        self._recent_n = 0  # how many of _recent were fed since the last reset
        self._valid_until = -float("inf")  # the reading is silence after this time (nothing fed)
        self._cached: Levels | None = None
        self._bin = max(1, rate // bins_per_s)
        self._history = np.zeros(int(history_s * bins_per_s), dtype=np.float32)
        self._hist_pos = 0
        self._partial_peak = 0.0
        self._partial_n = 0

    def feed(self, block: npt.NDArray[np.int16] | npt.NDArray[np.float32]) -> None:
        if block.size == 0:
            return
        x = block.astype(np.float32) * (1.0 / 32768.0) if block.dtype == np.int16 else block
        a = np.abs(x.reshape(-1))
        self._keep_recent(a)
        self._valid_until = self._now() + a.size / self._rate + self._window_s
        self._cached = None
        self._push_history(a)

    def _keep_recent(self, a: npt.NDArray[np.float32]) -> None:
        recent = self._recent
        size = recent.size
        if a.size >= size:
            recent[:] = a[-size:]
        else:
            recent[: size - a.size] = recent[a.size :]
            recent[size - a.size :] = a
        self._recent_n = min(size, self._recent_n + a.size)

    def _push_history(self, a: npt.NDArray[np.float32]) -> None:
        i = 0
        n = a.size
        while i < n:
            take = min(self._bin - self._partial_n, n - i)
            self._partial_peak = max(self._partial_peak, float(a[i : i + take].max()))
            self._partial_n += take
            i += take
            if self._partial_n == self._bin:
                self._history[self._hist_pos % self._history.size] = self._partial_peak
                self._hist_pos += 1
                self._partial_peak = 0.0
                self._partial_n = 0

    def levels(self) -> Levels:
        """Peak and RMS (0..1) of the latest window fed; silence once nothing has been fed for that long."""
        if self._recent_n == 0 or self._now() > self._valid_until:
            return Levels()
        if self._cached is None:
            recent = self._recent[self._recent.size - self._recent_n :]
            peak = float(recent.max())
            rms = float(np.sqrt(np.mean(recent * recent)))
            self._cached = Levels(peak=min(1.0, peak), rms=min(1.0, rms))
        return self._cached

    def history(self) -> npt.NDArray[np.float32]:
        """Peaks (0..1) of the last ``history_s`` in ``1/bins_per_s`` bins, oldest first."""
        size = self._history.size
        start = self._hist_pos % size
        return np.concatenate([self._history[start:], self._history[:start]])

    def reset(self) -> None:
        """Forget everything: the next reading is silence (a flushed playback, a new stream)."""
        self._history[:] = 0
        self._recent[:] = 0
        self._recent_n = 0
        self._valid_until = -float("inf")
        self._cached = None
        self._partial_peak = 0.0
        self._partial_n = 0
