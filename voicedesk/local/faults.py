"""Fault injection for tests: the network and service misbehaviour a client must survive.

Each fault fires once per server (counts fire that many times), so a test can show the failure and then
the recovery on the next attempt. :class:`Faults` is the immutable request; :class:`FaultState` is the
server's countdown of what is still armed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RateLimitStyle = Literal["error", "response_failed"]


@dataclass(frozen=True, slots=True)
class Faults:
    garbage_before_answer: bool = False
    """Before the next response: a non-JSON text frame, a binary frame, an unknown event, a JSON array."""
    drop_after_audio_ms: int | None = None
    """Abort the TCP connection (no close frame) once an answer has streamed this much audio."""
    rate_limit_responses: int = 0
    """The first N response.create are refused with code rate_limit_exceeded."""
    reject_connections: int = 0
    """Refuse the next N handshakes with HTTP 503."""
    fail_session_on_response: bool = False
    """On the next response.create: a server_error event, then the server closes the session (1011)."""
    rate_limit_style: RateLimitStyle = "error"
    """'error': an error event and no response. 'response_failed': response.created then response.done
    with status failed and the rate-limit error in status_details (what the real service also does)."""
    close_every_response: int | None = None
    """Every response.create: response.created, then the connection closes with this code (e.g. 1011)."""
    close_at_start: int | None = None
    """Every connection closes with this code as soon as it is accepted (e.g. 1001), before session.created."""
    silent: bool = False
    """Every connection is accepted and then never hears a word: no session.created, no answers."""
    close_after_function_call: int | None = None
    """Once: close with this code right after a function_call item is done, before its response.done."""
    lose_response_done: int = 0
    """The next N response.done events are never sent (lost on the way, or a stalled server)."""
    rate_limit_retry_after_s: float = 0.2
    """The wait the rate-limit message names ("Please try again in 0.2s")."""


class FaultState:
    def __init__(self, faults: Faults) -> None:
        self.arm(faults)

    def arm(self, faults: Faults) -> None:
        """Arm these faults from now on (for every connection, the open ones included)."""
        self.faults = faults
        self._garbage = faults.garbage_before_answer
        self._drop = faults.drop_after_audio_ms
        self._rate_limits = faults.rate_limit_responses
        self._rejects = faults.reject_connections
        self._fail_session = faults.fail_session_on_response
        self._lost_dones = faults.lose_response_done
        self._close_after_call = faults.close_after_function_call

    def take_session_failure(self) -> bool:
        fire, self._fail_session = self._fail_session, False
        return fire

    def take_garbage(self) -> bool:
        fire, self._garbage = self._garbage, False
        return fire

    def drop_threshold_ms(self) -> int | None:
        """The armed drop threshold; call :meth:`dropped` once it fired."""
        return self._drop

    def dropped(self) -> None:
        self._drop = None

    def take_close_after_call(self) -> int | None:
        code, self._close_after_call = self._close_after_call, None
        return code

    def take_lost_done(self) -> bool:
        if self._lost_dones <= 0:
            return False
        self._lost_dones -= 1
        return True

    def take_rate_limit(self) -> bool:
        if self._rate_limits <= 0:
            return False
        self._rate_limits -= 1
        return True

    def take_reject(self) -> bool:
        if self._rejects <= 0:
            return False
        self._rejects -= 1
        return True


GARBAGE_FRAMES: tuple[str | bytes, ...] = (
    "this is not JSON {",
    b"\x00\x01\x02 binary garbage \xff",
    '{"type":"local.unknown_event","event_id":"event_garbage0001","detail":"clients must ignore this"}',
    '[1, 2, "a JSON array is not an event"]',
)
