"""The wire events of a session, both ways, with audio payloads elided: the last ``limit`` kept in memory
(the debug bundle, the window's counters), and every one appended to a JSONL file when one is given
(``ask``'s events.jsonl)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from voicedesk.session import events as se
from voicedesk.session.journal import JsonlWriter

DEFAULT_LIMIT = 5000

EventRecord = dict[str, Any]
"""``{"t": seconds since the log began, "direction": "client" | "server", "event": the wire event}``"""


class EventLog:
    def __init__(self, limit: int = DEFAULT_LIMIT, jsonl_path: Path | None = None) -> None:
        self._recent: deque[EventRecord] = deque(maxlen=limit)
        self._t0 = time.monotonic()
        self._file = JsonlWriter(jsonl_path, fsync=False) if jsonl_path is not None else None

    def on_event(self, event: se.SessionEvent) -> None:
        if isinstance(event, se.RawModelEvent):
            record = {"t": round(time.monotonic() - self._t0, 4), "direction": event.direction, "event": event.data}
            self._recent.append(record)
            if self._file is not None:
                self._file.write(record)

    def __iter__(self) -> Iterator[EventRecord]:
        return iter(self._recent)

    def __len__(self) -> int:
        return len(self._recent)

    def snapshot(self) -> list[EventRecord]:
        return list(self._recent)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
