"""A response the server stopped talking about (its ``response.done`` lost, or the server stalled) must not
leave the session waiting forever: after ``timeout_s`` without a server event while an answer is owed, the
response counts as lost. It is cancelled (a ``response_cancel_not_active`` reply is harmless), what was
received of it plays out, its tool calls are released, a deferred answer goes out, and the person is told."""

from __future__ import annotations

import time
from collections.abc import Callable

from voicedesk.session import events as se
from voicedesk.session.intents import CancelResponse
from voicedesk.session.parts import SessionParts
from voicedesk.session.tool_calls import ToolCallRunner

DEFAULT_TIMEOUT_S = 20.0


class ResponseWatchdog:
    def __init__(
        self,
        parts: SessionParts,
        tool_runner: ToolCallRunner,
        *,
        send_deferred: Callable[[], None],
        timeout_s: float = DEFAULT_TIMEOUT_S,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._parts = parts
        self._tools = tool_runner
        self._send_deferred = send_deferred
        self._timeout_s = timeout_s
        self._now = now
        self._last_heard = now()

    def heard(self) -> None:
        """Any server event: the server is alive and talking."""
        self._last_heard = self._now()

    def check(self) -> bool:
        """Periodic: True when an owed response was just given up."""
        responses = self._parts.responses
        waiting = responses.phase != "idle"  # a scheduled retry is ours to wait for, not the server's
        if not waiting or self._now() - self._last_heard < self._timeout_s:
            return False
        self._last_heard = self._now()
        parts = self._parts
        response_id = responses.response_id
        if responses.phase == "active":
            parts.wire.send(CancelResponse())
        send_deferred = responses.done(response_id) if response_id is not None else False
        if responses.phase == "create_sent" and not send_deferred:
            responses.create_refused()  # asked, never created: nothing is coming for it
        parts.playback.mark_all_audio_done()
        if response_id is not None:
            self._tools.response_done(response_id)
        if send_deferred:
            self._send_deferred()
        parts.emit(
            se.ErrorOccurred(
                f"The answer stopped arriving ({self._timeout_s:.0f} s without a word from the server); "
                "voicedesk moved on.",
                "response_lost",
                hint="Ask again.",
            )
        )
        return True
