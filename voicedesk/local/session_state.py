"""What a test can inspect about one connection: ``server.sessions[i]``.

The record is live while the connection runs (the connection appends to it) and, with ``keep_sessions`` (the
test double's default), stays readable after it closes, so a test can assert on what the client sent and what
the server decided. The app and ``voicedesk serve`` turn that off: a closed connection's record is dropped.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from voicedesk.local.conversation import Conversation, Truncation
from voicedesk.local.session_config import SessionConfig
from voicedesk.local.wire import JsonDict


@dataclass(eq=False)
class SessionRecord:
    id: str
    path: str
    beta: bool
    model: str
    client_events: list[JsonDict] = field(default_factory=list)
    """Every client frame in arrival order: the parsed event, or {"_invalid_frame": ...} for the rest."""
    sent_types: list[str] = field(default_factory=list)
    """The type of every event the server sent, in order (as named on the wire)."""
    errors: list[JsonDict] = field(default_factory=list)
    """The ``error`` objects of every error event sent."""
    truncations: list[Truncation] = field(default_factory=list)
    responses: list[JsonDict] = field(default_factory=list)
    """The response object of every response.done, in order."""
    closed: bool = False
    close_reason: str = ""
    conversation: Conversation = field(default_factory=Conversation, repr=False)
    session_config: SessionConfig | None = field(default=None, repr=False)

    @property
    def items(self) -> list[JsonDict]:
        """The conversation as the server holds it now (GA item shapes), in order."""
        return [copy.deepcopy(s.item) for s in self.conversation.items]

    @property
    def config(self) -> JsonDict:
        """The effective session, rendered as this connection's dialect shows it."""
        if self.session_config is None:
            return {}
        return self.session_config.render(self.beta)

    def received(self, event_type: str) -> list[JsonDict]:
        """Client events of one type, in order."""
        return [e for e in self.client_events if e.get("type") == event_type]
