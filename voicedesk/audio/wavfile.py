"""WAV files in and out: any PCM/float/G.711 WAV in, 24 kHz mono pcm16 out (and back to disk).

Reading walks the RIFF chunks itself rather than using the ``wave`` module: on Python 3.11 ``wave``
refuses IEEE float and WAVE_FORMAT_EXTENSIBLE files, the chunk walk is needed for those anyway, and one
path gives every broken file the same kind of one-line error a person can act on.

Writing keeps the header valid after every append (sizes patched, data flushed to the OS), so a file
being recorded can be opened at any moment and survives the process dying.
"""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt
import soxr

from voicedesk.audio import g711
from voicedesk.audio.base import SAMPLE_RATE, Pcm16
from voicedesk.private_files import open_private, private_dir

_PCM, _FLOAT, _ALAW, _ULAW, _EXTENSIBLE = 0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE
_EXTENSIBLE_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
_STREAMING_SIZE = 0xFFFFFFFF  # written by streaming encoders that never came back to patch the header
_KNOWN_ENCODINGS = {
    0x0002: "Microsoft ADPCM",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10",
    0x0050: "MPEG audio",
    0x0055: "MP3",
    0x00FF: "AAC",
}


MIN_RATE, MAX_RATE = 1000, 768_000
"""Sample rates a WAV may have: below and above these it is not sound a person can have recorded."""
MAX_FILE_BYTES = 2**32 + 2**16
"""RIFF sizes are 32-bit: a larger file cannot be a WAV (the slack allows a header past 4 GiB of data)."""
MAX_SECONDS = 60 * 60
"""One turn at most as long as a whole realtime session."""


class AudioFileError(Exception):
    """A file that cannot be used as audio; the message is one line meant for a person."""


@dataclass(frozen=True, slots=True)
class WavFormat:
    encoding: int
    """_PCM, _FLOAT, _ALAW or _ULAW (an extensible file's sub-format already resolved)."""
    channels: int
    rate: int
    sample_bytes: int


def read_wav(path: str | os.PathLike[str]) -> Pcm16:
    """Read a WAV file as 24 kHz mono pcm16 (channels averaged, resampled with soxr).

    Raises AudioFileError for anything that is not a usable WAV (empty, truncated, another format, an
    unsupported encoding) and OSError when the file cannot be read at all (missing, no permission).
    """
    name = os.fspath(path)
    # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below like any non-file.
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb", buffering=0) as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise AudioFileError(f"{name} is not a regular file (a device, a pipe or a folder cannot be a WAV)")
        if info.st_size > MAX_FILE_BYTES:
            raise AudioFileError(f"{name} is {info.st_size / 2**30:.1f} GB: a WAV file holds at most 4 GB")
        data = file.read(info.st_size)
    fmt, payload = parse_wav(data, name)
    seconds = len(payload) / (fmt.rate * fmt.channels * fmt.sample_bytes)
    if seconds > MAX_SECONDS:
        raise AudioFileError(
            f"{name} holds {seconds / 60:.0f} minutes of audio; one turn may be at most {MAX_SECONDS // 60} minutes"
        )
    return _to_pcm16(_decode(payload, fmt), fmt.rate)


def parse_wav(data: bytes, name: str) -> tuple[WavFormat, bytes]:
    """The format and the raw sample bytes (whole frames only) of a WAV file's contents."""
    if not data:
        raise AudioFileError(f"{name} is empty")
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFileError(f"{name} is not a WAV file ({_what_it_is(data)})")
    fmt: WavFormat | None = None
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        body = offset + 8
        if chunk_id == b"fmt ":
            if body + size > len(data):
                raise AudioFileError(f"{name} is truncated (it ends inside its format header)")
            fmt = _parse_fmt(data[body : body + size], name)
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioFileError(f"{name} is damaged: its audio comes before its format header")
            return fmt, _frames(data, body, size, fmt, name)
        offset = body + size + (size & 1)  # chunks are padded to an even length
    if fmt is None:
        raise AudioFileError(f"{name} is truncated or damaged: it has no format header")
    raise AudioFileError(f"{name} is truncated or damaged: it has no audio data")


