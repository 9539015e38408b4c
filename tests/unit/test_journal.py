"""The journal: private files, one JSON line per finished item, on disk as soon as it is written."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from voicedesk.private_files import private_dir
from voicedesk.session.conversation import Conversation, Item
from voicedesk.session.journal import Journal, JsonlWriter, read_journal


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A permissive umask, so the modes we check are the ones the code asks for."""
    old = os.umask(0o022)
    yield None
    os.umask(old)


def test_journal_file_is_0600_in_a_0700_dir(tmp_path: Path, open_umask: None) -> None:
    directory = tmp_path / "data" / "journal"
    journal = Journal(directory)
    try:
        assert journal.path.parent == directory
        assert _mode(directory) == 0o700
        assert _mode(journal.path) == 0o600
        assert journal.path.name.endswith(f"-{os.getpid()}.jsonl")
    finally:
        journal.close()


def test_private_dir_tightens_an_existing_directory(tmp_path: Path, open_umask: None) -> None:
    directory = tmp_path / "shared"
    directory.mkdir(mode=0o755)
    assert private_dir(directory, ours=True) == directory
    assert _mode(directory) == 0o700
    chosen = tmp_path / "chosen"
    chosen.mkdir(mode=0o755)
    private_dir(chosen / "new" / "deeper")
    assert _mode(chosen) == 0o755  # the person's folder keeps its mode; what voicedesk made is private
    assert _mode(chosen / "new") == 0o700 and _mode(chosen / "new" / "deeper") == 0o700


def test_each_line_is_on_disk_after_write(tmp_path: Path) -> None:
    path = tmp_path / "j" / "log.jsonl"
    writer = JsonlWriter(path)
    try:
        writer.write({"id": "a", "text": "first"})
        # Read through a separate file descriptor while the writer is still open.
        assert path.read_bytes() == b'{"id": "a", "text": "first"}\n'
        writer.write({"id": "b", "text": "Grüße, 你好"})
        assert read_journal(path) == [{"id": "a", "text": "first"}, {"id": "b", "text": "Grüße, 你好"}]
    finally:
        writer.close()


def test_write_fsyncs_each_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    writer = JsonlWriter(tmp_path / "x.jsonl")
    writer.write({"n": 1})
    writer.write({"n": 2})
    writer.close()
    assert len(synced) == 2
    unsynced = JsonlWriter(tmp_path / "y.jsonl", fsync=False)
    unsynced.write({"n": 3})
    unsynced.close()
    assert len(synced) == 2


def test_write_after_close_is_ignored_and_close_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    writer = JsonlWriter(path)
    writer.write({"n": 1})
    writer.close()
    writer.close()
    writer.write({"n": 2})
    assert read_journal(path) == [{"n": 1}]


def test_reopening_appends(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    for n in range(3):
        writer = JsonlWriter(path)
        writer.write({"n": n})
        writer.close()
    assert read_journal(path) == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"id": "a"}\n{"id": "b"}\n{"id": "c", "tex')
    assert read_journal(path) == [{"id": "a"}, {"id": "b"}]


def test_a_line_torn_inside_a_utf8_character_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    line = json.dumps({"id": "b", "text": "你好"}, ensure_ascii=False).encode()
    path.write_bytes(b'{"id": "a"}\n' + line[: line.index("好".encode()) + 1])
    assert read_journal(path) == [{"id": "a"}]


def test_text_with_unicode_line_separators_survives(tmp_path: Path) -> None:
    """json.dumps leaves U+2028/U+2029/U+0085 unescaped; they must not split a record."""
    path = tmp_path / "x.jsonl"
    text = "one\u2028two\u2029three\x85four\x1cfive"
    writer = JsonlWriter(path)
    writer.write({"text": text})
    writer.write({"text": "next"})
    writer.close()
    assert read_journal(path) == [{"text": text}, {"text": "next"}]


def test_a_lone_surrogate_from_the_server_does_not_fail_the_write(tmp_path: Path) -> None:
    """A server may send "\\ud83d" (half an emoji) in a transcript; json.loads accepts it."""
    text = json.loads('"cut emoji \\ud83d"')
    path = tmp_path / "x.jsonl"
    writer = JsonlWriter(path)
    writer.write({"text": text})
    writer.write({"text": "after"})
    writer.close()
    assert read_journal(path) == [{"text": text}, {"text": "after"}]


def test_an_empty_journal_reads_as_nothing(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"")
    assert read_journal(path) == []


def test_journal_records_finished_items_from_a_conversation(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    conv = Conversation()
    conv.on_finished(journal.record)
    conv.add({"id": "u1", "type": "message", "role": "user", "content": [{"type": "input_audio"}]})
    conv.mark_done({"id": "u1", "type": "message", "role": "user", "status": "completed"})
    conv.add({"id": "a1", "type": "message", "role": "assistant", "content": []}, "u1")
    conv.append_assistant_text("a1", 0, "Noon.")
    conv.mark_done({"id": "a1", "type": "message", "role": "assistant", "status": "completed"})
    assert [r["id"] for r in read_journal(journal.path)] == ["a1"]  # u1 still waits for its transcript
    conv.set_input_transcript("u1", "What time is it?")
    journal.close()
    records = read_journal(journal.path)
    assert [(r["id"], r["transcript"]) for r in records] == [("a1", "Noon."), ("u1", "What time is it?")]
    expected = Item("a1", "message", "assistant", "completed", transcript="Noon.").to_record()
    assert {**records[0], "created_at": 0.0} == {**expected, "created_at": 0.0}
