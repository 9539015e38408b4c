"""read_wav over a matrix of real WAV encodings, its errors, and WavWriter's always-valid files."""

from __future__ import annotations

import os
import struct
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from voicedesk.audio import g711
from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.audio.wavfile import AudioFileError, WavWriter, read_wav

TONE_HZ = 440.0
SECONDS = 0.5
KSDATAFORMAT_TAIL = bytes.fromhex("000000001000800000aa00389b71")


def tone(rate: int, seconds: float = SECONDS, amplitude: float = 0.5) -> npt.NDArray[np.float64]:
    t = np.arange(int(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * TONE_HZ * t)


def interleave(mono: npt.NDArray[np.float64], channels: int) -> npt.NDArray[np.float64]:
    # Channel k carries the tone at 1/(k+1) of the level: the downmix average is predictable.
    return np.stack([mono / (k + 1) for k in range(channels)], axis=1).ravel()


def pcm_bytes(samples: npt.NDArray[np.float64], bits: int) -> bytes:
    if bits == 8:
        return np.clip(np.round(samples * 127 + 128), 0, 255).astype(np.uint8).tobytes()
    scale = 2 ** (bits - 1) - 1
    ints = np.round(samples * scale).astype(np.int64)
    if bits == 24:
        as32 = ints.astype("<i4").tobytes()
        return b"".join(as32[i : i + 3] for i in range(0, len(as32), 4))
    wide: bytes = ints.astype("<i2" if bits == 16 else "<i4").tobytes()
    return wide


def write_pcm_wav(path: Path, rate: int, channels: int, bits: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(bits // 8)
        out.setframerate(rate)
        out.writeframes(pcm_bytes(interleave(tone(rate), channels), bits))


def riff(fmt_body: bytes, data: bytes, extra_chunks: bytes = b"") -> bytes:
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body + extra_chunks
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def fmt_chunk(tag: int, channels: int, rate: int, bits: int) -> bytes:
    block = channels * bits // 8
    return struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)


def extensible_fmt(sub_tag: int, channels: int, rate: int, bits: int, valid_bits: int | None = None) -> bytes:
    base = fmt_chunk(0xFFFE, channels, rate, bits)
    mask = 0x3 if channels == 2 else 0x4
    guid = struct.pack("<H", sub_tag) + KSDATAFORMAT_TAIL
    return base + struct.pack("<HHI", 22, valid_bits or bits, mask) + guid


def float_wav(rate: int, channels: int, *, extensible: bool, bits: int = 32) -> bytes:
    samples = interleave(tone(rate), channels)
    data = samples.astype("<f4" if bits == 32 else "<f8").tobytes()
    fmt = extensible_fmt(3, channels, rate, bits) if extensible else fmt_chunk(3, channels, rate, bits)
    # A LIST chunk before the data, as many editors write: must be skipped.
    info = b"LIST" + struct.pack("<I", 9) + b"INFOxxxxx" + b"\x00"
    return riff(fmt, data, extra_chunks=info)


def peak_hz(pcm: npt.NDArray[np.int16]) -> float:
    windowed = pcm.astype(np.float64) * np.hanning(pcm.size)
    spectrum = np.abs(np.fft.rfft(windowed))
    freqs = np.fft.rfftfreq(pcm.size, 1 / SAMPLE_RATE)
    return float(freqs[int(np.argmax(spectrum))])


def check_tone(pcm: npt.NDArray[np.int16], channels: int, level_tolerance: float = 0.03) -> None:
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    assert abs(pcm.size - SECONDS * SAMPLE_RATE) <= 2
    assert abs(peak_hz(pcm) - TONE_HZ) <= 2.0  # bins are 2 Hz wide
    expected_level = 0.5 * np.mean([1 / (k + 1) for k in range(channels)])
    middle = pcm[1000:-1000].astype(np.float64) / 32768
    assert np.max(np.abs(middle)) == pytest.approx(expected_level, rel=level_tolerance)


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("bits", [8, 16, 24, 32])
def test_pcm_matrix(tmp_path: Path, rate: int, channels: int, bits: int) -> None:
    path = tmp_path / f"tone_{rate}_{channels}_{bits}.wav"
    write_pcm_wav(path, rate, channels, bits)
    check_tone(read_wav(path), channels)


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("extensible", [False, True])
def test_float32_matrix(tmp_path: Path, rate: int, channels: int, extensible: bool) -> None:
    path = tmp_path / "float.wav"
    path.write_bytes(float_wav(rate, channels, extensible=extensible))
    check_tone(read_wav(path), channels)


def test_float64_and_extensible_pcm(tmp_path: Path) -> None:
    path = tmp_path / "f64.wav"
    path.write_bytes(float_wav(48000, 1, extensible=False, bits=64))
    check_tone(read_wav(path), 1)
    # 24-bit PCM in WAVE_FORMAT_EXTENSIBLE with 20 valid bits, 6 channels (a 5.1 export)
    samples = interleave(tone(44100), 6)
    path.write_bytes(riff(extensible_fmt(1, 6, 44100, 24, valid_bits=20), pcm_bytes(samples, 24)))
    check_tone(read_wav(path), 6)


@pytest.mark.parametrize(("tag", "law"), [(7, "ulaw"), (6, "alaw")])
def test_g711_wav(tmp_path: Path, tag: int, law: g711.Law) -> None:
    pcm8k = np.round(tone(8000) * 32767).astype(np.int16)
    path = tmp_path / f"{law}.wav"
    path.write_bytes(riff(fmt_chunk(tag, 1, 8000, 8), g711.encode(pcm8k, law)))
    check_tone(read_wav(path), 1, level_tolerance=0.05)  # G.711 steps near 0.5 are ~3% of it


def test_24k_mono_16bit_comes_back_bit_exact(tmp_path: Path) -> None:
    original = np.random.default_rng(3).integers(-32768, 32767, 4800, dtype=np.int16)
    path = tmp_path / "exact.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(original.tobytes())
    assert np.array_equal(read_wav(path), original)


def test_odd_sized_chunk_padding_is_respected(tmp_path: Path) -> None:
    pcm = np.arange(100, dtype="<i2")
    odd = b"junk" + struct.pack("<I", 3) + b"abc" + b"\x00"
    path = tmp_path / "padded.wav"
    path.write_bytes(riff(fmt_chunk(1, 1, SAMPLE_RATE, 16), pcm.tobytes(), extra_chunks=odd))
    assert np.array_equal(read_wav(path), pcm)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "x.wav is empty"),
        (b"hello, this is text\n", "x.wav is not a WAV file (no RIFF header)"),
        (
            b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 50,
            "is not a WAV file (no RIFF header; it looks like an MP3",
        ),
        (b"\xff\xfb\x90\x00" * 50, "it looks like an MP3"),
        (b"OggS" + b"\x00" * 60, "it looks like an Ogg file"),
        (b"RIFF\x10\x00\x00\x00AVI LIST", "a RIFF file, but not WAVE audio"),
        (b"RIFF\x24\x00", "it ends inside its RIFF header"),
        (b"RIFF\x04\x00\x00\x00WAVE", "has no format header"),
        (riff(fmt_chunk(1, 1, 8000, 16), b"")[:30], "truncated (it ends inside its format header)"),
        (riff(fmt_chunk(1, 1, 8000, 16), b"")[:36], "has no audio data"),
        (riff(fmt_chunk(1, 1, 8000, 16), b""), "x.wav contains no audio"),
        (riff(fmt_chunk(2, 1, 8000, 4), b"\x00" * 100), "uses Microsoft ADPCM encoding"),
        (riff(fmt_chunk(0x55, 2, 44100, 0), b"\x00" * 100), "uses MP3 encoding"),
        (riff(fmt_chunk(3, 1, 8000, 16), b"\x00" * 100), "uses 16-bit samples"),
        (riff(fmt_chunk(1, 0, 8000, 16), b"\x00" * 100), "is damaged: 0 channels"),
        (riff(b"\x01\x00\x01\x00", b"\x00" * 100), "format header is too short"),
        # Rates no recording has: resampling 1 Hz to 24 kHz would need 24000x the memory.
        (riff(fmt_chunk(1, 1, 1, 16), b"\x00" * 100), "says its sample rate is 1 Hz"),
        (riff(fmt_chunk(1, 1, 999, 16), b"\x00" * 100), "says its sample rate is 999 Hz"),
        (riff(fmt_chunk(1, 1, 10_000_000, 16), b"\x00" * 100), "says its sample rate is 10000000 Hz"),
        (riff(fmt_chunk(1, 1, 1000, 8), b"\x80" * (3600 * 1000 + 1000)), "holds 60 minutes of audio"),
    ],
)
def test_unusable_files_raise_one_clear_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFileError) as caught:
        read_wav(path)
    text = str(caught.value)
    assert message in text
    assert str(path) in text
    assert "\n" not in text