def _what_it_is(data: bytes) -> str:
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "no RIFF header; it looks like an MP3 file"
    signatures = {b"OggS": "an Ogg file", b"fLaC": "a FLAC file", b"FORM": "an AIFF file"}
    for magic, kind in signatures.items():
        if data.startswith(magic):
            return f"no RIFF header; it looks like {kind}"
    if data[:4] == b"RIFX":
        return "big-endian RIFX WAV files are not supported"
    if data[:4] == b"RF64":
        return "RF64 (over 4 GB) WAV files are not supported"
    if data[:4] == b"RIFF":
        return "a RIFF file, but not WAVE audio" if len(data) >= 12 else "it ends inside its RIFF header"
    return "no RIFF header"


def _parse_fmt(body: bytes, name: str) -> WavFormat:
    if len(body) < 16:
        raise AudioFileError(f"{name} is damaged: its format header is too short")
    encoding, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body)
    if encoding == _EXTENSIBLE:
        if len(body) < 40 or body[26:40] != _EXTENSIBLE_GUID_TAIL:
            raise AudioFileError(f"{name} uses an unknown extensible WAV sub-format")
        (encoding,) = struct.unpack_from("<H", body, 24)
    if channels < 1 or rate < 1:
        raise AudioFileError(f"{name} is damaged: {channels} channels at {rate} Hz")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioFileError(
            f"{name} says its sample rate is {rate} Hz; voicedesk reads {MIN_RATE}-{MAX_RATE} Hz audio"
        )
    # The frame size decides the container; "bits" may be fewer valid bits (e.g. 20 in 24).
    sample_bytes = block_align // channels if block_align and block_align % channels == 0 else (bits + 7) // 8
    supported = {_PCM: (1, 2, 3, 4), _FLOAT: (4, 8), _ALAW: (1,), _ULAW: (1,)}
    if encoding not in supported:
        kind = _KNOWN_ENCODINGS.get(encoding, f"format 0x{encoding:04X}")
        raise AudioFileError(f"{name} uses {kind} encoding; only PCM, float and G.711 WAV files are supported")
    if sample_bytes not in supported[encoding]:
        raise AudioFileError(f"{name} uses {sample_bytes * 8}-bit samples, which this format does not allow")
    return WavFormat(encoding, channels, rate, sample_bytes)


def _frames(data: bytes, start: int, size: int, fmt: WavFormat, name: str) -> bytes:
    available = len(data) - start
    if size == _STREAMING_SIZE:
        size = available
    elif size > available:
        frame_rate = fmt.rate * fmt.channels * fmt.sample_bytes
        raise AudioFileError(
            f"{name} is truncated: it should hold {size / frame_rate:.2f} s of audio "
            f"but only {available / frame_rate:.2f} s is there"
        )
    frame = fmt.channels * fmt.sample_bytes
    usable = size - size % frame
    if usable == 0:
        raise AudioFileError(f"{name} contains no audio")
    return data[start : start + usable]


