"""Everything voicedesk writes that holds speech, text or events is 0600 in 0700 folders; out-dirs are never
mixed; a torn line is never glued to the next; the kept events are bounded in bytes; recordings are kept
only when asked, as FLAC, and go with their conversation or the retention period."""

from __future__ import annotations

import json
import os
import stat
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.integration.test_ask_cli import run_ask
from voicedesk.app import AppRuntime, AudioBackend, RuntimeOptions
from voicedesk.app import exports as exports_module
from voicedesk.app.event_log import EventLog
from voicedesk.app.history import apply_retention, delete_conversation
from voicedesk.app.recordings import archive, clean_up, read_recording
from voicedesk.audio.filesource import FileSource
from voicedesk.audio.null import NullSink
from voicedesk.audio.wavfile import WavWriter
from voicedesk.config import AppSettings
from voicedesk.history import HistoryStore
from voicedesk.local.server import LocalServerOptions
from voicedesk.session import events as se
from voicedesk.session.inspector import MAX_STRING_CHARS, for_inspection
from voicedesk.session.journal import JsonlWriter, read_journal


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _open_umask() -> Iterator[None]:
    """The usual desktop umask: files would be 0644 and folders 0755 unless voicedesk says otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _assert_private_tree(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        expected = 0o700 if path.is_dir() else 0o600
        assert _mode(path) == expected, f"{path} is {oct(_mode(path))}"


async def test_ask_outputs_are_private_and_a_second_run_is_refused_or_replaces(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, stderr = await run_ask("--text", "first question", "--out-dir", str(out), "--fast")
    assert code == 0, stderr
    _assert_private_tree(out)
    assert {p.name for p in out.iterdir()} >= {"conversation.jsonl", "events.jsonl", "assistant.wav"}
    first_events = (out / "events.jsonl").read_bytes()
    # A second run into the same folder would mix two runs: refused before anything starts.
    code, _, stderr = await run_ask("--text", "second question", "--out-dir", str(out), "--fast")
    assert code == 2 and stderr.count("\n") == 1 and "--overwrite" in stderr
    assert (out / "events.jsonl").read_bytes() == first_events
    # --overwrite replaces: nothing of the first run is left in the files.
    code, _, stderr = await run_ask("--text", "second question", "--out-dir", str(out), "--fast", "--overwrite")
    assert code == 0, stderr
    said = [r["text"] for r in read_journal(out / "conversation.jsonl") if r["role"] == "user"]
    assert said == ["second question"]
    assert b"first question" not in (out / "events.jsonl").read_bytes()


async def test_a_chosen_folder_keeps_its_mode_but_not_its_files(tmp_path: Path) -> None:
    chosen = tmp_path / "mine"
    chosen.mkdir(mode=0o755)
    code, _, stderr = await run_ask("--text", "hello", "--out-dir", str(chosen), "--fast")
    assert code == 0, stderr
    assert _mode(chosen) == 0o755
    assert all(_mode(p) == 0o600 for p in chosen.iterdir())


def test_exports_and_the_debug_bundle_are_private(tmp_path: Path) -> None:
    runtime = AppRuntime(AppSettings(), RuntimeOptions(recordings_dir=tmp_path / "rec"))
    runtime.recorder.record_sent(np.full(2400, 100, np.int16))
    journal = tmp_path / "journal.jsonl"
    JsonlWriter(journal).write({"id": "x"})
    parts = exports_module.BundleParts(AppSettings(), [{"t": 0, "event": {"type": "x"}}], (), {}, journal)
    written = exports_module.export_everything(tmp_path / "export", (), runtime.recorder, parts)
    assert {p.name for p in written} == {"conversation.md", "conversation.json", "you.wav", "debug-bundle.zip"}
    _assert_private_tree(tmp_path / "export")
    with zipfile.ZipFile(tmp_path / "export" / "debug-bundle.zip") as bundle:
        assert "journal/journal.jsonl" in bundle.namelist()
    _assert_private_tree(tmp_path / "rec")
    runtime.recorder.close()
    runtime.event_log.close()


def test_a_torn_last_line_is_cut_before_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": "a line cut by kill -9 in the mid')
    writer = JsonlWriter(path)
    writer.write({"c": 3})
    writer.close()
    lines = path.read_bytes().split(b"\n")
    assert [json.loads(line) for line in lines if line] == [{"a": 1}, {"c": 3}]
    # A file that is one torn line and nothing else, and an empty file.
    for start in (b'{"only": "torn', b""):
        path.write_bytes(start)
        writer = JsonlWriter(path)
        writer.write({"d": 4})
        writer.close()
        assert path.read_bytes() == b'{"d": 4}\n'
    # A torn line longer than the block the repair reads backwards.
    path.write_bytes(b'{"e": 5}\n' + b"x" * 200_000)
    JsonlWriter(path).close()
    assert path.read_bytes() == b'{"e": 5}\n'


def test_huge_events_are_kept_shortened_and_the_log_is_bounded_in_bytes() -> None:
    huge = {"type": "response.output_text.delta", "delta": "w" * (16 * 1024 * 1024)}
    kept, size = for_inspection(huge)
    assert size < 2 * MAX_STRING_CHARS and "more characters not kept" in kept["delta"]
    assert huge["delta"] == "w" * (16 * 1024 * 1024)  # the event itself is untouched
    small = {"type": "response.done", "response": {"id": "r"}}
    assert for_inspection(small)[0] is small
    log = EventLog(max_bytes=4 * MAX_STRING_CHARS)
    for _ in range(40):
        log.on_event(se.RawModelEvent("server", kept, size))
    assert log.bytes <= 4 * MAX_STRING_CHARS and 1 <= len(log) <= 4
    log.on_event(se.RawModelEvent("server", small, 40))
    assert log.snapshot()[-1]["event"] is small


def test_recordings_are_flac_only_when_kept_and_go_with_their_conversation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    folder = data / "recordings" / "unsaved-20261204-101010-999999999"
    writer = WavWriter(folder / "you.wav")
    tone = (np.sin(np.arange(48000) / 7) * 9000).astype(np.int16)
    writer.write(tone)
    writer.close()
    kept_folder, files = archive(folder)
    assert kept_folder.name == "20261204-101010" and [f.name for f in files] == ["you.flac"]
    assert np.array_equal(read_recording(files[0]), tone)  # lossless
    assert not (kept_folder / "you.wav").exists()
    _assert_private_tree(kept_folder)
    with HistoryStore(data / "history.sqlite3") as store:
        conversation = store.begin()
        store.add_audio(conversation, kept_folder)
        delete_conversation(store, conversation)
    assert not kept_folder.exists()


def test_retention_and_crash_leftovers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    root = data / "recordings"
    old, recent = root / "20250101-000000", root / "20261203-000000"
    leftover, mine = root / "unsaved-20261203-000000-999999999", root / f"unsaved-20261204-000000-{os.getpid()}"
    for folder in (old, recent, leftover, mine):
        folder.mkdir(parents=True)
    os.utime(old, (time.time() - 90 * 86400,) * 2)
    with HistoryStore(data / "history.sqlite3") as store:
        stale = store.begin(started_at=time.time() - 90 * 86400)
        store.finish(stale, ended_at=time.time() - 90 * 86400)
        store.add_audio(stale, old)
        fresh = store.begin()
        assert apply_retention(store, data, 30) == 1
        assert [s.id for s in store.conversations()] == [fresh]
    assert not old.exists() and not leftover.exists()  # too old; left by a process that is gone
    assert recent.exists() and mine.exists()  # within the retention; this process's own
    assert clean_up(data, 0) == []  # "forever" keeps kept folders


def _file_audio(_settings: AppSettings, _on_problem: object) -> AudioBackend:
    return AudioBackend(FileSource(speed=np.inf), NullSink(speed=np.inf))


async def test_the_window_keeps_audio_only_when_asked(tmp_path: Path) -> None:
    for keep in (False, True):
        settings = AppSettings(endpoint="local", keep_audio=keep)
        runtime = AppRuntime(
            settings,
            RuntimeOptions(
                audio_factory=_file_audio,
                local_options=LocalServerOptions(audio_pace=np.inf, record_audio=False),
                history="window",
            ),
        )
        await runtime.connect()
        assert runtime.controller is not None
        runtime.controller.send_text("hello there")
        assert await runtime.controller.wait_idle(20)
        folder = runtime.recorder.directory
        assert (folder / "assistant.wav").exists() and _mode(folder) == 0o700
        stored = runtime.stored
        await runtime.shutdown()
        assert stored is not None
        with HistoryStore(Path(os.environ["VOICEDESK_DATA_DIR"]) / "history.sqlite3") as store:
            folders = store.audio_folders("last")
        if keep:
            assert [p.name for p in folders] == [folder.name] and (folder / "assistant.flac").exists()
        else:
            assert folders == [] and not folder.exists()


def test_two_conversations_in_the_same_second_never_share_a_recording_folder(tmp_path: Path) -> None:
    from voicedesk.app.recordings import new_recording_folder

    folders = {new_recording_folder(tmp_path, keep=True) for _ in range(3)}
    assert len(folders) == 3 and all(f.is_dir() and _mode(f) == 0o700 for f in folders)
