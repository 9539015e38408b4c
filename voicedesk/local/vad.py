"""Energy voice-activity detection on sample time (not wall time), like server_vad / semantic_vad.

The detector sees 10 ms frames of 24 kHz audio. ``threshold`` (0..1) maps linearly onto a loudness scale
from -70 dBFS (0.0) to -10 dBFS (1.0), so the default 0.5 fires at -40 dBFS: speech at a normal level
(-30..-12 dBFS) starts a turn, room noise (-60..-50 dBFS) does not. A turn starts after a few loud frames
(one click is not speech) and ends after ``silence_ms`` of quiet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.local.codec import Pcm

FRAME = SAMPLE_RATE // 100  # 10 ms
_ONSET_FRAMES = 3  # 30 ms of sustained energy before we call it speech
_HYSTERESIS_DB = 3.0  # once speaking, stay "loud" down to 3 dB under the threshold


def threshold_dbfs(threshold: float) -> float:
    return -70.0 + 60.0 * threshold


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    onset_sample: int  # first loud sample, on the session's input timeline


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    end_sample: int  # where the silence reached silence_ms: the end of the committed turn


VadEvent = SpeechStarted | SpeechStopped


class EnergyVad:
    """Feed any block sizes; get start/stop events positioned on the input timeline."""

    def __init__(self, threshold: float, silence_ms: int) -> None:
        self.threshold_db = threshold_dbfs(threshold)
        self.silence_frames = max(1, int(silence_ms) // 10)
        self.speaking = False
        self._pending = np.zeros(0, dtype=np.int16)
        self._position = 0  # timeline sample index of the first sample in _pending
        self._loud_run = 0
        self._quiet_run = 0

    def reset(self, position: int) -> None:
        """Forget any speech in progress (after a manual commit or clear); resume at ``position``."""
        self.speaking = False
        self._pending = np.zeros(0, dtype=np.int16)
        self._position = position
        self._loud_run = 0
        self._quiet_run = 0

    def feed(self, pcm: Pcm) -> list[VadEvent]:
        data = np.concatenate((self._pending, pcm)) if self._pending.size else pcm
        n_frames = data.size // FRAME
        events: list[VadEvent] = []
        if n_frames:
            frames = data[: n_frames * FRAME].astype(np.float32).reshape(n_frames, FRAME)
            energy = np.mean(frames * frames, axis=1) / (32768.0 * 32768.0)
            level_db = 10.0 * np.log10(np.maximum(energy, 1e-12))
            for i, db in enumerate(level_db.tolist()):
                event = self._step(db, self._position + i * FRAME)
                if event is not None:
                    events.append(event)
        consumed = n_frames * FRAME
        self._pending = data[consumed:].copy()
        self._position += consumed
        return events

    def _step(self, db: float, frame_start: int) -> VadEvent | None:
        if not self.speaking:
            if db >= self.threshold_db:
                self._loud_run += 1
                if self._loud_run >= _ONSET_FRAMES:
                    self.speaking = True
                    self._quiet_run = 0
                    onset = frame_start - (_ONSET_FRAMES - 1) * FRAME
                    self._loud_run = 0
                    return SpeechStarted(onset_sample=onset)
            else:
                self._loud_run = 0
            return None
        if db >= self.threshold_db - _HYSTERESIS_DB:
            self._quiet_run = 0
            return None
        self._quiet_run += 1
        if self._quiet_run >= self.silence_frames:
            self.speaking = False
            self._quiet_run = 0
            return SpeechStopped(end_sample=frame_start + FRAME)
        return None
