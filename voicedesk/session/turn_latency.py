"""How long the person waits for an answer: end of their turn -> first answer audio received -> first
answer audio played (``TurnLatency``)."""

from __future__ import annotations

import time

from voicedesk.session.events import TurnLatency
from voicedesk.session.playback_timeline import PlaybackTracker


class TurnClock:
    def __init__(self, playback: PlaybackTracker) -> None:
        self._playback = playback
        self._started_at: float | None = None
        self._first_audio_ms: float | None = None
        self._response_had_audio = False

    def start(self) -> None:
        """The person's turn ended (commit, text sent, or the VAD heard them stop)."""
        self._started_at = time.monotonic()
        self._first_audio_ms = None
        self._playback.expect_first_audio()

    def response_started(self) -> None:
        self._response_had_audio = False

    def audio_received(self, item_id: str) -> None:
        """Answer audio was queued for playback; only a response's first audio counts."""
        if self._response_had_audio:
            return
        self._response_had_audio = True
        self._playback.note_first_write(item_id)
        if self._started_at is not None and self._first_audio_ms is None:
            self._first_audio_ms = (time.monotonic() - self._started_at) * 1000

    def poll(self) -> TurnLatency | None:
        """The turn's latency once its first audio has reached the device (once per turn)."""
        played_at = self._playback.poll_first_played()
        if played_at is None or self._started_at is None or self._first_audio_ms is None:
            return None
        latency = TurnLatency(self._first_audio_ms, (played_at - self._started_at) * 1000)
        self._started_at = None
        return latency

    def reset(self) -> None:
        self._started_at = None
        self._first_audio_ms = None
        self._response_had_audio = False
