"""ITU-T G.711 µ-law and A-law (the protocol's ``audio/pcmu`` and ``audio/pcma`` at 8 kHz), vectorised.

Encoding follows the reference coder of ITU-T G.191: µ-law quantises the top 14 bits of a 16-bit sample,
A-law the top 13, negative values via their one's complement, so the codes are symmetric around zero
(µ-law 0 -> 0xFF, A-law 0 -> 0xD5). Decoding returns the middle of each quantisation interval, through a
256-entry lookup table. Silence decodes to 0 in µ-law and to +-8 in A-law, which has no zero level.

The rate helpers convert between the 24 kHz of the audio layer and G.711's 8 kHz with soxr. The one-shot
functions are for whole clips; a stream of small blocks should go through ``Resampler8k`` so the filter
carries its state across blocks instead of starting (and clicking) fresh at every block edge.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import soxr

from voicedesk.audio.base import SAMPLE_RATE, Pcm16

G711_RATE = 8_000
Law = Literal["ulaw", "alaw"]

_ULAW_BIAS = 33  # in 14-bit units (132 in 16-bit units)
_ULAW_MAX = 0x1FFF  # biased magnitude ceiling, 14-bit
_ULAW_SEGMENT_ENDS = np.array([64 << s for s in range(7)], dtype=np.int32)  # biased, 14-bit
_ALAW_SEGMENT_ENDS = np.array([16 << s for s in range(7)], dtype=np.int32)  # magnitude, 12-bit


def ulaw_encode(pcm: Pcm16) -> bytes:
    """16-bit linear -> µ-law bytes, one per sample."""
    linear = _as_int32(pcm)
    negative = linear < 0
    magnitude = np.where(negative, ~linear, linear) >> 2  # one's complement: -1 and 0 share a code
    biased = np.minimum(magnitude + _ULAW_BIAS, _ULAW_MAX)
    segment = np.searchsorted(_ULAW_SEGMENT_ENDS, biased, side="right").astype(np.int32)
    mantissa = (biased >> (segment + 1)) & 0x0F
    code = (segment << 4) | mantissa
    signed: npt.NDArray[np.int32] = np.where(negative, code | 0x80, code)
    return (~signed & 0xFF).astype(np.uint8).tobytes()


def alaw_encode(pcm: Pcm16) -> bytes:
    """16-bit linear -> A-law bytes, one per sample."""
    linear = _as_int32(pcm)
    negative = linear < 0
    magnitude = np.where(negative, ~linear, linear) >> 4  # 12 bits
    segment = np.searchsorted(_ALAW_SEGMENT_ENDS, magnitude, side="right").astype(np.int32)
    # Segments 0 and 1 share a step of 1 (in 12-bit units); each later segment doubles it.
    mantissa = (magnitude >> np.maximum(segment - 1, 0)) & 0x0F
    code = (segment << 4) | mantissa
    code = np.where(negative, code, code | 0x80)
    return (code ^ 0x55).astype(np.uint8).tobytes()


def _ulaw_table() -> Pcm16:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    segment = (code >> 4) & 0x07
    mantissa = code & 0x0F
    step = 8 << segment  # 16-bit units
    magnitude = (0x80 << segment) + step * mantissa + step // 2 - 4 * _ULAW_BIAS
    table: Pcm16 = np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)
    return table


def _alaw_table() -> Pcm16:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (code >> 4) & 0x07
    mantissa = code & 0x0F
    level = np.where(segment > 0, mantissa + 16, mantissa)
    magnitude = ((level << 4) + 8) << np.maximum(segment - 1, 0)
    table: Pcm16 = np.where(code & 0x80, magnitude, -magnitude).astype(np.int16)
    return table


_ULAW_DECODE = _ulaw_table()
_ALAW_DECODE = _alaw_table()


def ulaw_decode(data: bytes) -> Pcm16:
    """µ-law bytes -> 16-bit linear."""
    decoded: Pcm16 = _ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]
    return decoded


def alaw_decode(data: bytes) -> Pcm16:
    """A-law bytes -> 16-bit linear."""
    decoded: Pcm16 = _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)]
    return decoded


def encode(pcm: Pcm16, law: Law) -> bytes:
    return ulaw_encode(pcm) if law == "ulaw" else alaw_encode(pcm)


def decode(data: bytes, law: Law) -> Pcm16:
    return ulaw_decode(data) if law == "ulaw" else alaw_decode(data)


def to_8k(pcm: Pcm16) -> Pcm16:
    """A whole 24 kHz clip -> 8 kHz (anti-aliased)."""
    return _resample(pcm, SAMPLE_RATE, G711_RATE)


def from_8k(pcm: Pcm16) -> Pcm16:
    """A whole 8 kHz clip -> 24 kHz."""
    return _resample(pcm, G711_RATE, SAMPLE_RATE)


class Resampler8k:
    """Streaming 24 kHz <-> 8 kHz for block-by-block audio; the filter delay is a few milliseconds."""

    def __init__(self, direction: Literal["to_8k", "from_8k"]) -> None:
        rates = (SAMPLE_RATE, G711_RATE) if direction == "to_8k" else (G711_RATE, SAMPLE_RATE)
        self._stream = soxr.ResampleStream(*rates, 1, dtype="int16", quality="HQ")

    def process(self, pcm: Pcm16, *, last: bool = False) -> Pcm16:
        """Convert the next block; ``last=True`` also flushes what the filter still holds."""
        out: Pcm16 = np.asarray(
            self._stream.resample_chunk(np.ascontiguousarray(pcm, dtype=np.int16), last=last), dtype=np.int16
        )
        return out


def _resample(pcm: Pcm16, in_rate: int, out_rate: int) -> Pcm16:
    if pcm.size == 0:
        return np.zeros(0, dtype=np.int16)
    out: Pcm16 = np.asarray(
        soxr.resample(np.ascontiguousarray(pcm, dtype=np.int16), in_rate, out_rate, quality="HQ"),
        dtype=np.int16,
    )
    return out


def _as_int32(pcm: Pcm16) -> npt.NDArray[np.int32]:
    return np.asarray(pcm, dtype=np.int16).astype(np.int32).ravel()
