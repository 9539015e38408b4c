"""New server sessions that the person should barely notice: after a dropped connection, when the server's
session expires (60 minutes, ``session_expired``), or before a client-side time limit.

Each new session gets the settings again, then the conversation so far (carry-over: recent items verbatim,
older ones summarized), then a ``response.create`` if a turn was left unanswered (at most twice for the
same turn). A close is reconnected unless the server ended the session: a normal close (1000), or any close
soon after an error that ends a session (a refused key, no quota, an unknown model). 1001 (going away),
1006, 1011, 1012 and 1013 are reconnected, within the client's reconnect budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from voicedesk.realtime import events as ev
from voicedesk.realtime.client import RealtimeClient
from voicedesk.realtime.transport import Closed
from voicedesk.session import events as se
from voicedesk.session.carryover import carry_over
from voicedesk.session.intents import Intent, ReplayItem, RequestResponse, UpdateSession
from voicedesk.session.parts import SessionParts
from voicedesk.session.tool_calls import ToolCallRunner

ERROR_THEN_CLOSE_S = 5.0  # a close this soon after a session-ending error is the server ending the session
SESSION_ENDING_ERRORS = frozenset(
    {"invalid_api_key", "insufficient_quota", "model_not_found", "invalid_model", "session_terminated"}
)
MAX_REREQUESTS = 2
"""How often the same unanswered turn is asked again after reconnects before it is given up."""
NORMAL_CLOSURE = 1000


class Renewal:
    def __init__(
        self,
        parts: SessionParts,
        client: RealtimeClient,
        tool_runner: ToolCallRunner,
        *,
        session_payload: Callable[[], ev.JsonDict],
        session_over: Callable[[], None],
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
        timeout_s: float | None,
    ) -> None:
        self._client = client
        self._sender = parts.wire
        self._conversation = parts.conversation
        self._playback = parts.playback
        self._responses = parts.responses
        self._emit = parts.emit
        self._tools = tool_runner
        self._session_payload = session_payload
        self._parts = parts
        self._session_over = session_over
        self._spawn = spawn
        self._timeout_s = timeout_s
        self._last_error: tuple[float, ev.ServerError] | None = None
        self._reason: se.SessionRenewed | None = None
        self._rerequests = 0  # re-requests of the turn now unanswered
        self.started_at = 0.0
        """When the current server session began (time.monotonic())."""

    def session_opened(self) -> list[Intent]:
        """A connect by the person: settings, then the conversation so far (empty on the first connect)."""
        self.started_at = time.monotonic()
        specs, _ = carry_over(self._conversation.finished_items())
        return [UpdateSession(self._session_payload()), *(ReplayItem(spec) for spec in specs)]

    def note_error(self, error: ev.ServerError) -> bool:
        """Every server error passes here; True for the expiry, which renewal answers (nothing to report)."""
        self._last_error = (time.monotonic(), error)
        if error.code == "session_expired":
            self._reason = se.SessionRenewed("expired", 0, 0)
            return True
        return False

    def connection_lost(self, detail: str) -> None:
        """The client gave up reconnecting: the person must act (the session is over)."""
        self._emit(
            se.ErrorOccurred(
                f"The connection was lost and could not be restored: {detail}",
                "connection_lost",
                hint="Check the network and press Retry.",
                fatal=True,
            )
        )
        self._session_over()

    def should_reconnect(self, closed: Closed) -> bool:
        """The client's reconnect policy (its budget limits how often)."""
        ending = self._ending_error()
        if ending is not None:
            message = f"The server ended the session: {ending.message}"
        elif closed.clean and closed.code == NORMAL_CLOSURE:
            message = f"The server ended the session{': ' + closed.reason if closed.reason else ''}."
        else:
            return True
        self._emit(se.ErrorOccurred(message, "session_ended_by_server", fatal=True))
        self._session_over()
        return False

    def _ending_error(self) -> ev.ServerError | None:
        if self._last_error is None:
            return None
        at, error = self._last_error
        recent = time.monotonic() - at <= ERROR_THEN_CLOSE_S
        return error if recent and error.code in SESSION_ENDING_ERRORS else None

    def turn_answered(self) -> None:
        """A response completed: the next unanswered turn gets its own re-requests."""
        self._rerequests = 0

    def restore_session(self) -> Sequence[ev.ClientEvent]:
        """The client reconnected: settings first, then the conversation so far, then the interrupted turn."""
        unanswered = self._responses.unanswered or self._tools.busy
        span = self._playback.current()
        if span is not None and not span.audio_done:
            # An answer cut off by the drop: it was never finished on the server, so ask again.
            self._playback.cut(span)
            self._conversation.remove(span.item_id)
            self._emit(se.HistoryUpdated(self._conversation.items()))
        running = self._tools.running_call_ids
        self._parts.reset()
        self._tools.reset()
        self.started_at = time.monotonic()
        specs, summarized = carry_over(self._conversation.finished_items(), running_calls=running)
        intents: list[Intent] = [UpdateSession(self._session_payload()), *(ReplayItem(spec) for spec in specs)]
        if unanswered and not self._tools.busy:  # a running tool asks for the answer once its output is in
            if self._rerequests < MAX_REREQUESTS and self._responses.request():
                self._rerequests += 1
                intents.append(RequestResponse())
            elif self._rerequests >= MAX_REREQUESTS:
                self._emit(
                    se.ErrorOccurred(
                        "The answer was cut off by the connection again and again; this turn was given up.",
                        "turn_failed",
                        hint="Ask again.",
                    )
                )
        reason = self._reason.reason if self._reason else "reconnected"
        self._reason = None
        self._emit(se.SessionRenewed(reason, len(specs), summarized))
        return [event for intent in intents for event in self._sender.client_events(intent)]

    def maybe_renew(self, now: float, quiet: bool) -> None:
        """Past the client-side time limit: renew, but only at a quiet moment (never cut a turn)."""
        limit = self._timeout_s
        if limit is None or not quiet or not self._client.connected or now - self.started_at < limit:
            return
        self._reason = se.SessionRenewed("timeout", 0, 0)
        self.started_at = now
        self._spawn(self._client.renew(), "session-renew")
