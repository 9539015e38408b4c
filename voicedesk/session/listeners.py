"""Who hears a session's events: listeners are called in the order they subscribed, and a listener that
raises is logged and skipped, so a broken view never breaks the session."""

from __future__ import annotations

import logging
from collections.abc import Callable

from voicedesk.session import events as se

log = logging.getLogger(__name__)

Listener = Callable[[se.SessionEvent], None]


class Listeners:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add ``listener``; the returned function removes it again."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def emit(self, event: se.SessionEvent) -> None:
        for listener in tuple(self._listeners):  # a listener may unsubscribe while it runs
            try:
                listener(event)
            except Exception:
                log.exception("a session listener failed on %s", event.kind)
