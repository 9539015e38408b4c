"""Server events as small frozen dataclasses under their GA names (``events.parse_server_event`` builds
them, beta names included). ``voicedesk.realtime.events`` re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voicedesk.realtime.wire_types import JsonDict


@dataclass(frozen=True, slots=True)
class SessionCreated:
    session: JsonDict


@dataclass(frozen=True, slots=True)
class SessionUpdated:
    session: JsonDict


@dataclass(frozen=True, slots=True)
class ServerError:
    """An ``error`` event. ``event_id`` is the id of the client event that caused it, if any."""

    message: str
    type: str
    code: str | None
    param: str | None
    event_id: str | None


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    item_id: str
    audio_start_ms: int


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    item_id: str
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class AudioCommitted:
    item_id: str
    previous_item_id: str | None


@dataclass(frozen=True, slots=True)
class ItemAdded:
    """``conversation.item.added`` (GA) or ``conversation.item.created`` (beta)."""

    item: JsonDict
    previous_item_id: str | None


@dataclass(frozen=True, slots=True)
class ItemDone:
    item: JsonDict


@dataclass(frozen=True, slots=True)
class ItemDeleted:
    item_id: str


@dataclass(frozen=True, slots=True)
class ItemTruncated:
    item_id: str
    content_index: int
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class InputTranscriptDelta:
    item_id: str
    delta: str


@dataclass(frozen=True, slots=True)
class InputTranscriptCompleted:
    item_id: str
    transcript: str


@dataclass(frozen=True, slots=True)
class InputTranscriptFailed:
    item_id: str
    message: str


@dataclass(frozen=True, slots=True)
class ResponseCreated:
    response_id: str


@dataclass(frozen=True, slots=True)
class ResponseDone:
    response_id: str
    status: str
    response: JsonDict


@dataclass(frozen=True, slots=True)
class OutputItemAdded:
    response_id: str
    item: JsonDict


@dataclass(frozen=True, slots=True)
class OutputItemDone:
    response_id: str
    item: JsonDict


@dataclass(frozen=True, slots=True)
class AudioDelta:
    """Assistant audio; ``audio`` is still base64 (decoded once, by whoever plays it)."""

    response_id: str
    item_id: str
    content_index: int
    audio: str


@dataclass(frozen=True, slots=True)
class AudioDone:
    item_id: str


@dataclass(frozen=True, slots=True)
class TranscriptDelta:
    """Assistant audio transcript or text output, streamed."""

    item_id: str
    content_index: int
    delta: str
    modality: Literal["audio", "text"]


@dataclass(frozen=True, slots=True)
class TranscriptDone:
    item_id: str
    content_index: int
    text: str
    modality: Literal["audio", "text"]


@dataclass(frozen=True, slots=True)
class FunctionArgumentsDelta:
    item_id: str
    call_id: str
    delta: str


@dataclass(frozen=True, slots=True)
class FunctionArgumentsDone:
    item_id: str
    call_id: str
    name: str | None
    arguments: str


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One limit of ``rate_limits.updated`` (``requests``, ``tokens``, ...); None where the server's value
    was missing or not a sensible number."""

    name: str
    limit: int | None
    remaining: int | None
    reset_seconds: float | None


@dataclass(frozen=True, slots=True)
class RateLimitsUpdated:
    """``rate_limits.updated``: what is left of the account's limits (the service sends it after responses)."""

    rate_limits: tuple[RateLimit, ...]


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """A well-formed event we do not act on (or do not know): kept for the inspector."""

    type: str


@dataclass(frozen=True, slots=True)
class MalformedEvent:
    """A frame that is not a JSON object, or an event whose fields do not have the expected shape."""

    reason: str
    preview: str


ServerEvent = (
    SessionCreated
    | SessionUpdated
    | ServerError
    | SpeechStarted
    | SpeechStopped
    | AudioCommitted
    | ItemAdded
    | ItemDone
    | ItemDeleted
    | ItemTruncated
    | InputTranscriptDelta
    | InputTranscriptCompleted
    | InputTranscriptFailed
    | ResponseCreated
    | ResponseDone
    | OutputItemAdded
    | OutputItemDone
    | AudioDelta
    | AudioDone
    | TranscriptDelta
    | TranscriptDone
    | FunctionArgumentsDelta
    | FunctionArgumentsDone
    | RateLimitsUpdated
    | OtherEvent
    | MalformedEvent
)
