"""Asking the model for an answer and cutting one off, by the protocol's rules.

An answer is asked for through the response state machine (at most one response at a time; one wanted
meanwhile is deferred until the running one is done), and not before the service's request limit resets
when its last ``rate_limits.updated`` said none are left (the session reads as busy meanwhile).

Cutting one off stops local playback at once (the sink flushes with a short fade), cancels the response if
it is still active, and tells the server how much of the item the person heard (truncate, or delete when
nothing was heard)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from voicedesk.session import events as se
from voicedesk.session.intents import CancelResponse, CutHeardItem, RequestResponse, SendUserMessage, SendUserText
from voicedesk.session.items import ImagePart, new_image_item_id
from voicedesk.session.parts import SessionParts
from voicedesk.session.rate_limits import RequestGate


class Answers:
    def __init__(
        self,
        parts: SessionParts,
        *,
        update_activity: Callable[[], None],
        request_gate: RequestGate,
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
    ) -> None:
        self._parts = parts
        self._update_activity = update_activity
        self._gate = request_gate
        self._spawn = spawn

    def request(self) -> None:
        """The person's turn is complete (or tool outputs are in): the model should answer."""
        parts = self._parts
        if parts.responses.phase == "idle" and self._gate.wait_s() > 0:
            self._request_when_gate_opens()
        elif parts.responses.request():
            parts.wire.send(RequestResponse())
        self._update_activity()

    def send_deferred(self) -> None:
        """The deferred answer, now that the response before it is done (the state is ``create_sent``); held
        like any other request while no requests are left."""
        if self._gate.wait_s() > 0:
            self._parts.responses.create_refused()  # not sent after all: back to idle until the gate opens
            self._request_when_gate_opens()
        else:
            self._parts.wire.send(RequestResponse())

    def _request_when_gate_opens(self) -> None:
        """No requests left until the limit resets: ask then, not now into a certain refusal."""
        responses = self._parts.responses
        if responses.retry_scheduled:
            return  # an answer is already scheduled (held here, or a rate-limit retry): it answers this too
        responses.retry_scheduled = True  # busy meanwhile; an interrupt or a new session clears it

        async def when_open() -> None:
            await self._gate.opened()
            if responses.retry_scheduled:  # not cancelled meanwhile
                responses.retry_scheduled = False
                self.request()

        self._spawn(when_open(), "request-after-rate-limit-reset")

    def reply_to_text(self, text: str, images: Sequence[ImagePart] = (), *, respond: bool | None = None) -> None:
        """The person typed a message (or shared images, with the text typed alongside): cut off the answer in
        progress, send it as one user message, ask for an answer. ``respond`` defaults to "when there is
        text": an image shared alone waits for the next spoken or typed turn, which is answered with it."""
        text = text.strip()
        if not text and not images:
            return
        respond = bool(text) if respond is None else respond
        if respond:
            self.interrupt()
        if images:
            item_id = new_image_item_id()
            self._parts.conversation.expect_images(item_id, tuple(images))
            self._parts.wire.send(SendUserMessage(text, tuple(images), item_id))
        else:
            self._parts.wire.send(SendUserText(text))
        if respond:
            self._parts.turn_clock.start()
            self.request()

    def interrupt(self, reason: se.InterruptReason = "user") -> bool:
        """Silence the assistant at once and tell the server what was heard. True if anything stopped."""
        parts = self._parts
        stopped = False
        # On barge-in the server cancels its own response (interrupt_response): no cancel of ours.
        if reason != "barge_in" and parts.responses.cancel():
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
