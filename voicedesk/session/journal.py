"""An append-only journal of finished conversation items, one JSON object per line.

Each line is flushed and fsynced as the item finishes, so a crash loses at most the item in flight.
The files hold what the person said: they are created readable by the user only.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, BinaryIO

from voicedesk.private_files import private_dir, private_fd
from voicedesk.session.conversation import Item


class JsonlWriter:
    """Appends JSON lines to a file created with mode 0600; each line is on disk when ``write`` returns.

    Each line goes to the file in one ``write`` call (the kernel appends it whole), so a crash leaves at
    most one torn last line, which the next writer cuts off before appending.
    """

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        private_dir(path.parent)  # a directory the person chose keeps its mode
        repair_torn_tail(path)
        self._fd: int | None = private_fd(path, os.O_WRONLY | os.O_APPEND)
        self.path = path
        self._fsync = fsync

    def write(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            return
        # backslashreplace: a lone surrogate (legal in a JSON "\\udXXX" escape from the server) is written
        # back as that escape instead of failing the write; it only ever occurs inside a JSON string.
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", errors="backslashreplace")
        written = os.write(self._fd, line)
        while written < len(line):  # only a full disk or a signal splits a regular file's write
            written += os.write(self._fd, line[written:])
        if self._fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def repair_torn_tail(path: Path) -> None:
    """A crash mid-line leaves a last line without its newline; appending would glue the next record onto
    it. Cut the torn line off (it cannot be read anyway) before appending."""
    try:
        with path.open("r+b") as file:
            size = file.seek(0, os.SEEK_END)
            if size == 0:
                return
            file.seek(size - 1)
            if file.read(1) == b"\n":
                return
            keep = _last_newline_end(file, size)
            file.truncate(keep)
    except FileNotFoundError:
        return


def _last_newline_end(file: BinaryIO, size: int) -> int:
    """The offset just after the last newline of the file (0 when it has none), read backwards in blocks."""
    position = size
    while position > 0:
        start = max(0, position - 65536)
        file.seek(start)
        block = file.read(position - start)
        found = block.rfind(b"\n")
        if found >= 0:
            return start + found + 1
        position = start
    return 0


class Journal:
    """One file per session under ``directory``: ``YYYYmmdd-HHMMSS-<pid>.jsonl``."""

    def __init__(self, directory: Path) -> None:
        name = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}.jsonl"
        self._writer = JsonlWriter(private_dir(directory, ours=True) / name)

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
