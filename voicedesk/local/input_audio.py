"""The input audio buffer on the session's input timeline, with optional turn detection.

Positions are samples since the session started (``audio_start_ms`` / ``audio_end_ms`` are measured on
that timeline, as the real service does). With turn detection on, a turn is the audio from the speech onset
minus ``prefix_padding_ms`` up to the point where ``silence_duration_ms`` of quiet was reached; audio before
a turn is dropped once it cannot become prefix padding any more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voicedesk.audio.base import SAMPLE_RATE, ms_to_samples, samples_to_ms
from voicedesk.local.codec import Pcm
from voicedesk.local.vad import EnergyVad, SpeechStarted
from voicedesk.local.wire import IdMaker

_KEEP_IDLE_S = 1.0  # idle audio kept under VAD, enough for any sensible prefix padding


@dataclass(frozen=True, slots=True)
class TurnStarted:
    item_id: str
    audio_start_ms: int


@dataclass(frozen=True, slots=True)
class TurnEnded:
    item_id: str
    audio_end_ms: int
    audio: Pcm


TurnEvent = TurnStarted | TurnEnded


class InputAudio:
    def __init__(self, ids: IdMaker) -> None:
        self._ids = ids
        self._chunks: list[Pcm] = []
        self._start = 0  # timeline position of the first buffered sample
        self._end = 0  # timeline position after the last buffered sample
        self._vad: EnergyVad | None = None
        self._settings: tuple[float, int, int] | None = None
        self._prefix = 0
        self._turn: tuple[str, int] | None = None  # (item id, start sample) of the turn in progress

    @property
    def buffered_samples(self) -> int:
        return self._end - self._start

    def configure(self, vad: tuple[float, int, int] | None) -> None:
        """(threshold, prefix_padding_ms, silence_duration_ms), or None for manual commits only."""
        if vad is None:
            self._vad = None
            self._turn = None
            return
        if self._vad is not None and vad == self._settings:
            return  # unchanged: keep a turn in progress going
        threshold, prefix_ms, silence_ms = vad
        self._settings = vad
        self._vad = EnergyVad(threshold, silence_ms)
        self._vad.reset(self._end)
        self._prefix = ms_to_samples(prefix_ms)
        self._turn = None

    def append(self, pcm: Pcm) -> list[TurnEvent]:
        if pcm.size == 0:
            return []
        self._chunks.append(pcm)
        self._end += pcm.size
        if self._vad is None:
            return []
        events: list[TurnEvent] = []
        for event in self._vad.feed(pcm):
            if isinstance(event, SpeechStarted):
                start = max(self._start, event.onset_sample - self._prefix)
                self._turn = (self._ids.new("item"), start)
                events.append(TurnStarted(self._turn[0], samples_to_ms(start)))
            elif self._turn is not None:
                item_id, start = self._turn
                self._turn = None
                audio = self._take(start, event.end_sample)
                events.append(TurnEnded(item_id, samples_to_ms(event.end_sample), audio))
        if self._turn is None:
            self._forget_before(self._end - max(self._prefix, int(_KEEP_IDLE_S * SAMPLE_RATE)))
        return events

    def commit(self) -> tuple[str, Pcm]:
        """A manual commit: everything buffered becomes the item (the VAD turn's id if one is open)."""
        item_id = self._turn[0] if self._turn is not None else self._ids.new("item")
        audio = self._take(self._start, self._end)
        self._restart_vad()
        return item_id, audio

    def clear(self) -> None:
        self._chunks = []
        self._start = self._end
        self._restart_vad()

    def _restart_vad(self) -> None:
        self._turn = None
        if self._vad is not None:
            self._vad.reset(self._end)

    def _take(self, start: int, stop: int) -> Pcm:
        """Samples [start, stop) of the timeline; everything before ``stop`` leaves the buffer."""
        if not self._chunks:
            data = np.zeros(0, dtype=np.int16)
        else:
            data = self._chunks[0] if len(self._chunks) == 1 else np.concatenate(self._chunks)
        lo, hi = max(0, start - self._start), max(0, stop - self._start)
        taken = data[lo:hi].copy()
        rest = data[hi:]
        self._chunks = [rest] if rest.size else []
        self._start = max(self._start, min(stop, self._end))
        return taken

    def _forget_before(self, position: int) -> None:
        if position <= self._start:
            return
        self._take(self._start, position)
