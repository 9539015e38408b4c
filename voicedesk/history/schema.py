"""The history database's schema, versioned with ``PRAGMA user_version``: each migration runs once, in order."""

from __future__ import annotations

import sqlite3

_MIGRATIONS: list[str] = [
    # 1: conversations, items, a full-text index kept in step by triggers, imported journals.
    """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        title TEXT,
        title_custom INTEGER NOT NULL DEFAULT 0,
        profile TEXT,
        endpoint_kind TEXT,
        source TEXT NOT NULL DEFAULT 'window',
        resumed_from TEXT,
        started_at REAL NOT NULL,
        ended_at REAL,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        item_count INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX conversations_by_start ON conversations (started_at);
    CREATE TABLE items (
        seq INTEGER PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        item_id TEXT NOT NULL,
        type TEXT NOT NULL,
        role TEXT,
        status TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        transcript TEXT NOT NULL DEFAULT '',
        heard TEXT,
        name TEXT,
        arguments TEXT,
        output TEXT,
        created_at REAL NOT NULL,
        record TEXT NOT NULL,
        UNIQUE (conversation_id, item_id)
    );
    CREATE VIRTUAL TABLE items_fts USING fts5 (
        text, transcript, name, arguments, output,
        content='items', content_rowid='seq', tokenize='unicode61 remove_diacritics 2', prefix='1 2 3'
    );
    CREATE TRIGGER items_added AFTER INSERT ON items BEGIN
        INSERT INTO items_fts (rowid, text, transcript, name, arguments, output)
        VALUES (new.seq, new.text, new.transcript, new.name, new.arguments, new.output);
        UPDATE conversations SET item_count = item_count + 1 WHERE id = new.conversation_id;
    END;
    CREATE TRIGGER items_removed AFTER DELETE ON items BEGIN
        INSERT INTO items_fts (items_fts, rowid, text, transcript, name, arguments, output)
        VALUES ('delete', old.seq, old.text, old.transcript, old.name, old.arguments, old.output);
        UPDATE conversations SET item_count = item_count - 1 WHERE id = old.conversation_id;
    END;
    CREATE TRIGGER items_changed AFTER UPDATE ON items BEGIN
        INSERT INTO items_fts (items_fts, rowid, text, transcript, name, arguments, output)
        VALUES ('delete', old.seq, old.text, old.transcript, old.name, old.arguments, old.output);
        INSERT INTO items_fts (rowid, text, transcript, name, arguments, output)
        VALUES (new.seq, new.text, new.transcript, new.name, new.arguments, new.output);
    END;
    CREATE TABLE imported_journals (
        name TEXT PRIMARY KEY,
        conversation_id TEXT
    );
    """,
    # 2: the folders holding a conversation's kept audio (one per session it went on in).
    """
    CREATE TABLE audio (
        conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        folder TEXT NOT NULL,
        added_at REAL NOT NULL,
        UNIQUE (conversation_id, folder)
    );
    """,
    # 3: what the conversation cost, estimated from the usage its responses reported.
    """
    ALTER TABLE conversations ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;
    """,
    # 4: the images shared in a conversation (its items' records name them by sha256), deleted with it.
    """
    CREATE TABLE images (
        conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        sha256 TEXT NOT NULL,
        mime TEXT NOT NULL,
        data BLOB NOT NULL,
        UNIQUE (conversation_id, sha256)
    );
    """,
]

VERSION = len(_MIGRATIONS)


class NewerSchemaError(RuntimeError):
    pass


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema to VERSION, inside the caller's transaction."""
    current = int(db.execute("PRAGMA user_version").fetchone()[0])
    if current > VERSION:
        raise NewerSchemaError(
            f"the history was written by a newer voicedesk (schema {current}, this one knows {VERSION})"
        )
    for version in range(current, VERSION):
        for statement in _split(_MIGRATIONS[version]):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {version + 1}")


def _split(script: str) -> list[str]:
    """Statements of a migration; a trigger's body keeps its inner semicolons."""
    statements: list[str] = []
    current = ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements
