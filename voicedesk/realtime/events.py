"""Typed realtime events, one vocabulary for GA and beta/Azure-preview endpoints.

Server events are parsed into small frozen dataclasses under their GA names; beta names
(``response.audio.delta``, ``conversation.item.created``, ...) are mapped onto them. Parsing never
raises: a frame that is not a JSON object, or an event whose fields have the wrong shape, becomes a
``MalformedEvent``; a well-formed event of a type we do not act on becomes an ``OtherEvent``.

The event classes live in ``server_events`` and ``client_events`` (dataclasses with
``to_wire(protocol)``, so the code that decides *what* to send never spells out the wire shape, and the
contract tests can validate every one of them against the ``openai`` package's models). This module
re-exports them all, with ``ProtocolVersion`` and ``JsonDict``: ``from voicedesk.realtime import events
as ev`` names the whole vocabulary of the wire.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, Literal

from voicedesk.realtime.client_events import (
    ClientEvent,
    FunctionCallSpec,
    FunctionOutputSpec,
    InputAudioAppend,
    InputAudioClear,
    InputAudioCommit,
    InputImage,
    ItemCreate,
    ItemDelete,
    ItemSpec,
    ItemTruncate,
    MessageSpec,
    ResponseCancel,
    ResponseCreate,
    SessionUpdate,
    new_event_id,
    without_image_data,
)
from voicedesk.realtime.server_events import (
    AudioCommitted,
    AudioDelta,
    AudioDone,
    FunctionArgumentsDelta,
    FunctionArgumentsDone,
    InputTranscriptCompleted,
    InputTranscriptDelta,
    InputTranscriptFailed,
    ItemAdded,
    ItemDeleted,
    ItemDone,
    ItemTruncated,
    MalformedEvent,
    OtherEvent,
    OutputItemAdded,
    OutputItemDone,
    RateLimit,
    RateLimitsUpdated,
    ResponseCreated,
    ResponseDone,
    ServerError,
    ServerEvent,
    SessionCreated,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
    TranscriptDelta,
    TranscriptDone,
)
from voicedesk.realtime.wire_types import JsonDict, ProtocolVersion

# The whole wire vocabulary, importable from here: code reads ``ev.ItemCreate``, ``ev.ServerEvent``, ...
__all__ = [
    "AudioCommitted",
    "AudioDelta",
    "AudioDone",
    "AudioFields",
    "ClientEvent",
    "FunctionArgumentsDelta",
    "FunctionArgumentsDone",
    "FunctionCallSpec",
    "FunctionOutputSpec",
    "InputAudioAppend",
    "InputAudioClear",
    "InputAudioCommit",
    "InputImage",
    "InputTranscriptCompleted",
    "InputTranscriptDelta",
    "InputTranscriptFailed",
    "ItemAdded",
    "ItemCreate",
    "ItemDelete",
    "ItemDeleted",
    "ItemDone",
    "ItemSpec",
    "ItemTruncate",
    "ItemTruncated",
    "JsonDict",
    "MalformedEvent",
    "MessageSpec",
    "OtherEvent",
    "OutputItemAdded",
    "OutputItemDone",
    "Parser",
    "ProtocolVersion",
    "RateLimit",
    "RateLimitsUpdated",
    "ResponseCancel",
    "ResponseCreate",
    "ResponseCreated",
    "ResponseDone",
    "ServerError",
    "ServerEvent",
    "SessionCreated",
    "SessionUpdate",
    "SessionUpdated",
    "SpeechStarted",
    "SpeechStopped",
    "TranscriptDelta",
    "TranscriptDone",
    "audio_delta_fields",
    "new_event_id",
    "normalized_type",
    "parse_server_event",
    "without_image_data",
]

# Beta / Azure-preview event names -> the GA name we use internally.
_BETA_TO_GA = {
    "response.audio.delta": "response.output_audio.delta",
    "response.audio.done": "response.output_audio.done",
    "response.audio_transcript.delta": "response.output_audio_transcript.delta",
    "response.audio_transcript.done": "response.output_audio_transcript.done",
    "response.text.delta": "response.output_text.delta",
    "response.text.done": "response.output_text.done",
    "conversation.item.created": "conversation.item.added",
}


class _FieldError(Exception):
    """A server event lacks a field we need or has it with the wrong type."""


def _str(data: JsonDict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise _FieldError(f"'{key}' should be a string")
    return value


def _opt_str(data: JsonDict, key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _FieldError(f"'{key}' should be a string or null")


def _int(data: JsonDict, key: str, default: int | None = None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _FieldError(f"'{key}' should be an integer")
    return value


def _dict(data: JsonDict, key: str) -> JsonDict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise _FieldError(f"'{key}' should be an object")
    return value


Parser = Callable[[JsonDict], ServerEvent]
"""Builds one kind of typed event from its raw dict; raises _FieldError on a bad shape."""


def _parse_error(d: JsonDict) -> ServerError:
    err = _dict(d, "error")
    message = err.get("message")
    kind = err.get("type")
    return ServerError(
        message=message if isinstance(message, str) else "the server reported an error",
        type=kind if isinstance(kind, str) else "error",
        code=_opt_str(err, "code"),
        param=_opt_str(err, "param"),
        event_id=_opt_str(err, "event_id"),
    )


def _item(d: JsonDict) -> JsonDict:
    item = _dict(d, "item")
    _str(item, "id")
    _str(item, "type")
    return item


AudioFields = tuple[str, str, int, str]
"""An audio delta's (response_id, item_id, content_index, base64 audio): the fields of AudioDelta."""

