"""Audio formats on the wire: base64 pcm16 at 24 kHz, or G.711 µ-law / A-law at 8 kHz.

Inside the server everything is 24 kHz int16, so the VAD and the item bookkeeping count one kind of sample.
The G.711 tables follow ITU-T G.711 (segment/mantissa coding), vectorised with numpy.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

import numpy as np
import numpy.typing as npt

from voicedesk.audio.base import SAMPLE_RATE

Format = Literal["pcm16", "pcmu", "pcma"]
Pcm = npt.NDArray[np.int16]

G711_RATE = 8_000
_RATIO = SAMPLE_RATE // G711_RATE  # 3

_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635


def _segment(values: npt.NDArray[np.int32], first_bit: int) -> npt.NDArray[np.int32]:
    """Index of the highest set bit above ``first_bit`` (0..7): the G.711 segment number."""
    seg = np.zeros(values.shape, dtype=np.int32)
    for s in range(1, 8):
        seg[values >= (1 << (first_bit + s))] = s
    return seg


def ulaw_encode(pcm: Pcm) -> bytes:
    x = pcm.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0).astype(np.int32)
    mag = np.minimum(np.abs(x), _ULAW_CLIP) + _ULAW_BIAS
    seg = _segment(mag, 7)
    mantissa = (mag >> (seg + 3)) & 0x0F
    code = ~(sign | (seg << 4) | mantissa) & 0xFF
    return code.astype(np.uint8).tobytes()


def ulaw_decode(data: bytes) -> Pcm:
    u = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    seg = (u >> 4) & 0x07
    mag = (((u & 0x0F) << 3) + _ULAW_BIAS) << seg
    mag -= _ULAW_BIAS
    return np.where(u & 0x80, -mag, mag).astype(np.int16)


def alaw_encode(pcm: Pcm) -> bytes:
    x = pcm.astype(np.int32) >> 3  # A-law codes 13-bit magnitudes
    positive = x >= 0
    mask = np.where(positive, 0xD5, 0x55).astype(np.int32)
    mag = np.where(positive, x, -x - 1)
    seg = _segment(mag, 4)
    low = np.where(seg < 2, (mag >> 1) & 0x0F, (mag >> np.maximum(seg, 1)) & 0x0F)
    code = ((seg << 4) | low) ^ mask
    code = np.where(mag > 0xFFF, 0x7F ^ mask, code)
    return code.astype(np.uint8).tobytes()


def alaw_decode(data: bytes) -> Pcm:
    a = np.frombuffer(data, dtype=np.uint8).astype(np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype(np.int16)


def upsample_8k(pcm8: Pcm) -> Pcm:
    """8 kHz -> 24 kHz by linear interpolation (enough for energy VAD and for listening back)."""
    if pcm8.size == 0:
        return np.zeros(0, dtype=np.int16)
    src = np.arange(pcm8.size, dtype=np.float64)
    dst = np.arange(pcm8.size * _RATIO, dtype=np.float64) / _RATIO
    return np.interp(dst, src, pcm8.astype(np.float64)).astype(np.int16)


def downsample_24k(pcm: Pcm) -> Pcm:
    """24 kHz -> 8 kHz: average each group of three samples (a crude low-pass) and keep one."""
    n = pcm.size - pcm.size % _RATIO
    grouped = pcm[:n].astype(np.int32).reshape(-1, _RATIO)
    out: Pcm = (grouped.sum(axis=1) // _RATIO).astype(np.int16)
    return out


def decode_b64(data: str) -> bytes:
    """Strict base64; raises ValueError with a short reason."""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("expected base64-encoded audio data") from exc


def to_pcm24(raw: bytes, fmt: Format) -> Pcm:
    """Wire bytes in ``fmt`` -> 24 kHz int16. A trailing odd byte of pcm16 is dropped."""
    if fmt == "pcm16":
        usable = len(raw) - len(raw) % 2
        return np.frombuffer(raw[:usable], dtype="<i2").astype(np.int16)
    pcm8 = ulaw_decode(raw) if fmt == "pcmu" else alaw_decode(raw)
    return upsample_8k(pcm8)


def from_pcm24(pcm: Pcm, fmt: Format) -> bytes:
    """24 kHz int16 -> wire bytes in ``fmt``."""
    if fmt == "pcm16":
        return pcm.astype("<i2").tobytes()
    pcm8 = downsample_24k(pcm)
    return ulaw_encode(pcm8) if fmt == "pcmu" else alaw_encode(pcm8)


def encode_b64(pcm: Pcm, fmt: Format) -> str:
    return base64.b64encode(from_pcm24(pcm, fmt)).decode("ascii")