def _decode(payload: bytes, fmt: WavFormat) -> npt.NDArray[np.float32]:
    """Samples as float32 in [-1, 1), channels averaged."""
    if fmt.encoding in (_ALAW, _ULAW):
        law: g711.Law = "alaw" if fmt.encoding == _ALAW else "ulaw"
        samples = g711.decode(payload, law).astype(np.float32) / 32768.0
    elif fmt.encoding == _FLOAT:
        raw = np.frombuffer(payload, dtype="<f4" if fmt.sample_bytes == 4 else "<f8")
        samples = np.nan_to_num(raw.astype(np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
    elif fmt.sample_bytes == 1:  # 8-bit PCM is unsigned
        samples = (np.frombuffer(payload, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif fmt.sample_bytes == 3:
        # Put each 3-byte sample in the top of an int32: sign and scale come out right.
        wide = np.zeros((len(payload) // 3, 4), dtype=np.uint8)
        wide[:, 1:] = np.frombuffer(payload, dtype=np.uint8).reshape(-1, 3)
        samples = wide.view("<i4").ravel().astype(np.float32) / 2.0**31
    else:
        dtype = "<i2" if fmt.sample_bytes == 2 else "<i4"
        samples = np.frombuffer(payload, dtype=dtype).astype(np.float32) / float(2 ** (8 * fmt.sample_bytes - 1))
    if fmt.channels > 1:
        samples = samples.reshape(-1, fmt.channels).mean(axis=1, dtype=np.float32)
    return samples


def _to_pcm16(samples: npt.NDArray[np.float32], rate: int) -> Pcm16:
    if rate != SAMPLE_RATE:
        samples = np.asarray(soxr.resample(samples, rate, SAMPLE_RATE, quality="HQ"), dtype=np.float32)
    # x 32768 undoes the int16 scaling exactly, so 24 kHz mono 16-bit files come back bit for bit.
    pcm: Pcm16 = np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16)
    return pcm


_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")
_HEADER_SIZE = _HEADER.size  # 44
WAV_HEADER_BYTES = _HEADER_SIZE  # the header WavWriter writes: its files are 24 kHz mono int16 after it
_RIFF_SIZE_AT, _DATA_SIZE_AT = 4, 40


def _header(data_bytes: int) -> bytes:
    return _HEADER.pack(
        b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, _PCM, 1, SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16,
        b"data", data_bytes,
    )  # fmt: skip


class WavWriter:
    """Appends 24 kHz mono 16-bit audio to a WAV file whose header is valid after every write.

    ``append=True`` continues a file this class wrote before (a sink started again); any other
    existing file is replaced. Parent directories are created.
    """

    def __init__(self, path: str | os.PathLike[str], *, append: bool = False) -> None:
        self.path = Path(path)
        private_dir(self.path.parent)
        self._data_bytes = self._existing_data_bytes() if append else None
        if self._data_bytes is None:
            self._file = open_private(self.path, "w+b")
            self._data_bytes = 0
            self._file.write(_header(0))
            self._file.flush()
        else:
            self._file = open_private(self.path, "r+b")
            self._file.seek(_HEADER_SIZE + self._data_bytes)
            self._file.truncate()  # drop a partial sample a crash may have left

    def _existing_data_bytes(self) -> int | None:
        try:
            with self.path.open("rb") as existing:
                head = existing.read(_HEADER_SIZE)
                size = existing.seek(0, os.SEEK_END) - _HEADER_SIZE
        except FileNotFoundError:
            return None
        ours = _header(0)
        if len(head) < _HEADER_SIZE or head[:4] != ours[:4] or head[8:40] != ours[8:40]:
            return None  # not one of ours (the sizes aside): start over
        return size - size % 2

    @property
    def frames_written(self) -> int:
        assert self._data_bytes is not None
        return self._data_bytes // 2

    @property
    def closed(self) -> bool:
        return self._file.closed

    def write(self, pcm: Pcm16) -> None:
        if self._file.closed:
            raise ValueError(f"{self.path} is closed")
        if pcm.dtype != np.int16:
            raise TypeError(f"WavWriter takes int16 samples, not {pcm.dtype}")
        data = np.ascontiguousarray(pcm, dtype="<i2").tobytes()
        if not data:
            return
        assert self._data_bytes is not None
        self._file.seek(0, os.SEEK_END)
        self._file.write(data)
        self._data_bytes += len(data)
        self._patch_sizes()

    def truncate(self, frames: int) -> None:
        """Keep only the first ``frames`` samples (an answer cut where the person stopped hearing it)."""
        assert self._data_bytes is not None
        keep = max(0, min(frames, self.frames_written)) * 2
        if keep == self._data_bytes:
            return
        self._file.truncate(_HEADER_SIZE + keep)
        self._data_bytes = keep
        self._patch_sizes()

    def _patch_sizes(self) -> None:
        assert self._data_bytes is not None
        self._file.seek(_RIFF_SIZE_AT)
        self._file.write(struct.pack("<I", 36 + self._data_bytes))
        self._file.seek(_DATA_SIZE_AT)
        self._file.write(struct.pack("<I", self._data_bytes))
        self._file.flush()  # into the OS: readable by others now, and kept if this process dies

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