# GA and beta names. A tuple: `in` compares, never hashes (a server may send a list as the type).
_AUDIO_DELTA_TYPES = ("response.output_audio.delta", "response.audio.delta")


def audio_delta_fields(data: Any) -> AudioFields | None:
    """The fields of a decoded frame that is a well-formed audio delta (GA or beta name), else None.

    The receive path's shortcut for most of its traffic (a dozen frames a second of speech): the usual
    field types checked in one go, no ``AudioDelta`` built. Anything else, malformed deltas included,
    answers None and goes through ``parse_server_event``, which names what is wrong.
    """
    if type(data) is not dict or data.get("type") not in _AUDIO_DELTA_TYPES:
        return None
    response_id, item_id, audio = data.get("response_id"), data.get("item_id"), data.get("delta")
    index = data.get("content_index", 0)
    if type(response_id) is str and type(item_id) is str and type(index) is int and type(audio) is str:
        return response_id, item_id, index, audio  # `is int`: a bool is no index
    return None


def _audio_delta(d: JsonDict) -> AudioDelta:
    fields = audio_delta_fields(d)
    if fields is not None:
        return AudioDelta(*fields)
    # An unusual shape: field by field, so a malformed delta's reason names the field.
    return AudioDelta(_str(d, "response_id"), _str(d, "item_id"), _int(d, "content_index", 0), _str(d, "delta"))


def _transcript_delta(modality: Literal["audio", "text"]) -> Parser:
    def parse(d: JsonDict) -> ServerEvent:
        return TranscriptDelta(_str(d, "item_id"), _int(d, "content_index", 0), _str(d, "delta"), modality)

    return parse


def _transcript_done(modality: Literal["audio", "text"], field: str) -> Parser:
    def parse(d: JsonDict) -> ServerEvent:
        return TranscriptDone(_str(d, "item_id"), _int(d, "content_index", 0), _str(d, field), modality)

    return parse


def _transcription_failed(d: JsonDict) -> ServerEvent:
    err = d.get("error")
    msg = err.get("message") if isinstance(err, dict) else None
    return InputTranscriptFailed(_str(d, "item_id"), msg if isinstance(msg, str) else "transcription failed")


def _response_done(d: JsonDict) -> ServerEvent:
    response = _dict(d, "response")
    status = response.get("status")
    return ResponseDone(_str(response, "id"), status if isinstance(status, str) else "completed", response)


def _finite(value: Any) -> float | None:
    """A JSON number that means something (not a bool, NaN, infinite or too large for a float), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return number if math.isfinite(number) else None


def _count(value: Any) -> int | None:
    """A non-negative count; an integral float (``50.0``) is read as its integer."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    number = _finite(value)
    return None if number is None or number < 0 else int(number)


def _rate_limits(d: JsonDict) -> RateLimitsUpdated:
    # Tolerant on purpose: the report is advisory, so an odd entry is skipped (no name) or keeps None for the
    # odd value instead of discarding the whole report; only a non-list is malformed.
    entries = d.get("rate_limits", [])
    if not isinstance(entries, list):
        raise _FieldError("'rate_limits' should be a list")
    limits = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        reset = _finite(entry.get("reset_seconds"))
        limits.append(
            RateLimit(
                entry["name"],
                _count(entry.get("limit")),
                _count(entry.get("remaining")),
                None if reset is None or reset < 0 else reset,
            )
        )
    return RateLimitsUpdated(tuple(limits))