def test_mp3_named_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "x.mp3"
    path.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x0a" + bytes(200))
    with pytest.raises(AudioFileError, match=r"x\.mp3 is not a WAV file \(no RIFF header; it looks like an MP3"):
        read_wav(path)


def test_truncated_data_is_reported_with_durations(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    write_pcm_wav(path, 16000, 1, 16)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(
        AudioFileError, match=r"cut\.wav is truncated: it should hold 0\.50 s of audio but only 0\.2\d s"
    ):
        read_wav(path)


@pytest.mark.parametrize("kind", ["device", "fifo", "folder"])
def test_only_regular_files_are_read(tmp_path: Path, kind: str) -> None:
    """/dev/zero would be read until memory runs out, and a FIFO would wait for a writer forever."""
    if kind == "device":
        path = Path("/dev/zero")
    elif kind == "fifo":
        path = tmp_path / "pipe.wav"
        os.mkfifo(path)
    else:
        path = tmp_path
    with pytest.raises((AudioFileError, IsADirectoryError)) as caught:
        read_wav(path)
    assert "\n" not in str(caught.value)


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_wav(tmp_path / "nope.wav")


def read_with_stdlib(path: Path) -> npt.NDArray[np.int16]:
    with wave.open(str(path), "rb") as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, SAMPLE_RATE)
        return np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").astype(np.int16)


