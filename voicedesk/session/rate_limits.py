"""Rate limits on answers, in every form the service uses: an ``error`` with code ``rate_limit_exceeded``
(after our ``response.create``, or with no event id when server VAD created the response) and a
``response.done`` with status ``failed`` whose ``status_details.error.code`` says so. The answer is asked for
again after the wait the message names ("Please try again in 1.05s"), capped, a few times; then reported.

And before any refusal: ``rate_limits.updated`` says how many requests are left and when the window resets.
With none left, ``RequestGate`` holds an answer asked for before the reset until it (capped), instead of
sending it into a certain refusal."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable, Coroutine
from typing import Any

from voicedesk.realtime import events as ev
from voicedesk.session.response_state import ResponseState

RATE_LIMIT_CODE = "rate_limit_exceeded"


def is_transient(error: ev.ServerError) -> bool:
    """A refusal worth asking again for: a rate limit, or the service's own internal error."""
    return error.code in (RATE_LIMIT_CODE, "server_error") or error.type == "server_error"


MAX_RETRIES = 2
"""Retries of one turn; the next refusal is reported."""
DEFAULT_WAIT_S = 1.0
MAX_WAIT_S = 30.0
_TRY_AGAIN = re.compile(r"try again in\s*(\d+(?:\.\d+)?)\s*(ms|s)\b", re.IGNORECASE)


def retry_after_s(message: str) -> float:
    """The wait a rate-limit message names, capped to [0.05, MAX_WAIT_S]; DEFAULT_WAIT_S when it names none."""
    found = _TRY_AGAIN.search(message)
    if found is None:
        return DEFAULT_WAIT_S
    wait = float(found.group(1)) / (1000.0 if found.group(2).lower() == "ms" else 1.0)
    return min(max(wait, 0.05), MAX_WAIT_S)


def failed_response_error(response: ev.JsonDict) -> ev.ServerError | None:
    """The error inside a failed ``response.done`` (``status_details.error``), if it has one."""
    details = response.get("status_details")
    error = details.get("error") if isinstance(details, dict) else None
    if not isinstance(error, dict):
        return None
    code = error.get("code") if isinstance(error.get("code"), str) else None
    return ev.ServerError(str(error.get("message") or "the response failed"), str(error.get("type") or "error"),
                          code, None, None)  # fmt: skip


class RateLimitRetries:
    def __init__(
        self,
        responses: ResponseState,
        *,
        request: Callable[[], None],
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
        max_wait_s: float = MAX_WAIT_S,
    ) -> None:
        self._responses = responses
        self._request = request
        self._spawn = spawn
        self._max_wait_s = max_wait_s
        self._retries = 0

    def retry(self, error: ev.ServerError) -> bool:
        """A rate limit refused an answer: True when it will be asked for again, False when the retries are
        spent (the caller reports the error)."""
        if self._retries >= MAX_RETRIES:
            self._retries = 0
            return False
        self._retries += 1
        self._responses.retry_scheduled = True
        wait = min(retry_after_s(error.message), self._max_wait_s)

        async def again() -> None:
            await asyncio.sleep(wait)
            if self._responses.retry_scheduled:  # not cancelled meanwhile (interrupt, new session)
                self._responses.retry_scheduled = False
                self._request()

        self._spawn(again(), "rate-limit-retry")
        return True

    def answered(self) -> None:
        """An answer completed: the next turn gets its own retries."""
        self._retries = 0


REQUESTS_LIMIT = "requests"


class RequestGate:
    """The last ``rate_limits.updated``, read for one question: how long must a ``response.create`` wait?"""

    def __init__(self, *, max_wait_s: float = MAX_WAIT_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_wait_s = max_wait_s
        self._clock = clock
        self._closed_until: float | None = None
        self._reported = asyncio.Event()  # set (and replaced) by every report: a waiter re-reads the gate

    def report(self, limits: tuple[ev.RateLimit, ...]) -> None:
        """The latest report replaces the last: requests at 0 with a reset close the gate until the reset."""
        requests = next((limit for limit in limits if limit.name == REQUESTS_LIMIT), None)
        reset_s = requests.reset_seconds if requests is not None and requests.remaining == 0 else None
        self._closed_until = None if reset_s is None else self._clock() + min(reset_s, self._max_wait_s)
        reported, self._reported = self._reported, asyncio.Event()
        reported.set()

    def wait_s(self) -> float:
        """Seconds until a request may go out (0: now), at most ``max_wait_s``."""
        if self._closed_until is None:
            return 0.0
        left = self._closed_until - self._clock()
        if left <= 0:
            self._closed_until = None
            return 0.0
        return min(left, self._max_wait_s)

    async def opened(self) -> None:
        """Until the gate is open: the reset passed, or a newer report says requests are left."""
        while (wait := self.wait_s()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reported.wait(), wait)
