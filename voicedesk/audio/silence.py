"""Notices a microphone that records digital silence, and notices when it hears again.

A microphone that is muted in the system mixer, blocked by the operating system's privacy settings
(macOS and Windows hand an app without permission a stream of zeros, not an error), or simply the wrong
input (a monitor of a silent sink, an empty line-in) records nothing but zeros, and the assistant waits
forever for a voice it cannot hear. A working microphone is never digitally silent: even in a quiet
room its noise floor moves the lowest bits. So the watch counts samples that stay within ``floor`` of
zero and reports once enough of them have passed in a row, and again at the first sound after that.

How many is enough depends on whether the stream has heard anything yet. A stream that has been silent
from its first sample (permission refused, muted before the start, the wrong input) is reported after
``after_s``. Once it has heard sound, a silence is more likely a pause behind a noise gate (some USB
microphones, noise suppression filters) than a mute, so only a long one (``after_sound_s``) is reported.

It must see the raw samples, before echo control: the suppressor and the half-duplex mode write true
zeros on purpose.
"""

from __future__ import annotations

from typing import Literal

from voicedesk.audio.base import SAMPLE_RATE, Pcm16

Change = Literal["went silent", "hears again"]


class SilenceWatch:
    def __init__(
        self, after_s: float = 3.0, after_sound_s: float = 15.0, *, floor: int = 2, rate: int = SAMPLE_RATE
    ) -> None:
        self._limit_from_start = max(1, round(after_s * rate))
        self._limit_after_sound = max(1, round(after_sound_s * rate))
        self._floor = floor
        self._quiet = 0  # samples within the floor in a row
        self._heard = False  # this stream has had sound
        self.silent = False  # reported silent, not yet heard again

    def feed(self, block: Pcm16) -> Change | None:
        """Count one block of raw microphone samples; returns the change it brought, if any."""
        if block.size == 0:
            return None
        # max/min rather than abs: abs(-32768) does not fit in an int16
        if int(block.max()) > self._floor or int(block.min()) < -self._floor:
            self._quiet = 0
            self._heard = True
            if self.silent:
                self.silent = False
                return "hears again"
            return None
        self._quiet += block.size
        limit = self._limit_after_sound if self._heard else self._limit_from_start
        if not self.silent and self._quiet >= limit:
            self.silent = True
            return "went silent"
        return None

    def restart(self) -> None:
        """A new stream (another device, a reopened one): count its silence from its first sample.
        A silence already reported stays reported, so the first sound on the new stream clears it."""
        self._quiet = 0
        self._heard = False
