"""An append-only journal of finished conversation items, one JSON object per line.

Each line is flushed and fsynced as the item finishes, so a crash loses at most the item in flight.
The files hold what the person said: they are created readable by the user only.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, TextIO

from voicedesk.session.conversation import Item


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


class JsonlWriter:
    """Appends JSON lines to a file created with mode 0600; each line is on disk when ``write`` returns."""

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)  # a directory the person chose keeps its mode
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.path = path
        # backslashreplace: a lone surrogate (legal in a JSON "\\udXXX" escape from the server) is written
        # back as that escape instead of failing the write; it only ever occurs inside a JSON string.
        self._file: TextIO | None = os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace")
        self._fsync = fsync

    def write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Journal:
    """One file per session under ``directory``: ``YYYYmmdd-HHMMSS-<pid>.jsonl``."""

    def __init__(self, directory: Path) -> None:
        name = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}.jsonl"
        self._writer = JsonlWriter(private_dir(directory) / name)

    @property
    def path(self) -> Path:
        return self._writer.path

    def record(self, item: Item) -> None:
        self._writer.write(item.to_record())

    def close(self) -> None:
        self._writer.close()


class SessionJournal:
    """The controller's journal: a new file on each connect (when a directory is set), closed on disconnect."""

    def __init__(self, directory: Path | None) -> None:
        self._directory = directory
        self._journal: Journal | None = None

    @property
    def path(self) -> Path | None:
        return self._journal.path if self._journal else None

    def open(self) -> None:
        if self._directory is not None and self._journal is None:
            self._journal = Journal(self._directory)

    def record(self, item: Item) -> None:
        if self._journal is not None:
            self._journal.record(item)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def read_journal(path: Path) -> list[dict[str, Any]]:
    """The records of a journal; a torn last line (a crash mid-write) is skipped.

    Lines are split on b"\\n" only (str.splitlines would also split on U+2028, which json.dumps leaves
    unescaped in a transcript) and decoded one by one (a torn line may end inside a UTF-8 sequence).
    """
    records = []
    for line in path.read_bytes().split(b"\n"):
        try:
            records.append(json.loads(line))
        except ValueError:  # includes UnicodeDecodeError
            continue
    return records
