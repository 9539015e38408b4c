"""Files that hold what a person said (audio, transcripts, events, exports) are readable by their owner only.

Files are created 0600 with ``os.open`` (never chmod after the fact: no moment where others can read them);
folders voicedesk creates are 0700. A folder the person chose keeps its mode, the files in it are still 0600.
No imports from voicedesk: every layer uses these.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import BinaryIO, cast

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path, *, ours: bool = False) -> Path:
    """Create ``path`` and any missing parents 0700. An existing folder keeps its mode (the person chose it)
    unless it is ``ours`` (voicedesk's own, under its data dir: an older version may have made it 0755)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(folder, DIR_MODE)  # mkdir's mode is masked by the umask
    if ours:
        os.chmod(path, DIR_MODE)
    return path


_MODE_FLAGS = {
    "wb": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    "ab": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
    "w+b": os.O_RDWR | os.O_CREAT | os.O_TRUNC,
    "r+b": os.O_RDWR | os.O_CREAT,
}


def private_fd(path: Path, flags: int) -> int:
    """``os.open`` creating the file 0600; a file that existed before (an older version's) becomes 0600 too."""
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd


def open_private(path: Path, mode: str = "wb") -> BinaryIO:
    """Open a file for writing, created 0600 ("wb" replaces it, "ab" appends, "w+b" and "r+b" also read)."""
    return cast(BinaryIO, os.fdopen(private_fd(path, _MODE_FLAGS[mode]), mode))


def write_private_bytes(path: Path, data: bytes) -> Path:
    with open_private(path, "wb") as file:
        file.write(data)
    return path


def write_private_text(path: Path, text: str) -> Path:
    return write_private_bytes(path, text.encode("utf-8"))


def copy_private(source: Path, target: Path) -> Path:
    with source.open("rb") as reading, open_private(target, "wb") as writing:
        shutil.copyfileobj(reading, writing)
    return target
