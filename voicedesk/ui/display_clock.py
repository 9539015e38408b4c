"""The window's one display clock: a single QTimer whose ticks drive everything that is redrawn on a
schedule rather than on an event (the waveform, the level meters, the status line, the coalesced
conversation and event-inspector updates).

One timer instead of one per view (friture's lesson): the views wake up together, so the window is
repainted once per frame instead of at unrelated moments, and an idle view costs one integer test per tick.
Each subscriber says how often it wants to run; the clock calls it on every n-th tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer

log = logging.getLogger(__name__)
FPS = 30
TICK_MS = 1000 // FPS

Callback = Callable[[], None]


@dataclass(slots=True)
class _Subscriber:
    callback: Callback
    every: int  # ticks between calls


class DisplayClock(QObject):
    def __init__(self, parent: QObject | None = None, *, fps: int = FPS) -> None:
        super().__init__(parent)
        self.tick_ms = 1000 // fps
        self.ticks = 0
        self._subscribers: list[_Subscriber] = []
        self._timer = QTimer(self)
        # A precise timer: a coarse one drifts by up to 5 % and beats against the audio's own pace.
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(self.tick_ms)
        self._timer.timeout.connect(self.tick)

    def every(self, interval_ms: int, callback: Callback) -> Callback:
        """Call ``callback`` about every ``interval_ms`` (at least once per tick); returns an unsubscriber."""
        subscriber = _Subscriber(callback, max(1, round(interval_ms / self.tick_ms)))
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def tick(self) -> None:
        self.ticks += 1
        for subscriber in tuple(self._subscribers):  # a callback may unsubscribe itself
            if self.ticks % subscriber.every == 0:
                try:
                    subscriber.callback()
                except Exception:  # one broken view must not stop the others
                    log.exception("display clock subscriber failed")
