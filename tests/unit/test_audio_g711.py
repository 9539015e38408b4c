"""G.711 against an independent scalar rendering of the G.191 reference coder, plus the rate helpers."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from voicedesk.audio import g711
from voicedesk.audio.base import SAMPLE_RATE

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)


def ulaw_reference(linear: int) -> int:
    """One sample, the way ITU-T G.191 describes µ-law compression (segment search by shifting)."""
    magnitude = ((~linear) >> 2) if linear < 0 else (linear >> 2)
    biased = min(magnitude + 33, 0x1FFF)
    rest, segment_number = biased >> 6, 1
    while rest:
        segment_number += 1
        rest >>= 1
    code = ((8 - segment_number) << 4) | (15 - ((biased >> segment_number) & 0xF))
    return code | 0x80 if linear >= 0 else code


def alaw_reference(linear: int) -> int:
    magnitude = ((~linear) >> 4) if linear < 0 else (linear >> 4)
    if magnitude > 15:
        exponent = 1
        while magnitude > 31:
            magnitude >>= 1
            exponent += 1
        magnitude = magnitude - 16 + (exponent << 4)
    if linear >= 0:
        magnitude |= 0x80
    return magnitude ^ 0x55


def codes(data: bytes) -> npt.NDArray[np.uint8]:
    return np.frombuffer(data, dtype=np.uint8)


def test_known_values() -> None:
    zero = np.zeros(1, dtype=np.int16)
    assert g711.ulaw_encode(zero) == b"\xff"
    assert g711.alaw_encode(zero) == b"\xd5"
    assert g711.ulaw_decode(b"\xff").tolist() == [0]
    assert g711.ulaw_decode(b"\x7f").tolist() == [0]  # "negative zero"
    assert g711.alaw_decode(b"\xd5").tolist() == [8]  # A-law has no zero level
    assert g711.alaw_decode(b"\x55").tolist() == [-8]
    assert g711.ulaw_decode(b"\x80\x00").tolist() == [32124, -32124]  # full scale
    assert g711.alaw_decode(b"\xaa\x2a").tolist() == [32256, -32256]
    extremes = np.array([32767, -32768], dtype=np.int16)
    assert g711.ulaw_encode(extremes) == b"\x80\x00"
    assert g711.alaw_encode(extremes) == b"\xaa\x2a"


def test_ulaw_matches_the_reference_for_every_sample() -> None:
    expected = np.array([ulaw_reference(int(x)) for x in ALL_INT16], dtype=np.uint8)
    assert np.array_equal(codes(g711.ulaw_encode(ALL_INT16)), expected)


def test_alaw_matches_the_reference_for_every_sample() -> None:
    expected = np.array([alaw_reference(int(x)) for x in ALL_INT16], dtype=np.uint8)
    assert np.array_equal(codes(g711.alaw_encode(ALL_INT16)), expected)


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_decoding_then_encoding_gives_the_code_back(law: g711.Law) -> None:
    every_code = bytes(range(256))
    again = codes(g711.encode(g711.decode(every_code, law), law))
    mismatched = [c for c in range(256) if again[c] != c]
    # Only µ-law's negative zero (0x7F) folds onto positive zero (0xFF).
    assert mismatched == ([0x7F] if law == "ulaw" else [])


@pytest.mark.parametrize(("law", "relative"), [("ulaw", 1 / 32), ("alaw", 1 / 32)])
def test_round_trip_error_is_within_half_a_step(law: g711.Law, relative: float) -> None:
    decoded = g711.decode(g711.encode(ALL_INT16, law), law).astype(np.int64)
    original = ALL_INT16.astype(np.int64)
    error = np.abs(decoded - original)
    in_range = np.abs(original) < 32000  # beyond, the codec clips to its full scale
    bound = np.maximum(9, (np.abs(original) + 132) * relative + 1)
    assert np.all(error[in_range] <= bound[in_range])
    assert error.max() <= 644  # the clipped extremes
    assert np.all(np.sign(decoded[np.abs(original) > 16]) == np.sign(original[np.abs(original) > 16]))


def test_decode_is_monotonic_in_level() -> None:
    ulaw = g711.ulaw_decode(bytes(range(0x80, 0x100)))  # positive codes, 0x80 loudest
    assert np.all(np.diff(ulaw.astype(np.int32)) < 0)
    alaw = g711.alaw_decode(bytes(c ^ 0x55 for c in range(0x80, 0x100)))  # positive codes by level
    assert np.all(np.diff(alaw.astype(np.int32)) > 0)


def tone(rate: int, hz: float, seconds: float = 0.5) -> npt.NDArray[np.int16]:
    t = np.arange(int(rate * seconds)) / rate
    return np.round(0.5 * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def peak_hz(pcm: npt.NDArray[np.int16], rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(pcm.size)))
    return float(np.fft.rfftfreq(pcm.size, 1 / rate)[int(np.argmax(spectrum))])


def test_rate_helpers_keep_the_tone() -> None:
    down = g711.to_8k(tone(SAMPLE_RATE, 1000))
    assert down.dtype == np.int16 and down.size == 4000
    assert abs(peak_hz(down, 8000) - 1000) <= 2
    up = g711.from_8k(tone(8000, 1000))
    assert up.dtype == np.int16 and up.size == 12000
    assert abs(peak_hz(up, SAMPLE_RATE) - 1000) <= 2
    assert g711.to_8k(np.zeros(0, dtype=np.int16)).size == 0


def test_downsampling_removes_what_8k_cannot_carry() -> None:
    # 5 kHz is above 8 kHz's Nyquist limit: it must be filtered out, not folded back to 3 kHz.
    down = g711.to_8k(tone(SAMPLE_RATE, 5000))
    assert np.max(np.abs(down[200:-200])) < 0.01 * 32767


def test_streaming_resampler_over_blocks() -> None:
    source = tone(SAMPLE_RATE, 1000, seconds=1.0)
    stream = g711.Resampler8k("to_8k")
    parts = [stream.process(source[i : i + 480]) for i in range(0, source.size, 480)]
    parts.append(stream.process(np.zeros(0, dtype=np.int16), last=True))
    joined = np.concatenate(parts)
    assert abs(joined.size - 8000) <= 2
    assert abs(peak_hz(joined, 8000) - 1000) <= 1
    # No clicks at block edges: all energy sits at the tone (leaving out the filter's start-up).
    spectrum = np.abs(np.fft.rfft(joined[400:-400].astype(np.float64) * np.hanning(joined.size - 800))) ** 2
    freqs = np.fft.rfftfreq(joined.size - 800, 1 / 8000)
    near = np.abs(freqs - 1000) < 30
    assert spectrum[~near].sum() < 1e-4 * spectrum[near].sum()
    back = g711.Resampler8k("from_8k")
    up = np.concatenate([back.process(joined[i : i + 160]) for i in range(0, joined.size, 160)])
    assert abs(peak_hz(up, SAMPLE_RATE) - 1000) <= 1
