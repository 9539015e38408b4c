"""Which assistant audio is where on the playback timeline, so an interruption can say exactly how
much of an item the person heard.

The sink's timeline counts samples delivered to the device (``played_samples``). When the first audio
of an item is written, the item starts at ``played + buffered``; what the person has heard of it is
``played - output latency - start``, clamped to [0, audio received]. That integer number of
milliseconds is what ``conversation.item.truncate`` needs: never more than the audio received for the
item (the service refuses "Audio content of X ms is already shorter than Y ms").
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from voicedesk.audio.base import SAMPLE_RATE, AudioSink, Pcm16, samples_to_ms


@dataclass(slots=True)
class Span:
    item_id: str
    content_index: int
    start: int
    received: int = 0
    audio_done: bool = False
    cut: bool = False
    ended: bool = False


@dataclass(frozen=True, slots=True)
class Heard:
    item_id: str
    content_index: int
    audio_end_ms: int
    received_ms: int


class PlaybackTracker:
    def __init__(self, sink: AudioSink) -> None:
        self._sink = sink
        self._spans: dict[str, Span] = {}
        self._order: list[str] = []
        self.first_played_at: float | None = None
        self._first_start: int | None = None

    def write(self, item_id: str, content_index: int, pcm: Pcm16) -> bool:
        """Queue an item's audio; returns False (and drops it) if that item was interrupted."""
        span = self._spans.get(item_id)
        if span is None:
            span = Span(item_id, content_index, self._sink.played_samples + self._sink.buffered_samples)
            self._spans[item_id] = span
            self._order.append(item_id)
            if len(self._order) > 64:  # keep only recent items: old ones can no longer be interrupted
                self._spans.pop(self._order.pop(0), None)
        if span.cut:
            return False
        span.received += len(pcm)
        self._sink.write(pcm)
        return True

    def mark_audio_done(self, item_id: str) -> None:
        span = self._spans.get(item_id)
        if span is not None:
            span.audio_done = True

    def mark_all_audio_done(self) -> None:
        """The response ended: no more audio will come for any item (even without audio.done)."""
        for span in self._spans.values():
            span.audio_done = True

    def expect_first_audio(self) -> None:
        """A new turn: the next item written is the one whose first played sample we time."""
        self.first_played_at = None
        self._first_start = None

    def note_first_write(self, item_id: str) -> None:
        if self._first_start is None and item_id in self._spans:
            self._first_start = self._spans[item_id].start

    def poll_first_played(self) -> float | None:
        """The monotonic time the turn's first audio reached the device, once it has (else None)."""
        started = self._first_start
        if self.first_played_at is None and started is not None and self._sink.played_samples > started:
            self.first_played_at = time.monotonic()
        return self.first_played_at

    def current(self) -> Span | None:
        """The item being heard or about to be heard: the latest one not cut and not yet fully played."""
        played = self._sink.played_samples
        for item_id in reversed(self._order):
            span = self._spans[item_id]
            if not span.cut and (not span.audio_done or played < span.start + span.received):
                return span
        return None

    def span_of(self, item_id: str) -> Span | None:
        return self._spans.get(item_id)

    def refuse(self, item_id: str, content_index: int = 0) -> None:
        """Never play this item's audio, none of which has arrived yet (a guardrail stopped it first)."""
        if item_id not in self._spans:
            self._spans[item_id] = Span(item_id, content_index, self._sink.played_samples, cut=True)
            self._order.append(item_id)

    def is_playing(self) -> bool:
        return self.current() is not None and self._sink.buffered_samples > 0

    def heard(self, span: Span) -> Heard:
        latency = int(self._sink.output_latency_s * SAMPLE_RATE)
        heard = self._sink.played_samples - latency - span.start
        heard = max(0, min(heard, span.received))
        return Heard(span.item_id, span.content_index, samples_to_ms(heard), samples_to_ms(span.received))

    def heard_now(self) -> Heard | None:
        """How much of the current item has been heard, or None when nothing plays."""
        span = self.current()
        return self.heard(span) if span is not None else None

    def cut(self, span: Span) -> Heard:
        """Stop this item: measure what was heard first, then flush the sink (with its short fade)."""
        heard = self.heard(span)
        span.cut = True
        self._sink.flush()
        return heard

    def finished_items(self) -> list[str]:
        """Items whose audio has completely played since the last call (for ``audio_end`` events)."""
        played = self._sink.played_samples
        done = []
        for item_id in self._order:
            span = self._spans[item_id]
            if not span.ended and not span.cut and span.audio_done and played >= span.start + span.received:
                span.ended = True
                done.append(item_id)
        return done
