"""Audio formats on the wire: base64 pcm16 at 24 kHz, or G.711 µ-law / A-law at 8 kHz.

Inside the server everything is 24 kHz int16, so the VAD and the item bookkeeping count one kind of sample.
The G.711 coding is the client's own (``voicedesk.audio.g711``); the rate conversion here is its own on
purpose: exactly three 24 kHz samples per 8 kHz one and no filter delay, so sample counts (truncation,
``audio_end_ms``) stay exact.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

import numpy as np
import numpy.typing as npt

from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.audio.g711 import G711_RATE, alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

__all__ = [
    "Format",
    "Pcm",
    "alaw_decode",
    "alaw_encode",
    "decode_b64",
    "downsample_24k",
    "encode_b64",
    "from_pcm24",
    "to_pcm24",
    "ulaw_decode",
    "ulaw_encode",
    "upsample_8k",
]

Format = Literal["pcm16", "pcmu", "pcma"]
Pcm = npt.NDArray[np.int16]

_RATIO = SAMPLE_RATE // G711_RATE  # 3


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
