"""Session audio formats on the wire <-> the 24 kHz pcm16 the audio layer speaks."""

from __future__ import annotations

import base64

import numpy as np

from voicedesk.audio import g711
from voicedesk.audio.base import Pcm16
from voicedesk.realtime.session_config import AudioFormat


def encode_input(pcm: Pcm16, fmt: AudioFormat) -> str:
    """Microphone block -> base64 payload of ``input_audio_buffer.append``."""
    if fmt == "pcm16":
        data = pcm.astype("<i2", copy=False).tobytes()
    elif fmt == "g711_ulaw":
        data = g711.ulaw_encode(g711.to_8k(pcm))
    else:
        data = g711.alaw_encode(g711.to_8k(pcm))
    return base64.b64encode(data).decode("ascii")


def decode_output(payload: str, fmt: AudioFormat) -> Pcm16:
    """Base64 audio delta -> 24 kHz pcm16 for the sink."""
    data = base64.b64decode(payload)
    if fmt == "pcm16":
        usable = len(data) - (len(data) % 2)  # a torn odd byte must not crash the receive path
        return np.frombuffer(data[:usable], dtype="<i2").astype(np.int16, copy=False)
    decoded = g711.ulaw_decode(data) if fmt == "g711_ulaw" else g711.alaw_decode(data)
    return g711.from_8k(decoded)