# GA name -> parser; each raises _FieldError on a bad shape. A dict lookup, not a chain of comparisons:
# the receive path looks up every frame here.
_PARSERS: dict[str, Parser] = {
    "response.output_audio.delta": _audio_delta,
    "response.output_audio_transcript.delta": _transcript_delta("audio"),
    "response.output_text.delta": _transcript_delta("text"),
    "response.output_audio_transcript.done": _transcript_done("audio", "transcript"),
    "response.output_text.done": _transcript_done("text", "text"),
    "response.output_audio.done": lambda d: AudioDone(_str(d, "item_id")),
    "session.created": lambda d: SessionCreated(_dict(d, "session")),
    "session.updated": lambda d: SessionUpdated(_dict(d, "session")),
    "error": _parse_error,
    "input_audio_buffer.speech_started": lambda d: SpeechStarted(_str(d, "item_id"), _int(d, "audio_start_ms", 0)),
    "input_audio_buffer.speech_stopped": lambda d: SpeechStopped(_str(d, "item_id"), _int(d, "audio_end_ms", 0)),
    "input_audio_buffer.committed": lambda d: AudioCommitted(_str(d, "item_id"), _opt_str(d, "previous_item_id")),
    "conversation.item.added": lambda d: ItemAdded(_item(d), _opt_str(d, "previous_item_id")),
    "conversation.item.done": lambda d: ItemDone(_item(d)),
    "conversation.item.deleted": lambda d: ItemDeleted(_str(d, "item_id")),
    "conversation.item.truncated": lambda d: ItemTruncated(
        _str(d, "item_id"), _int(d, "content_index", 0), _int(d, "audio_end_ms")
    ),
    "conversation.item.input_audio_transcription.delta": lambda d: InputTranscriptDelta(
        _str(d, "item_id"), _opt_str(d, "delta") or ""
    ),
    "conversation.item.input_audio_transcription.completed": lambda d: InputTranscriptCompleted(
        _str(d, "item_id"), _str(d, "transcript")
    ),
    "conversation.item.input_audio_transcription.failed": _transcription_failed,
    "response.created": lambda d: ResponseCreated(_str(_dict(d, "response"), "id")),
    "response.done": _response_done,
    "response.output_item.added": lambda d: OutputItemAdded(_str(d, "response_id"), _item(d)),
    "response.output_item.done": lambda d: OutputItemDone(_str(d, "response_id"), _item(d)),
    "response.function_call_arguments.delta": lambda d: FunctionArgumentsDelta(
        _str(d, "item_id"), _str(d, "call_id"), _str(d, "delta")
    ),
    "response.function_call_arguments.done": lambda d: FunctionArgumentsDone(
        _str(d, "item_id"), _str(d, "call_id"), _opt_str(d, "name"), _str(d, "arguments")
    ),
    "rate_limits.updated": _rate_limits,
}
# Beta names share their GA twin's parser, so either spelling costs one lookup.
_PARSERS.update({beta: _PARSERS[ga] for beta, ga in _BETA_TO_GA.items()})


def parse_server_event(data: Any) -> ServerEvent:
    """Turn one decoded JSON value into a typed event; never raises."""
    if not isinstance(data, dict):
        return MalformedEvent("the frame is not a JSON object", _preview(data))
    kind = data.get("type")
    if not isinstance(kind, str):
        return MalformedEvent("the event has no 'type'", _preview(data))
    parser = _PARSERS.get(kind)
    if parser is None:
        return OtherEvent(kind)
    try:
        return parser(data)
    except _FieldError as exc:
        return MalformedEvent(f"{_BETA_TO_GA.get(kind, kind)}: {exc}", _preview(data))


def normalized_type(data: JsonDict) -> str:
    """The GA name of a raw event's type (beta names mapped), for logs and the inspector."""
    kind = data.get("type")
    return _BETA_TO_GA.get(kind, kind) if isinstance(kind, str) else "?"


def _preview(data: Any, limit: int = 200) -> str:
    try:
        text = json.dumps(data)[:limit]
    except (TypeError, ValueError):
        text = repr(data)[:limit]
    return text
