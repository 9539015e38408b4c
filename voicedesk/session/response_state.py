"""Where the server's one response stands, and whether a ``response.create`` may go out now.

The service runs one response at a time: ``response.create`` while one is active is refused
("conversation_already_has_active_response"), and ``response.cancel`` is only valid while one is active.
So an answer wanted while a response is still active or being cancelled is *deferred*: it goes out when
that response's ``response.done`` arrives.

    idle --create--> create_sent --response.created--> active --cancel--> cancelling
      ^                   |                              |                    |
      +---- refused ------+-------- response.done -------+---- response.done -+
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, assert_never

ResponsePhase = Literal["idle", "create_sent", "active", "cancelling"]


@dataclass(slots=True)
class ResponseState:
    phase: ResponsePhase = "idle"
    response_id: str | None = None
    """The server's id of the active (or cancelling) response."""
    deferred_create: bool = False
    """A response.create is wanted once the current response is done."""
    retry_scheduled: bool = False
    """A refused answer (rate limit) will be asked for again after a wait."""

    @property
    def in_progress(self) -> bool:
        """A response was asked for, runs, is being cancelled, or will be asked for again: the model is busy."""
        return self.phase != "idle" or self.retry_scheduled

    @property
    def unanswered(self) -> bool:
        """Something is still owed an answer (asked for, running, or deferred)."""
        return self.in_progress or self.deferred_create

    def request(self) -> bool:
        """An answer is wanted. True: send ``response.create`` now (the state is then ``create_sent``)."""
        self.retry_scheduled = False  # asked now: a scheduled retry would only ask twice
        match self.phase:
            case "idle":
                self.phase = "create_sent"
                return True
            case "create_sent" | "active" | "cancelling":
                # Even a response asked for but not yet created cannot answer this: the server takes the
                # conversation as it is when the response.create arrives, before what is sent after it.
                self.deferred_create = True
                return False
            case _:
                assert_never(self.phase)

    def expect_server_response(self) -> None:
        """The server creates a response by itself (VAD with ``create_response``): wait for it as if asked."""
        if self.phase == "idle":
            self.phase = "create_sent"

    def created(self, response_id: str) -> None:
        """``response.created``."""
        self.phase = "active"
        self.response_id = response_id

    def cancel(self) -> bool:
        """Stop the answer. True: send ``response.cancel`` now (only while a response is active)."""
        self.retry_scheduled = False
        if self.phase != "active":
            return False
        self.phase = "cancelling"
        return True

    def done(self, response_id: str) -> bool:
        """``response.done``. True: send the deferred ``response.create`` now (the state is ``create_sent``)."""
        if response_id == self.response_id:
            self.phase = "idle"
            self.response_id = None
        if self.deferred_create and self.phase == "idle":
            self.deferred_create = False
            self.phase = "create_sent"
            return True
        return False

    def create_refused(self) -> None:
        """The server answered our ``response.create`` with an error: no response is coming."""
        if self.phase == "create_sent":
            self.phase = "idle"

    def reset(self) -> None:
        """A new server session: nothing of the old one is running there."""
        self.phase = "idle"
        self.response_id = None
        self.deferred_create = False
        self.retry_scheduled = False
