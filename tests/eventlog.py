"""One event log for the tests that drive a session: what the controller reported, the wire events among it,
and waiting until one of them arrives.

Async tests ``await log.wait_for(se.AudioChunk)``: a waiter wakes when an event is appended, never on a
timer. Qt tests wait by spinning Qt (``qtbot.waitUntil``), which an ``await`` would not do, so they take a
predicate instead: ``qtbot.waitUntil(log.seen(se.AgentEnd), timeout=...)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from voicedesk.session import events as se

E = TypeVar("E")
T = TypeVar("T")
WireEvent = dict[str, Any]


def _any(_event: object) -> bool:
    return True


class _EventList(list[se.SessionEvent]):
    """A list that tells its log about every append: fixtures append to ``log.events`` directly."""

    def __init__(self, on_append: Callable[[], None]) -> None:
        super().__init__()
        self._on_append = on_append

    def append(self, event: se.SessionEvent) -> None:
        super().append(event)
        self._on_append()


class EventLog:
    """Session events in arrival order; the raw wire events are the ``RawModelEvent`` ones among them
    (the controller reports those when ``raw_events`` is on)."""

    def __init__(self) -> None:
        self.events: list[se.SessionEvent] = _EventList(self._appended)
        self._next_append: asyncio.Event | None = None  # set by the next append, then replaced

    def record(self, event: se.SessionEvent) -> None:
        """A session listener: ``controller.subscribe(log.record)``."""
        self.events.append(event)

    # --- looking ---------------------------------------------------------------------------

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def first(self, kind: type[E], predicate: Callable[[E], bool] = _any, *, start: int = 0) -> E | None:
        """The first event of ``kind`` from index ``start`` on that satisfies ``predicate``, or None."""
        return next((e for e in self.events[start:] if isinstance(e, kind) and predicate(e)), None)

    def seen(self, kind: type[E], predicate: Callable[[E], bool] = _any) -> Callable[[], bool]:
        """A condition for ``qtbot.waitUntil``: an event of ``kind`` satisfying ``predicate`` has arrived."""
        return lambda: self.first(kind, predicate) is not None

    def wire(self, direction: se.Direction) -> list[WireEvent]:
        """Raw wire events in one direction, as they went over the socket."""
        return [e.data for e in self.events if isinstance(e, se.RawModelEvent) and e.direction == direction]

    @property
    def sent(self) -> list[WireEvent]:
        return self.wire("client")

    @property
    def received(self) -> list[WireEvent]:
        return self.wire("server")

    def sent_types(self) -> list[str]:
        return [str(e.get("type", "")) for e in self.sent]

    # --- waiting ---------------------------------------------------------------------------

    async def wait_until(self, find: Callable[[], T | None], within: float, what: str) -> T:
        """The first non-None answer of ``find``, asked now and after each append; TimeoutError after
        ``within`` seconds, naming ``what`` was awaited."""
        try:
            async with asyncio.timeout(within):
                while (found := find()) is None:
                    # Taken before awaiting, with nothing else running in between: no append is missed.
                    await self._wakeup().wait()
                return found
        except TimeoutError:
            raise TimeoutError(f"{what}: nothing within {within} s") from None

    async def wait_for(
        self, kind: type[E], predicate: Callable[[E], bool] = _any, within: float = 15.0, start: int = 0
    ) -> E:
        """The first event of ``kind`` from index ``start`` on that satisfies ``predicate``."""
        scan = self._scanner(kind, predicate, start)
        return await self.wait_until(scan, within, kind.__name__)

    async def wait_sent(self, event_type: str, within: float = 10.0) -> WireEvent:
        """The first client event of ``event_type`` sent so far or from now on."""

        def is_it(event: se.RawModelEvent) -> bool:
            return event.direction == "client" and event.data.get("type") == event_type

        scan = self._scanner(se.RawModelEvent, is_it, 0)
        raw = await self.wait_until(scan, within, f"sent {event_type}")
        return raw.data

    def _scanner(self, kind: type[E], predicate: Callable[[E], bool], start: int) -> Callable[[], E | None]:
        """``first`` that looks only at what arrived since its last look (a long answer is thousands of events)."""
        scanned = start

        def scan() -> E | None:
            nonlocal scanned
            found = self.first(kind, predicate, start=scanned)
            scanned = len(self.events)
            return found

        return scan

    def _wakeup(self) -> asyncio.Event:
        if self._next_append is None:
            self._next_append = asyncio.Event()
        return self._next_append

    def _appended(self) -> None:
        if self._next_append is not None:
            self._next_append.set()  # wakes every waiter; each takes a fresh event for the next append
            self._next_append = None
