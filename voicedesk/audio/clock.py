"""A simulated playback device: a queue drained by the clock, for the null and WAV-file sinks.

Nothing runs in the background. Every query first "plays" what the elapsed time allows:
``24000 * speed`` samples per second while audio is queued; during an underrun time passes and nothing
plays, exactly like a device outputting silence. ``speed=math.inf`` plays everything the moment it is
written. Played audio is handed to ``on_played`` in order, so a file sink can record what was heard.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from voicedesk.audio.base import SAMPLE_RATE, Levels, Pcm16, levels_of
from voicedesk.audio.levels import LEVEL_WINDOW_S

FADE_SAMPLES = 120
"""A flush fades out over the next 5 ms of queued audio instead of cutting (a cut clicks)."""
LEVEL_WINDOW_SAMPLES = round(LEVEL_WINDOW_S * SAMPLE_RATE)
"""levels() reports the last 30 ms played (one display frame), and silence once nothing has played for that
long or the queue was flushed."""


class PlaybackClock:
    """The accounting of a sink: what is queued, what has been played, at what pace."""

    def __init__(
        self,
        speed: float = 1.0,
        *,
        on_played: Callable[[Pcm16], None] | None = None,
        now: Callable[[], float] = time.monotonic,
        fade_samples: int = FADE_SAMPLES,
    ) -> None:
        if not speed > 0:  # also refuses NaN
            raise ValueError(f"speed must be positive, got {speed}")
        self._rate = SAMPLE_RATE * speed
        self._on_played = on_played
        self._now = now
        self._fade_samples = fade_samples
        self._queue: deque[Pcm16] = deque()
        self._head = 0  # samples of _queue[0] already played
        self._buffered = 0
        self._played = 0
        self._running = False
        self._last_t = 0.0
        self._credit = 0.0  # fractional samples the elapsed time has paid for
        self._recent: Pcm16 = np.zeros(0, dtype=np.int16)
        self._last_sound_t = -math.inf
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def running(self) -> bool:
        return self._running

    @property
    def played_samples(self) -> int:
        self.advance()
        return self._played

    @property
    def buffered_samples(self) -> int:
        self.advance()
        return self._buffered

    def start(self) -> None:
        if not self._running:
            self._running = True
            self._last_t = self._now()
            self._credit = 0.0
            self.advance()  # at infinite speed, what was queued before start plays now

    def stop(self) -> None:
        """Play what the time so far allowed, then drop the rest (a closed device plays nothing)."""
        self.advance()
        self._running = False
        self._drop_queue()
        self._wake_waiters()

    def write(self, pcm: Pcm16) -> None:
        self.advance()  # the time before this write was spent on the old queue (or in underrun)
        if pcm.size:
            self._queue.append(np.array(pcm, dtype=np.int16, copy=True).ravel())
            self._buffered += pcm.size
        self.advance()

    def flush(self) -> None:
        """The next FADE_SAMPLES of the queue play faded out, at once; the rest is dropped. The level reads
        silence from now on: an interrupted voice is shown silent at the next frame, fade or not."""
        self.advance()
        if self._running and self._buffered:
            tail = self._take(min(self._fade_samples, self._buffered))
            ramp = np.linspace(1.0, 0.0, tail.size, dtype=np.float32)
            self._emit(np.round(tail * ramp).astype(np.int16))
        self._recent = np.zeros(0, dtype=np.int16)
        self._last_sound_t = -math.inf
        self._drop_queue()
        self._wake_waiters()

    def levels(self) -> Levels:
        self.advance()
        quiet_for = self._now() - self._last_sound_t
        if not self._running or (self._buffered == 0 and quiet_for * SAMPLE_RATE > LEVEL_WINDOW_SAMPLES):
            return Levels()
        return levels_of(self._recent)

    async def drained(self) -> None:
        """Return once nothing is queued (played, flushed or stopped). RuntimeError if never started."""
        loop = asyncio.get_running_loop()
        while True:
            self.advance()
            if self._buffered == 0:
                return
            if not self._running:
                raise RuntimeError("the sink is not started: its queue would never drain")
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                # Sleep about as long as the queue lasts; flush/stop wake us early, a write makes us loop.
                await asyncio.wait([waiter], timeout=self._buffered / self._rate + 0.001)
            finally:
                self._waiters.remove(waiter)
                waiter.cancel()

    def advance(self) -> None:
        """Play what the time since the last call paid for."""
        t = self._now()
        elapsed = max(0.0, t - self._last_t)
        self._last_t = t
        if not self._running or not self._buffered:
            self._credit = 0.0  # an underrun: time passes, nothing plays, nothing is owed
            return
        if math.isinf(self._rate):
            count = self._buffered
            leftover = 0.0
        else:
            self._credit += elapsed * self._rate
            # The epsilon absorbs float error in time differences (0.05 s must pay 1200, not 1199.999).
            count = min(int(self._credit + 1e-6), self._buffered)
            self._credit -= count
            leftover = self._credit
        if count:
            self._emit(self._take(count))
        if not self._buffered:
            # Ran dry part-way through the interval: the last sample played `leftover` samples ago.
            self._last_sound_t = t if math.isinf(self._rate) else t - leftover / self._rate
            self._credit = 0.0
        elif count:
            self._last_sound_t = t

    def _take(self, count: int) -> Pcm16:
        pieces: list[Pcm16] = []
        remaining = count
        while remaining:
            chunk = self._queue[0]
            piece = chunk[self._head : self._head + remaining]
            pieces.append(piece)
            remaining -= piece.size
            self._head += piece.size
            if self._head == chunk.size:
                self._queue.popleft()
                self._head = 0
        self._buffered -= count
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    def _emit(self, pcm: Pcm16) -> None:
        self._played += pcm.size
        if pcm.size >= LEVEL_WINDOW_SAMPLES:
            self._recent = pcm[-LEVEL_WINDOW_SAMPLES:]
        else:
            self._recent = np.concatenate([self._recent[pcm.size - LEVEL_WINDOW_SAMPLES :], pcm])
        if self._on_played is not None:
            self._on_played(pcm)

    def _drop_queue(self) -> None:
        self._queue.clear()
        self._head = 0
        self._buffered = 0
        self._credit = 0.0

    def _wake_waiters(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