def test_writer_file_is_valid_after_every_write(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "rec.wav"  # parent directories are created
    writer = WavWriter(path)
    assert read_with_stdlib(path).size == 0  # a valid empty WAV from the start
    written: list[npt.NDArray[np.int16]] = []
    for k in range(5):
        block = np.full(480, k * 100 - 200, dtype=np.int16)
        writer.write(block)
        written.append(block)
        expected = np.concatenate(written)
        # Another reader, while the file is still open for writing:
        assert np.array_equal(read_with_stdlib(path), expected)
        assert np.array_equal(read_wav(path), expected)
    assert writer.frames_written == 2400
    writer.close()
    writer.close()  # idempotent
    assert writer.closed
    with pytest.raises(ValueError, match="closed"):
        writer.write(np.zeros(10, dtype=np.int16))


def test_writer_survives_being_abandoned(tmp_path: Path) -> None:
    path = tmp_path / "crash.wav"
    writer = WavWriter(path)
    writer.write(np.arange(1000, dtype=np.int16))
    # No close: what a dying process leaves behind is already complete.
    assert np.array_equal(read_wav(path), np.arange(1000, dtype=np.int16))
    writer.close()


def test_writer_append_and_replace(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    with WavWriter(path) as first:
        first.write(np.full(100, 1, dtype=np.int16))
    with WavWriter(path, append=True) as second:
        second.write(np.full(50, 2, dtype=np.int16))
        assert second.frames_written == 150
    assert read_wav(path).tolist() == [1] * 100 + [2] * 50
    with WavWriter(path) as fresh:
        fresh.write(np.full(10, 3, dtype=np.int16))
    assert read_wav(path).tolist() == [3] * 10
    # append to a file that is not one of ours starts it over
    foreign = tmp_path / "foreign.wav"
    write_pcm_wav(foreign, 44100, 2, 16)
    with WavWriter(foreign, append=True) as writer:
        writer.write(np.full(5, 4, dtype=np.int16))
    assert read_wav(foreign).tolist() == [4] * 5


def test_writer_refuses_other_dtypes(tmp_path: Path) -> None:
    with WavWriter(tmp_path / "t.wav") as writer, pytest.raises(TypeError, match="int16"):
        writer.write(np.zeros(10, dtype=np.float32))
