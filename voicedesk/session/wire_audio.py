"""Session audio formats on the wire <-> the 24 kHz pcm16 the audio layer speaks.

G.711 runs at 8 kHz: the rate conversion keeps its filter state from block to block (one resampler per
direction), so 20 ms blocks join without a click at every edge.
"""

from __future__ import annotations

import base64
import binascii
import sys
from typing import Literal

import numpy as np

from voicedesk.audio import g711
from voicedesk.audio.base import Pcm16
from voicedesk.realtime.session_config import AudioFormat

_PCM16_LE = np.dtype("<i2")
_NATIVE_IS_LE = sys.byteorder == "little"  # then the wire's pcm16 is already the native int16


class BadAudio(ValueError):
    """An audio payload that is not valid base64."""


class AudioCodec:
    def __init__(self, input_format: AudioFormat, output_format: AudioFormat) -> None:
        self.input_format = input_format
        self.output_format = output_format
        # Made on first G.711 use: most sessions are pcm16 and never need one (and a native resampler
        # still alive at interpreter exit is reported as a leak).
        self._down: g711.Resampler8k | None = None
        self._up: g711.Resampler8k | None = None

    def set_formats(self, input_format: AudioFormat, output_format: AudioFormat) -> None:
        """New session formats; the resamplers start afresh only when a format changed."""
        if (input_format, output_format) != (self.input_format, self.output_format):
            self.input_format = input_format
            self.output_format = output_format
            self._down = self._up = None

    def encode_input(self, pcm: Pcm16) -> str:
        """Microphone block -> base64 payload of ``input_audio_buffer.append``."""
        if self.input_format == "pcm16":
            data = pcm.astype("<i2", copy=False).tobytes()
        else:
            law: Literal["ulaw", "alaw"] = "ulaw" if self.input_format == "g711_ulaw" else "alaw"
            if self._down is None:
                self._down = g711.Resampler8k("to_8k")
            data = g711.encode(self._down.process(pcm), law)
        return base64.b64encode(data).decode("ascii")

    def decode_output(self, payload: str) -> Pcm16:
        """Base64 audio delta -> 24 kHz pcm16 for the sink; raises BadAudio on a corrupt payload."""
        try:
            # What base64.b64decode(validate=False) does, without its copy of the text to bytes first.
            data = binascii.a2b_base64(payload)
        except (binascii.Error, ValueError) as exc:  # ValueError: non-ASCII text
            raise BadAudio(str(exc)) from None
        if self.output_format == "pcm16":
            if len(data) % 2:
                data = data[:-1]  # a torn odd byte must not crash the receive path
            pcm = np.frombuffer(data, _PCM16_LE)  # dtype given positionally: numpy parses keywords slowly
            return pcm if _NATIVE_IS_LE else pcm.astype(np.int16)
        law: Literal["ulaw", "alaw"] = "ulaw" if self.output_format == "g711_ulaw" else "alaw"
        if self._up is None:
            self._up = g711.Resampler8k("from_8k")
        return self._up.process(g711.decode(data, law))
