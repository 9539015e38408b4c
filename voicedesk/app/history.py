"""The history, wired to a session: each finished item stored as it finishes, off the event loop.

A ``HistoryWriter`` owns a thread with its own connection to the store; the loop only queues records
(microseconds), so a slow disk or a WAL checkpoint never holds the microphone or the window. A crash
loses what is queued, which is at most the item in flight.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from voicedesk.app import exports, recordings
from voicedesk.app.pricing import estimate_cost
from voicedesk.history import HistoryError, HistoryStore, StoredConversation, default_path
from voicedesk.session import events as se
from voicedesk.session.conversation import Item, item_from_record
from voicedesk.session.items import ImagePart, with_image_data
from voicedesk.session.journal import read_journal

if TYPE_CHECKING:
    from voicedesk.session.controller import SessionController

log = logging.getLogger(__name__)

_Job = Callable[[HistoryStore], object]


def history_path(data_dir: Path) -> Path:
    return Path(os.environ.get("VOICEDESK_HISTORY") or default_path(data_dir))


def import_journals(store: HistoryStore, journal_dir: Path) -> int:
    """The journals written before the history existed (or while it was off), each imported once."""
    if not journal_dir.is_dir():
        return 0
    imported = 0
    done = store.imported_journal_names()
    for path in sorted(journal_dir.glob("*.jsonl")):
        # Once each; never the journal of a process still running (this one, or a window open while the
        # history command runs): that process stores those items itself.
        if path.name in done or recordings.process_alive(path.stem.rsplit("-", 1)[-1]):
            continue
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


def stored_items(stored: StoredConversation, images: dict[str, bytes] | None = None) -> list[Item]:
    """The items of a stored conversation; with ``images`` (the store's, by sha256) their images' bytes too."""
    items = [item for item in (item_from_record(r) for r in stored.records) if item is not None]
    return items if images is None else [with_image_data(item, images.get) for item in items]


def items_to_resume(store: HistoryStore, reference: str) -> tuple[str, list[Item]]:
    """A stored conversation's id and its items (images included), to carry into a new session (HistoryError
    if unknown)."""
    stored = store.conversation(reference)
    return stored.summary.id, stored_items(stored, store.images(stored.summary.id))


def export_text(stored: StoredConversation, kind: Literal["md", "json"], images: dict[str, bytes] | None = None) -> str:
    """A stored conversation as Markdown (its title as heading; ``images`` embedded as data URLs, so the text
    is whole wherever it goes) or JSON (with its summary)."""
    items = stored_items(stored, images)
    if kind == "md":
        return exports.conversation_markdown(items, title=stored.summary.title)
    payload = json.loads(exports.conversation_json(items))
    payload["conversation"] = stored.summary.to_json()
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def delete_conversation(store: HistoryStore, reference: str) -> str:
    """Delete a stored conversation and its kept audio for good; returns its id."""
    conversation_id, folders = store.delete(reference)
    for folder in folders:
        recordings.discard(folder)
    return conversation_id


def apply_retention(store: HistoryStore, data_dir: Path, days: int) -> int:
    """Delete conversations (and their audio) older than ``days`` (0: keep everything), and recordings a
    crashed run left behind; returns how many conversations went."""
    gone: list[str] = []
    if days > 0:
        gone, folders = store.prune(time.time() - days * 86400)
        for folder in folders:
            recordings.discard(folder)
    recordings.clean_up(data_dir, days)
    return len(gone)


class HistoryWriter:
    """Runs store writes on one thread, in order; ``close`` waits for what is queued."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.problem: str | None = None
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._thread.start()  # the store opens on the thread: start-up never waits for the file

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
            return
        with store:
            while (job := self._jobs.get()) is not None:
                try:
                    job(store)
                except Exception:
                    log.exception("history write failed")


def _image_job(conversation_id: str, image: ImagePart) -> _Job:
    return lambda store: store.add_image(conversation_id, image.sha256, image.mime, image.data)


class SessionHistory:
    """Stores the conversations of the runtime's controllers: one stored conversation per controller (a
    reconnect carries the conversation, so it continues), begun at its first finished item; a resumed
    conversation goes on in its stored one."""

    def __init__(self, path: Path, *, source: str, journal_dir: Path | None = None) -> None:
        self.writer = HistoryWriter(path)
        self._source = source
        self.profile: str | None = None
        self.conversation_id: str | None = None
        self._controller: SessionController | None = None
        self._endpoint_kind: str | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._marked_journal: str | None = None
        if journal_dir is not None:
            self.writer.submit(lambda store: log.info("%d journals imported", import_journals(store, journal_dir)))

    @property
    def problem(self) -> str | None:
        return self.writer.problem

    def attach(self, controller: SessionController, endpoint_kind: str) -> None:
        """A new controller: a new conversation (stored once something is said)."""
        self.detach()
        self._controller, self._endpoint_kind, self.conversation_id = controller, endpoint_kind, None

        def finished(item: Item) -> None:
            if self._controller is controller:
                self._record(item)

        def usage(event: se.SessionEvent) -> None:
            if isinstance(event, se.UsageReported) and self._controller is controller and self.conversation_id:
                conversation_id, used_in, used_out = self.conversation_id, event.input_tokens, event.output_tokens
                cost = estimate_cost(controller.settings.model, used_in, used_out, event.details)
                self.writer.submit(
                    lambda store: store.finish(
                        conversation_id, input_tokens=used_in, output_tokens=used_out, cost_usd=cost
                    )
                )

        controller.conversation.on_finished(finished)
        self._unsubscribe = controller.subscribe(usage)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = self._controller = None

    def load(self, reference: str) -> tuple[str, list[Item]]:
        """A stored conversation's id and items, to resume it (then set ``conversation_id`` to go on storing
        into it). Reads on the caller's thread: a query of milliseconds. HistoryError if unknown."""
        if self.writer.problem is not None:
            raise HistoryError(self.writer.problem)
        with HistoryStore(self.writer.path) as store:
            return items_to_resume(store, reference)

    def _record(self, item: Item) -> None:
        record = item.to_record()
        if self.conversation_id is None:
            self.conversation_id = conversation_id = uuid.uuid4().hex
            profile, kind, source = self.profile, self._endpoint_kind, self._source
            self.writer.submit(
                lambda store: store.begin(
                    conversation_id=conversation_id, profile=profile, endpoint_kind=kind, source=source
                )
            )
        conversation_id = self.conversation_id
        for image in item.images:
            if image.data:  # before the item that names it
                self.writer.submit(_image_job(conversation_id, image))
        path = self._controller.journal_path if self._controller is not None else None
        if path is not None and path.name != self._marked_journal:
            # Each connect writes a journal holding these same items: never import it later.
            self._marked_journal = journal = path.name
            self.writer.submit(lambda store: store.mark_journal(journal, conversation_id))
        self.writer.submit(lambda store: store.add_item(conversation_id, record))

    def close(self) -> None:
        """Stop following the controller and write what is queued."""
        self.detach()
        self.writer.close()
