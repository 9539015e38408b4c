"""Asking the model for an answer and cutting one off, by the protocol's rules.

An answer is asked for through the response state machine (at most one response at a time; one wanted
meanwhile is deferred until the running one is done). Cutting one off stops local playback at once (the
sink flushes with a short fade), cancels the response if it is still active, and tells the server how much
of the item the person heard (truncate, or delete when nothing was heard).
"""

from __future__ import annotations

from collections.abc import Callable

from voicedesk.session import events as se
from voicedesk.session.intents import CancelResponse, CutHeardItem, RequestResponse, SendUserText
from voicedesk.session.parts import SessionParts


class Answers:
    def __init__(self, parts: SessionParts, *, update_activity: Callable[[], None]) -> None:
        self._parts = parts
        self._update_activity = update_activity

    def request(self) -> None:
        """The person's turn is complete (or tool outputs are in): the model should answer."""
        parts = self._parts
        if parts.responses.request():
            parts.wire.send(RequestResponse())
        self._update_activity()

    def reply_to_text(self, text: str) -> None:
        """The person typed a message: cut off the answer in progress, send the text, ask for an answer."""
        text = text.strip()
        if not text:
            return
        self.interrupt()
        self._parts.wire.send(SendUserText(text))
        self._parts.turn_clock.start()
        self.request()

    def interrupt(self, reason: se.InterruptReason = "user") -> bool:
        """Silence the assistant at once and tell the server what was heard. True if anything stopped."""
        parts = self._parts
        stopped = False
        # On barge-in the server cancels its own response (interrupt_response): no cancel of ours.
        if reason == "user" and parts.responses.cancel():
            parts.wire.send(CancelResponse())
            stopped = True
        span = parts.playback.current()
        if span is not None:
            heard = parts.playback.cut(span)
            parts.wire.send(CutHeardItem(heard.item_id, heard.content_index, heard.audio_end_ms))
            parts.conversation.truncate(heard.item_id, heard.audio_end_ms)
            parts.emit(se.AudioInterrupted(heard.item_id, heard.audio_end_ms, reason))
            parts.emit(se.HistoryUpdated(parts.conversation.items()))
            stopped = True
        self._update_activity()
        return stopped
