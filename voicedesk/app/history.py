"""The history, wired to a session: each finished item stored as it finishes, off the event loop.

A ``HistoryWriter`` owns a thread with its own connection to the store; the loop only queues records
(microseconds), so a slow disk or a WAL checkpoint never holds the microphone or the window. A crash
loses what is queued, which is at most the item in flight.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from voicedesk.history import HistoryError, HistoryStore, default_path
from voicedesk.session import events as se
from voicedesk.session.conversation import Item, item_from_record
from voicedesk.session.journal import read_journal

if TYPE_CHECKING:
    from voicedesk.session.controller import SessionController

log = logging.getLogger(__name__)

_Job = Callable[[HistoryStore], None]


def history_path(data_dir: Path) -> Path:
    return Path(os.environ.get("VOICEDESK_HISTORY") or default_path(data_dir))


def import_journals(store: HistoryStore, journal_dir: Path) -> int:
    """The journals written before the history existed (or while it was off), each imported once."""
    if not journal_dir.is_dir():
        return 0
    imported = 0
    for path in sorted(journal_dir.glob("*.jsonl")):
        try:
            records = read_journal(path)
            started = path.stat().st_mtime
        except OSError as exc:
            log.warning("journal %s not imported: %s", path.name, exc)
            continue
        first = min((float(r.get("created_at") or started) for r in records if isinstance(r, dict)), default=started)
        if store.import_journal(path.name, [r for r in records if isinstance(r, dict)], first):
            imported += 1
    return imported


def items_to_resume(store: HistoryStore, reference: str) -> tuple[str, list[Item]]:
    """A stored conversation's id and its items, to carry into a new session (HistoryError if unknown)."""
    stored = store.conversation(reference)
    items = [item for item in (item_from_record(r) for r in stored.records) if item is not None]
    return stored.summary.id, items


class HistoryWriter:
    """Runs store writes on one thread, in order; ``close`` waits for what is queued."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._opened = threading.Event()
        self.problem: str | None = None
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._thread.start()
        self._opened.wait(10)

    def submit(self, job: _Job) -> None:
        if self.problem is None:
            self._jobs.put(job)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(10)

    def _run(self) -> None:
        try:
            store = HistoryStore(self.path)
        except Exception as exc:
            self.problem = f"the history cannot be opened ({self.path}): {exc}"
            log.warning("%s", self.problem)
            self._opened.set()
            return
        self._opened.set()
        with store:
            while (job := self._jobs.get()) is not None:
                try:
                    job(store)
                except Exception:
                    log.exception("history write failed")


class HistoryRecorder:
    """Stores one controller's conversations: one stored conversation per connect that said anything."""

    def __init__(
        self,
        writer: HistoryWriter,
        *,
        source: str,
        endpoint_kind: str | None = None,
        profile: str | None = None,
    ) -> None:
        self._writer = writer
        self._source = source
        self.endpoint_kind = endpoint_kind
        self.profile = profile
        self.resumed_from: str | None = None
        self.conversation_id: str | None = None
        self._controller: SessionController | None = None
        self._tokens = [0, 0]

    def attach(self, controller: SessionController) -> Callable[[], None]:
        """Follow ``controller``: its finished items, its usage, its journal. Returns the detach function."""
        self._controller = controller
        controller.conversation.on_finished(self.record)

        def on_event(event: se.SessionEvent) -> None:
            if isinstance(event, se.UsageReported):
                self._tokens[0] += event.input_tokens
                self._tokens[1] += event.output_tokens

        return controller.subscribe(on_event)

    def record(self, item: Item) -> None:
        record = item.to_record()
        if self.conversation_id is None:
            self.conversation_id = conversation_id = uuid.uuid4().hex
            profile, kind, source, resumed = self.profile, self.endpoint_kind, self._source, self.resumed_from
            path = self._controller.journal_path if self._controller is not None else None
            journal = path.name if path is not None else None

            def start(store: HistoryStore) -> None:
                store.begin(
                    conversation_id=conversation_id,
                    profile=profile,
                    endpoint_kind=kind,
                    source=source,
                    resumed_from=resumed,
                )
                if journal is not None:  # the same items are in the journal: never import them again
                    store.mark_journal(journal, conversation_id)

            self._writer.submit(start)
        conversation_id = self.conversation_id
        self._writer.submit(lambda store: store.add_item(conversation_id, record))

    def finish(self) -> None:
        """The session ended: the next item starts a new stored conversation."""
        conversation_id, self.conversation_id = self.conversation_id, None
        tokens, self._tokens = tuple(self._tokens), [0, 0]
        if conversation_id is None:
            return

        def finish(store: HistoryStore) -> None:
            with contextlib.suppress(HistoryError):
                store.finish(conversation_id, input_tokens=tokens[0], output_tokens=tokens[1])

        self._writer.submit(finish)
