"""Where the window's recordings of both sides go, and what becomes of them.

While a conversation runs, ``you.wav`` and ``assistant.wav`` are written to a 0700 folder under the data
dir (WAV: valid after every write, so a crash or an export mid-session loses nothing). When it ends:
with "keep audio" on, both are compressed to FLAC in the same folder (about half the size, lossless) and
the folder is linked to the stored conversation; with it off, the folder is deleted. A folder left by a
crash is deleted at the next start unless it was to be kept; kept folders go with the retention period.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.audio.wavfile import WAV_HEADER_BYTES
from voicedesk.private_files import open_private, private_dir

log = logging.getLogger(__name__)

UNSAVED_PREFIX = "unsaved-"
AUDIO_NAMES = ("you", "assistant")


def recordings_root(data_dir: Path) -> Path:
    return data_dir / "recordings"


def new_recording_folder(data_dir: Path, *, keep: bool) -> Path:
    """A new 0700 folder (made now, so two conversations in one second never share one); unsaved ones carry
    the process id."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = stamp if keep else f"{UNSAVED_PREFIX}{stamp}-{os.getpid()}"
    root = private_dir(recordings_root(data_dir), ours=True)
    folder = root / name
    suffix = 1
    while folder.exists():  # two conversations in the same second
        suffix += 1
        folder = root / f"{name}-{suffix}"
    return private_dir(folder)


def archive(folder: Path) -> tuple[Path, list[Path]]:
    """Compress the folder's WAVs to FLAC (0600) and remove the WAVs; returns the folder (renamed if it was
    an unsaved one: "keep audio" was switched on meanwhile) and the FLAC files.

    Blocking (about 1 s of CPU per hour of audio): call it off the event loop. Without a FLAC codec (no
    libsndfile on the system), the WAVs are kept as they are."""
    if folder.name.startswith(UNSAVED_PREFIX) and folder.is_dir():
        kept_name = folder.with_name(folder.name.removeprefix(UNSAVED_PREFIX).rsplit("-", 1)[0])
        if not kept_name.exists():
            folder = folder.rename(kept_name)
    try:
        import soundfile
    except OSError as exc:  # soundfile raises OSError when it finds no libsndfile
        log.warning("recordings kept as WAV: no FLAC codec (%s)", exc)
        wavs = [folder / f"{name}.wav" for name in AUDIO_NAMES if (folder / f"{name}.wav").exists()]
        return folder, wavs

    kept = []
    for name in AUDIO_NAMES:
        wav = folder / f"{name}.wav"
        if not wav.exists():
            continue
        flac = folder / f"{name}.flac"
        try:
            if _compress(wav, flac, soundfile):
                kept.append(flac)
        except (OSError, RuntimeError) as exc:  # soundfile raises RuntimeError subclasses
            log.warning("recording %s not archived: %s", wav, exc)
            continue
        wav.unlink()
    if not kept:
        shutil.rmtree(folder, ignore_errors=True)
    return folder, kept


def _compress(wav: Path, flac: Path, soundfile: Any) -> bool:
    """Our own WAV (24 kHz mono int16, a fixed header) to FLAC in blocks: an hour never sits in memory."""
    samples = (
        np.memmap(wav, dtype="<i2", mode="r", offset=WAV_HEADER_BYTES)
        if wav.stat().st_size > WAV_HEADER_BYTES
        else None
    )
    if samples is None or samples.size == 0:
        return False
    with (
        open_private(flac, "wb") as file,
        soundfile.SoundFile(file, "w", SAMPLE_RATE, 1, subtype="PCM_16", format="FLAC") as out,
    ):
        for start in range(0, samples.size, SAMPLE_RATE * 60):
            out.write(np.asarray(samples[start : start + SAMPLE_RATE * 60]))
    del samples
    return True


def read_recording(path: Path) -> np.ndarray:
    """A kept recording (FLAC, or WAV where there was no FLAC codec) as 24 kHz int16 samples."""
    if path.suffix == ".wav":
        return np.fromfile(path, dtype="<i2", offset=WAV_HEADER_BYTES).astype(np.int16)
    import soundfile

    data, rate = soundfile.read(path, dtype="int16", always_2d=False)
    if rate != SAMPLE_RATE:
        raise ValueError(f"{path.name} is at {rate} Hz, not {SAMPLE_RATE}")
    return np.asarray(data, dtype=np.int16)


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def clean_up(data_dir: Path, retention_days: int, now: float | None = None) -> list[Path]:
    """At start: delete folders a crashed run left unsaved, and kept folders older than the retention."""
    root = recordings_root(data_dir)
    if not root.is_dir():
        return []
    now = time.time() if now is None else now
    removed = []
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        if folder.name.startswith(UNSAVED_PREFIX):
            if _owner_alive(folder.name):
                continue
        elif retention_days <= 0 or folder.stat().st_mtime >= now - retention_days * 86400:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _owner_alive(name: str) -> bool:
    """Whether the process that made an unsaved folder still runs (its pid is the name's third part)."""
    pid_text = name.removeprefix(UNSAVED_PREFIX).split("-")[2:3]
    return bool(pid_text) and process_alive(pid_text[0])


def process_alive(pid_text: str) -> bool:
    """Whether the process with this id (as written in a file name) runs; False for anything not a pid."""
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would send Ctrl-C there: only this process counts as running
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
