"""The history store on a real SQLite file: items kept as they finish, titles, search, ids, deletes, modes."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from voicedesk.history import HistoryError, HistoryStore
from voicedesk.history.schema import _MIGRATIONS, VERSION, _split
from voicedesk.history.store import HIGHLIGHT, fts_query, title_from
from voicedesk.session.conversation import Conversation, item_from_record


def _message(item_id: str, role: str, words: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": role,
        "status": "completed",
        "text": "",
        "transcript": words,
        "has_audio": True,
        "audio_ms": 1000,
        "created_at": time.time(),
    } | extra


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "data" / "history.sqlite3") as opened:
        yield opened


def test_the_file_and_its_folder_are_private_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "history.sqlite3"
    old = os.umask(0o022)
    try:
        HistoryStore(path).close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for file in path.parent.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name


def test_a_conversation_keeps_its_items_in_order_with_the_first_sentence_as_title(store: HistoryStore) -> None:
    conversation = store.begin(source="ask", endpoint_kind="local")
    store.add_item(conversation, _message("u1", "user", "What is the weather in Paris? And tomorrow?"))
    store.add_item(conversation, _message("a1", "assistant", "Sunny, 21 degrees."))
    store.add_item(conversation, _message("u2", "user", "Thanks, remind me at five."))
    stored = store.conversation(conversation)
    assert [r["id"] for r in stored.records] == ["u1", "a1", "u2"]
    assert stored.summary.title == "What is the weather in Paris?"
    assert stored.summary.item_count == 3 and stored.summary.source == "ask"


def test_an_item_finished_again_replaces_the_first_copy(store: HistoryStore) -> None:
    conversation = store.begin()
    store.add_item(conversation, _message("a1", "assistant", "first words"))
    store.add_item(conversation, _message("a1", "assistant", "corrected words", truncated_ms=400))
    stored = store.conversation(conversation)
    assert len(stored.records) == 1 and stored.records[0]["transcript"] == "corrected words"
    assert store.search("first") == [] and len(store.search("corrected")) == 1


def test_search_finds_every_word_newest_first_and_marks_the_matches(store: HistoryStore) -> None:
    old = store.begin(started_at=time.time() - 86400)
    store.add_item(old, _message("o1", "user", "Send the invoice to Marie before Friday"))
    new = store.begin()
    store.add_item(new, _message("n1", "user", "What was the invoice total?"))
    store.add_item(new, _message("n2", "assistant", "The total was 42 euros."))
    hits = store.search("invoice")
    assert [h.conversation.id for h in hits] == [new, old]
    assert f"{HIGHLIGHT[0]}invoice{HIGHLIGHT[1]}" in hits[0].snippet
    assert [h.item_id for h in store.search("invoice Marie")] == ["o1"]
    assert [h.item_id for h in store.search("invoi")] == ["n1", "o1"]  # the word being typed is a prefix
    assert store.search("invoice kangaroo") == []


def test_search_takes_any_text_a_person_types(store: HistoryStore) -> None:
    conversation = store.begin()
    store.add_item(conversation, _message("x", "user", 'He said "NEAR" OR (maybe) AND* -not: ça va'))
    for typed in ['"NEAR', "OR (", "AND*", "-not:", "ça", "ca", "NEAR OR"]:
        store.search(typed)  # never an FTS5 syntax error
    assert len(store.search("ca va")) == 1  # accents folded
    with pytest.raises(HistoryError):
        store.search("  ?! ")


def test_tool_calls_and_their_results_are_searchable(store: HistoryStore) -> None:
    conversation = store.begin()
    store.add_item(
        conversation,
        {
            "id": "f1",
            "type": "function_call",
            "role": None,
            "status": "completed",
            "name": "calculator",
            "call_id": "c1",
            "arguments": '{"expression": "12*7"}',
        },
    )
    store.add_item(
        conversation,
        {
            "id": "f2",
            "type": "function_call_output",
            "role": None,
            "status": "completed",
            "call_id": "c1",
            "output": "eighty-four",
            "name": "calculator",
        },
    )
    assert [h.item_id for h in store.search("eighty")] == ["f2"]
    assert [h.item_id for h in store.search("calculator")] == ["f2", "f1"]


def test_ids_are_found_by_a_unique_prefix_or_last(store: HistoryStore) -> None:
    first = store.begin(started_at=1000.0, conversation_id="abc111" + "0" * 26)
    second = store.begin(started_at=2000.0, conversation_id="abc222" + "0" * 26)
    assert store.resolve("abc1") == first and store.resolve("ABC2") == second
    assert store.resolve("last") == second
    with pytest.raises(HistoryError, match="more than one"):
        store.resolve("abc")
    with pytest.raises(HistoryError, match="no conversation"):
        store.resolve("fff")
    with pytest.raises(HistoryError, match="not a conversation id"):
        store.resolve("abc'; DROP TABLE items; --")


def test_delete_removes_the_items_and_their_text_from_the_index(store: HistoryStore) -> None:
    keep, drop = store.begin(), store.begin()
    store.add_item(keep, _message("k", "user", "keep this apple"))
    store.add_item(drop, _message("d", "user", "secret banana recipe"))
    store.delete(drop[:10])
    assert store.count() == (1, 1)
    assert store.search("banana") == [] and len(store.search("apple")) == 1
    with pytest.raises(HistoryError):
        store.conversation(drop)


def test_prune_deletes_conversations_older_than_the_retention(store: HistoryStore) -> None:
    now = time.time()
    old = store.begin(started_at=now - 40 * 86400)
    store.add_items(old, [_message("o", "user", "old", created_at=now - 40 * 86400)])
    store.finish(old, ended_at=now - 40 * 86400)
    recent = store.begin(started_at=now - 86400)
    assert store.prune(now - 30 * 86400) == ([old], [])
    assert [s.id for s in store.conversations()] == [recent]


def test_rename_keeps_the_title_through_later_items(store: HistoryStore) -> None:
    conversation = store.begin()
    store.rename(conversation, "  Trip   planning ")
    store.add_item(conversation, _message("u", "user", "Book a train."))
    assert store.conversation(conversation).summary.title == "Trip planning"
    with pytest.raises(HistoryError):
        store.rename(conversation, "   ")


def test_a_journal_is_imported_once(store: HistoryStore) -> None:
    records = [_message("j1", "user", "imported words")]
    assert store.import_journal("20261201-101010-1.jsonl", records, 1000.0) is not None
    assert store.import_journal("20261201-101010-1.jsonl", records, 1000.0) is None
    store.mark_journal("20261202-101010-2.jsonl", "x" * 32)
    assert store.import_journal("20261202-101010-2.jsonl", records, 1000.0) is None
    assert store.count() == (1, 1)


def test_an_older_file_is_migrated_and_keeps_its_conversations(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as db:  # a file written by the first version of the schema
        for statement in _split(_MIGRATIONS[0]):
            db.execute(statement)
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO conversations (id, started_at, title) VALUES ('ab' || hex(randomblob(15)), 1.0, 'Old')")
    with HistoryStore(path) as store:
        (old,) = store.conversations()
        assert old.title == "Old" and old.cost_usd == 0.0
        store.add_audio(old.id, tmp_path)  # the tables of later versions are there
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION


def test_a_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    HistoryStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer voicedesk"):
        HistoryStore(path)


def test_stored_records_come_back_as_items_a_new_session_can_carry() -> None:
    records = [
        _message("u", "user", "hello there"),
        _message("a", "assistant", "a long answer that was cut", truncated_ms=500, audio_ms=1000),
        {"id": "x", "type": "weird"},
    ]
    items = [i for i in (item_from_record(r) for r in records) if i is not None]
    conversation = Conversation()
    conversation.restore(items)
    finished = conversation.finished_items()
    assert [i.id for i in finished] == ["u", "a"]
    assert finished[1].heard_text == "a long answer"


def test_titles_and_queries() -> None:
    assert title_from("  Hello   there.  How are you?") == "Hello there."
    long = title_from("word " * 40)
    assert len(long) <= 80 and long.endswith("…")
    assert fts_query("invoice tot") == '"invoice" "tot"*'
    assert fts_query("invoice ") == '"invoice"'


def test_journals_are_imported_once_and_never_while_their_process_runs(tmp_path: Path) -> None:
    import json as json_module

    from voicedesk.app.history import import_journals

    journals = tmp_path / "journal"
    journals.mkdir()
    record = _message("j", "user", "from an old journal")
    for name in ("20261201-101010-999999999.jsonl", f"20261204-101010-{os.getpid()}.jsonl"):
        (journals / name).write_text(json_module.dumps(record) + "\n")
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        assert import_journals(store, journals) == 1  # not this (running) process's own journal
        assert import_journals(store, journals) == 0
        assert store.count() == (1, 1)
