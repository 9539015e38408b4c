"""Every conversation kept in one SQLite file: conversations, their items, and a full-text index.

Items arrive as the journal's records (``Item.to_record()``), one transaction each, so a crash loses at
most the item in flight (WAL: a committed item survives the process being killed). The file holds what
the person said: created 0600 in a 0700 folder. Search is FTS5 over what was said and what tools did,
newest first, which FTS5 answers from its index without ranking every match.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicedesk.history.schema import migrate
from voicedesk.private_files import private_dir, private_fd

TITLE_CHARS = 80
HIGHLIGHT = ("\u27e6", "\u27e7")  # ⟦ ⟧: never typed by people, so a front end can split on them safely


class HistoryError(ValueError):
    """Something a person asked of the history that cannot be done (unknown or ambiguous id, bad query)."""


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    id: str
    title: str
    started_at: float
    ended_at: float | None
    item_count: int
    profile: str | None = None
    endpoint_kind: str | None = None
    source: str = "window"
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    """Estimated from the usage the responses reported (prices change: an estimate)."""

    @property
    def duration_s(self) -> float | None:
        return None if self.ended_at is None else max(0.0, self.ended_at - self.started_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": self.duration_s,
            "items": self.item_count,
            "profile": self.profile,
            "endpoint": self.endpoint_kind,
            "source": self.source,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "estimated_cost_usd": round(self.cost_usd, 6),
        }


@dataclass(frozen=True, slots=True)
class SearchHit:
    conversation: ConversationSummary
    item_id: str
    role: str | None
    snippet: str
    """The matching text with each match between ``HIGHLIGHT`` marks."""


@dataclass(frozen=True, slots=True)
class StoredConversation:
    summary: ConversationSummary
    records: list[dict[str, Any]]
    """The items in order, as the journal writes them (``Item.to_record()``)."""


def default_path(data_dir: Path) -> Path:
    return data_dir / "history.sqlite3"


def title_from(text: str) -> str:
    """The first sentence of what the person said, at most TITLE_CHARS, cut at a word."""
    flat = " ".join(text.split())
    sentence = re.split(r"(?<=[.!?])\s", flat, maxsplit=1)[0]
    if len(sentence) <= TITLE_CHARS:
        return sentence
    cut = sentence[: TITLE_CHARS - 1].rsplit(" ", 1)[0]
    return cut + "…"


def fts_query(text: str) -> str:
    """A person's words as an FTS5 query: every word must occur, the last may be a prefix (typing)."""
    words = re.findall(r"\w+", text)
    if not words:
        raise HistoryError("search for at least one word")
    quoted = ['"' + word.replace('"', '""') + '"' for word in words]
    if text[-1:].isalnum():  # still typing the last word
        quoted[-1] += "*"
    return " ".join(quoted)


def _private_file(path: Path) -> None:
    """Create the database file 0600 (and its folders 0700) before SQLite opens it: never readable by others."""
    private_dir(path.parent)
    os.close(private_fd(path, os.O_RDWR))


class HistoryStore:
    """One connection, used from one thread at a time (the app's loop thread, or a CLI command)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        _private_file(path)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL: a committed item survives a crash of the process (not a power cut), and commits stay
        # cheap enough to make on the loop. The -wal and -shm files SQLite creates follow the umask: 0600 too.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA secure_delete=ON")  # a deleted conversation's text is overwritten, not left
        self._db.execute("PRAGMA busy_timeout=2000")
        old_umask = os.umask(0o077)
        try:
            with self._transaction():
                migrate(self._db)
            self._db.execute("SELECT count(*) FROM conversations").fetchone()  # creates -wal/-shm now
        finally:
            os.umask(old_umask)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- writing ----------------------------------------------------------------------------------

    def begin(
        self,
        *,
        started_at: float | None = None,
        profile: str | None = None,
        endpoint_kind: str | None = None,
        source: str = "window",
        resumed_from: str | None = None,
        conversation_id: str | None = None,
    ) -> str:
        conversation_id = conversation_id or uuid.uuid4().hex
        with self._transaction() as db:
            db.execute(
                "INSERT INTO conversations (id, started_at, profile, endpoint_kind, source, resumed_from)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, started_at or time.time(), profile, endpoint_kind, source, resumed_from),
            )
        return conversation_id

    def add_item(self, conversation_id: str, record: Mapping[str, Any]) -> None:
        """Store a finished item (or replace it: an item finishes again when a late transcript arrives)."""
        with self._transaction() as db:
            self._insert_item(db, conversation_id, record)
            db.execute("UPDATE conversations SET ended_at = ? WHERE id = ?", (time.time(), conversation_id))

    def _insert_item(self, db: sqlite3.Connection, conversation_id: str, record: Mapping[str, Any]) -> None:
        text = str(record.get("text") or "")
        transcript = str(record.get("transcript") or "")
        db.execute(
            "INSERT INTO items (conversation_id, item_id, type, role, status, text, transcript, heard,"
            " name, arguments, output, created_at, record) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (conversation_id, item_id) DO UPDATE SET status=excluded.status, text=excluded.text,"
            " transcript=excluded.transcript, heard=excluded.heard, name=excluded.name,"
            " arguments=excluded.arguments, output=excluded.output, record=excluded.record",
            (
                conversation_id,
                str(record.get("id") or uuid.uuid4().hex),
                str(record.get("type") or "other"),
                record.get("role"),
                str(record.get("status") or ""),
                text,
                transcript,
                record.get("heard_transcript"),
                record.get("name"),
                record.get("arguments"),
                record.get("output"),
                float(record.get("created_at") or time.time()),
                json.dumps(dict(record), ensure_ascii=False),
            ),
        )
        if record.get("role") == "user" and record.get("type") == "message" and (transcript or text):
            db.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND title IS NULL",
                (title_from(transcript or text), conversation_id),
            )

    def add_items(self, conversation_id: str, records: Iterable[Mapping[str, Any]]) -> None:
        with self._transaction() as db:
            for record in records:
                self._insert_item(db, conversation_id, record)

    def finish(
        self,
        conversation_id: str,
        *,
        ended_at: float | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost_usd: float = 0.0,
    ) -> None:
        """The conversation went on until ``ended_at``; add a response's usage to its totals."""
        with self._transaction() as db:
            db.execute(
                "UPDATE conversations SET ended_at = ?, input_tokens = input_tokens + ?,"
                " output_tokens = output_tokens + ?, cost_usd = cost_usd + ? WHERE id = ?",
                (ended_at or time.time(), input_tokens, output_tokens, cost_usd, conversation_id),
            )

    def rename(self, reference: str, title: str) -> str:
        conversation_id = self.resolve(reference)
        title = " ".join(title.split())
        if not title:
            raise HistoryError("a title needs at least one character")
        with self._transaction() as db:
            db.execute("UPDATE conversations SET title = ?, title_custom = 1 WHERE id = ?", (title, conversation_id))
        return conversation_id

    def add_image(self, conversation_id: str, sha256: str, mime: str, data: bytes) -> None:
        """An image shared in the conversation (once per content: a second share of it costs nothing)."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO images (conversation_id, sha256, mime, data) VALUES (?, ?, ?, ?)",
                (conversation_id, sha256, mime, data),
            )

    def images(self, reference: str) -> dict[str, bytes]:
        """A conversation's images by sha256."""
        conversation_id = self.resolve(reference)
        rows = self._db.execute("SELECT sha256, data FROM images WHERE conversation_id = ?", (conversation_id,))
        return {str(row[0]): bytes(row[1]) for row in rows}

    def add_audio(self, conversation_id: str, folder: Path) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO audio (conversation_id, folder, added_at) VALUES (?, ?, ?)",
                (conversation_id, str(folder), time.time()),
            )

    def audio_folders(self, reference: str) -> list[Path]:
        """The folders of a conversation's kept audio, oldest first."""
        conversation_id = self.resolve(reference)
        rows = self._db.execute(
            "SELECT folder FROM audio WHERE conversation_id = ? ORDER BY added_at", (conversation_id,)
        ).fetchall()
        return [Path(row[0]) for row in rows]

    def delete(self, reference: str) -> tuple[str, list[Path]]:
        """Delete a conversation and its items for good (the index and the file's free pages too). Returns
        its id and the folders of its audio, for the caller to remove."""
        conversation_id = self.resolve(reference)
        folders = self.audio_folders(conversation_id)
        with self._transaction() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        return conversation_id, folders

    def prune(self, older_than: float) -> tuple[list[str], list[Path]]:
        """Delete the conversations that ended (or started, if never ended) before ``older_than``; returns
        their ids and their audio folders, for the caller to remove."""
        with self._transaction() as db:
            gone = [
                row[0]
                for row in db.execute(
                    "SELECT id FROM conversations WHERE coalesce(ended_at, started_at) < ?", (older_than,)
                )
            ]
            folders = [
                Path(row[0])
                for c in gone
                for row in db.execute("SELECT folder FROM audio WHERE conversation_id = ?", (c,))
            ]
            db.executemany("DELETE FROM conversations WHERE id = ?", [(c,) for c in gone])
        return gone, folders

    # --- reading ----------------------------------------------------------------------------------

    def resolve(self, reference: str) -> str:
        """A full id, a unique prefix of one, or ``last`` (the most recent conversation)."""
        reference = reference.strip().lower()
        if reference == "last":
            row = self._db.execute("SELECT id FROM conversations ORDER BY started_at DESC LIMIT 1").fetchone()
            if row is None:
                raise HistoryError("there is no conversation in the history yet")
            return str(row[0])
        if not re.fullmatch(r"[0-9a-f]{1,32}", reference):
            raise HistoryError(f"{reference!r} is not a conversation id (hexadecimal, or 'last')")
        rows = self._db.execute(
            "SELECT id FROM conversations WHERE id >= ? AND id < ? LIMIT 2", (reference, reference + "g")
        ).fetchall()
        if not rows:
            raise HistoryError(f"no conversation has an id starting with {reference}")
        if len(rows) > 1:
            raise HistoryError(f"more than one conversation has an id starting with {reference}: give more of it")
        return str(rows[0][0])

    def conversations(self, *, limit: int = 200, offset: int = 0) -> list[ConversationSummary]:
        """The newest first."""
        rows = self._db.execute(
            f"SELECT {_SUMMARY_COLUMNS} FROM conversations c ORDER BY c.started_at DESC LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()
        return [_summary(row) for row in rows]

    def conversation(self, reference: str) -> StoredConversation:
        conversation_id = self.resolve(reference)
        row = self._db.execute(
            f"SELECT {_SUMMARY_COLUMNS} FROM conversations c WHERE c.id = ?", (conversation_id,)
        ).fetchone()
        records = [
            json.loads(r[0])
            for r in self._db.execute(
                "SELECT record FROM items WHERE conversation_id = ? ORDER BY seq", (conversation_id,)
            )
        ]
        return StoredConversation(_summary(row), records)

    def search(self, text: str, *, limit: int = 50) -> list[SearchHit]:
        """Items matching every word of ``text`` (the last word as a prefix), the newest first."""
        query = fts_query(text)
        try:
            rows = self._db.execute(
                "SELECT i.item_id, i.role, snippet(items_fts, -1, ?, ?, '…', 12) AS snip,"
                f" {_SUMMARY_COLUMNS} FROM items_fts JOIN items i ON i.seq = items_fts.rowid"
                " JOIN conversations c ON c.id = i.conversation_id"
                " WHERE items_fts MATCH ? ORDER BY items_fts.rowid DESC LIMIT ?",
                (*HIGHLIGHT, query, limit),
            ).fetchall()
        except sqlite3.OperationalError as error:
            raise HistoryError(f"cannot search for {text!r}: {error}") from None
        return [SearchHit(_summary(row), row["item_id"], row["role"], row["snip"]) for row in rows]

    def count(self) -> tuple[int, int]:
        """Conversations and items stored."""
        conversations = self._db.execute("SELECT count(*) FROM conversations").fetchone()[0]
        items = self._db.execute("SELECT count(*) FROM items").fetchone()[0]
        return int(conversations), int(items)

    # --- the journals written before the history existed -----------------------------------------

    def imported_journal_names(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT name FROM imported_journals")}

    def mark_journal(self, name: str, conversation_id: str) -> None:
        """A journal whose items are stored already (written beside the history): never import it."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO imported_journals (name, conversation_id) VALUES (?, ?)", (name, conversation_id)
            )

    def import_journal(self, name: str, records: list[dict[str, Any]], started_at: float) -> str | None:
        """Store one journal file's records as a conversation, once per file name (None: already done)."""
        if self._db.execute("SELECT 1 FROM imported_journals WHERE name = ?", (name,)).fetchone():
            return None
        conversation_id = uuid.uuid4().hex
        ended = max((float(r.get("created_at") or started_at) for r in records), default=started_at)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO conversations (id, started_at, ended_at, source) VALUES (?, ?, ?, 'journal')",
                (conversation_id, started_at, ended),
            )
            for record in records:
                self._insert_item(db, conversation_id, record)
            db.execute("INSERT INTO imported_journals (name, conversation_id) VALUES (?, ?)", (name, conversation_id))
        return conversation_id


_SUMMARY_COLUMNS = (
    "c.id, coalesce(c.title, '') AS title, c.started_at, c.ended_at, c.profile, c.endpoint_kind, c.source,"
    " c.input_tokens, c.output_tokens, c.cost_usd, c.item_count"
)


def _summary(row: sqlite3.Row) -> ConversationSummary:
    return ConversationSummary(
        id=row["id"],
        title=row["title"] or "(nothing said)",
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        item_count=row["item_count"],
        profile=row["profile"],
        endpoint_kind=row["endpoint_kind"],
        source=row["source"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        cost_usd=row["cost_usd"],
    )
