"""The wire events of a session, both ways, with audio payloads elided: the last ``limit`` (and at most
``max_bytes``) kept in memory (the debug bundle, the window's counters), and every one appended to a
JSONL file when one is given (``ask``'s events.jsonl)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from voicedesk.session import events as se
from voicedesk.session.journal import JsonlWriter

DEFAULT_LIMIT = 5000
DEFAULT_BYTES = 32 * 1024 * 1024
"""Memory the kept events may hold at most (each event's long strings are shortened before it comes here)."""

EventRecord = dict[str, Any]
"""``{"t": seconds since the log began, "direction": "client" | "server", "event": the wire event}``"""


class EventLog:
    def __init__(
        self, limit: int = DEFAULT_LIMIT, jsonl_path: Path | None = None, *, max_bytes: int = DEFAULT_BYTES
    ) -> None:
        self._recent: deque[tuple[EventRecord, int]] = deque()
        self._limit = limit
        self._max_bytes = max_bytes
        self.bytes = 0
        self._t0 = time.monotonic()
        self._file = JsonlWriter(jsonl_path, fsync=False) if jsonl_path is not None else None

    def on_event(self, event: se.SessionEvent) -> None:
        if isinstance(event, se.RawModelEvent):
            record = {"t": round(time.monotonic() - self._t0, 4), "direction": event.direction, "event": event.data}
            self._recent.append((record, event.size))
            self.bytes += event.size
            while len(self._recent) > self._limit or (self.bytes > self._max_bytes and len(self._recent) > 1):
                self.bytes -= self._recent.popleft()[1]
            if self._file is not None:
                self._file.write(record)

    def __iter__(self) -> Iterator[EventRecord]:
        return (record for record, _ in self._recent)

    def __len__(self) -> int:
        return len(self._recent)

    def snapshot(self) -> list[EventRecord]:
        return [record for record, _ in self._recent]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
