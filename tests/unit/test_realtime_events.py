"""parse_server_event: every GA event and its beta alias under one vocabulary; bad shapes never raise."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.contract import validate_server_event
from voicedesk.realtime import events as ev

USER_ITEM_GA = {
    "id": "item_user1",
    "object": "realtime.item",
    "type": "message",
    "role": "user",
    "status": "completed",
    "content": [{"type": "input_audio", "transcript": None}],
}
ASSISTANT_ITEM_GA = {
    "id": "item_asst1",
    "object": "realtime.item",
    "type": "message",
    "role": "assistant",
    "status": "in_progress",
    "content": [],
}
CALL_ITEM = {
    "id": "item_call1",
    "object": "realtime.item",
    "type": "function_call",
    "status": "completed",
    "call_id": "call_1",
    "name": "get_time",
    "arguments": '{"tz": "UTC"}',
}
RESPONSE = {"id": "resp_1", "object": "realtime.response", "status": "in_progress", "output": []}
RESPONSE_DONE = {
    "id": "resp_1",
    "object": "realtime.response",
    "status": "completed",
    "output": [],
    "usage": {"total_tokens": 30, "input_tokens": 10, "output_tokens": 20},
}
SESSION_GA = {"type": "realtime", "id": "sess_1", "object": "realtime.session", "model": "gpt-realtime"}
SESSION_BETA = {"id": "sess_1", "object": "realtime.session", "model": "gpt-4o-realtime-preview", "voice": "alloy"}
ERROR_BODY = {
    "type": "invalid_request_error",
    "code": "invalid_value",
    "message": "Invalid value: 'x'.",
    "param": "session.voice",
    "event_id": "evt_client1",
}


def _e(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "event_id": "event_srv1", **fields}


# (GA wire event, the typed event it parses to). Every wire event is checked against openai's models too.
GA_CASES: list[tuple[dict[str, Any], ev.ServerEvent]] = [
    (_e("session.created", session=SESSION_GA), ev.SessionCreated(SESSION_GA)),
    (_e("session.updated", session=SESSION_GA), ev.SessionUpdated(SESSION_GA)),
    (
        _e("error", error=ERROR_BODY),
        ev.ServerError("Invalid value: 'x'.", "invalid_request_error", "invalid_value", "session.voice", "evt_client1"),
    ),
    (
        _e("input_audio_buffer.speech_started", audio_start_ms=1200, item_id="item_user1"),
        ev.SpeechStarted("item_user1", 1200),
    ),
    (
        _e("input_audio_buffer.speech_stopped", audio_end_ms=3400, item_id="item_user1"),
        ev.SpeechStopped("item_user1", 3400),
    ),
    (
        _e("input_audio_buffer.committed", item_id="item_user1", previous_item_id="item_0"),
        ev.AudioCommitted("item_user1", "item_0"),
    ),
    (
        _e("input_audio_buffer.committed", item_id="item_user1", previous_item_id=None),
        ev.AudioCommitted("item_user1", None),
    ),
    (
        _e("conversation.item.added", item=USER_ITEM_GA, previous_item_id="item_0"),
        ev.ItemAdded(USER_ITEM_GA, "item_0"),
    ),
    (_e("conversation.item.added", item=ASSISTANT_ITEM_GA), ev.ItemAdded(ASSISTANT_ITEM_GA, None)),
    (_e("conversation.item.done", item=USER_ITEM_GA), ev.ItemDone(USER_ITEM_GA)),
    (_e("conversation.item.deleted", item_id="item_asst1"), ev.ItemDeleted("item_asst1")),
    (
        _e("conversation.item.truncated", item_id="item_asst1", content_index=0, audio_end_ms=1500),
        ev.ItemTruncated("item_asst1", 0, 1500),
    ),
    (
        _e("conversation.item.input_audio_transcription.delta", item_id="item_user1", content_index=0, delta="Hel"),
        ev.InputTranscriptDelta("item_user1", "Hel"),
    ),
    (
        _e("conversation.item.input_audio_transcription.delta", item_id="item_user1"),
        ev.InputTranscriptDelta("item_user1", ""),
    ),
    (
        _e(
            "conversation.item.input_audio_transcription.completed",
            item_id="item_user1",
            content_index=0,
            transcript="Hello there.",
            usage={"type": "duration", "seconds": 2.5},
        ),
        ev.InputTranscriptCompleted("item_user1", "Hello there."),
    ),
    (
        _e(
            "conversation.item.input_audio_transcription.failed",
            item_id="item_user1",
            content_index=0,
            error={"type": "transcription_error", "code": "audio_unintelligible", "message": "Unintelligible"},
        ),
        ev.InputTranscriptFailed("item_user1", "Unintelligible"),
    ),
    (_e("response.created", response=RESPONSE), ev.ResponseCreated("resp_1")),
    (_e("response.done", response=RESPONSE_DONE), ev.ResponseDone("resp_1", "completed", RESPONSE_DONE)),
    (
        _e("response.output_item.added", response_id="resp_1", output_index=0, item=ASSISTANT_ITEM_GA),
        ev.OutputItemAdded("resp_1", ASSISTANT_ITEM_GA),
    ),
    (
        _e("response.output_item.done", response_id="resp_1", output_index=1, item=CALL_ITEM),
        ev.OutputItemDone("resp_1", CALL_ITEM),
    ),
    (
        _e(
            "response.output_audio.delta",
            response_id="resp_1",
            item_id="item_asst1",
            output_index=0,
            content_index=0,
            delta="AAAA",
        ),
        ev.AudioDelta("resp_1", "item_asst1", 0, "AAAA"),
    ),
    (
        _e("response.output_audio.done", response_id="resp_1", item_id="item_asst1", output_index=0, content_index=0),
        ev.AudioDone("item_asst1"),
    ),
    (
        _e(
            "response.output_audio_transcript.delta",
            response_id="resp_1",
            item_id="item_asst1",
            output_index=0,
            content_index=0,
            delta="Hi ",
        ),
        ev.TranscriptDelta("item_asst1", 0, "Hi ", "audio"),
    ),
    (
        _e(
            "response.output_audio_transcript.done",
            response_id="resp_1",
            item_id="item_asst1",
            output_index=0,
            content_index=0,
            transcript="Hi there.",
        ),
        ev.TranscriptDone("item_asst1", 0, "Hi there.", "audio"),
    ),
    (
        _e(
            "response.output_text.delta",
            response_id="resp_1",
            item_id="item_asst1",
            output_index=0,
            content_index=1,
            delta="Hi",
        ),
        ev.TranscriptDelta("item_asst1", 1, "Hi", "text"),
    ),
    (
        _e(
            "response.output_text.done",
            response_id="resp_1",
            item_id="item_asst1",
            output_index=0,
            content_index=1,
            text="Hi there.",
        ),
        ev.TranscriptDone("item_asst1", 1, "Hi there.", "text"),
    ),
    (
        _e(
            "response.function_call_arguments.delta",
            response_id="resp_1",
            item_id="item_call1",
            output_index=1,
            call_id="call_1",
            delta='{"tz"',
        ),
        ev.FunctionArgumentsDelta("item_call1", "call_1", '{"tz"'),
    ),
    (
        _e(
            "response.function_call_arguments.done",
            response_id="resp_1",
            item_id="item_call1",
            output_index=1,
            call_id="call_1",
            name="get_time",
            arguments='{"tz": "UTC"}',
        ),
        ev.FunctionArgumentsDone("item_call1", "call_1", "get_time", '{"tz": "UTC"}'),
    ),
    (
        _e("rate_limits.updated", rate_limits=[{"name": "tokens", "limit": 100, "remaining": 50, "reset_seconds": 1}]),
        ev.RateLimitsUpdated((ev.RateLimit("tokens", 100, 50, 1.0),)),
    ),
    (
        _e(
            "response.content_part.added",
            response_id="resp_1",
            item_id="item_asst1",
            output_index=0,
            content_index=0,
            part={"type": "audio", "transcript": ""},
        ),
        ev.OtherEvent("response.content_part.added"),
    ),
    (_e("input_audio_buffer.cleared"), ev.OtherEvent("input_audio_buffer.cleared")),
]

# GA name -> beta / Azure-preview name, for the events that were renamed.
RENAMED = {
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
    "conversation.item.added": "conversation.item.created",
}
GA_ONLY_EVENTS = {"conversation.item.done"}
"""GA events with no beta counterpart."""


def _beta(wire: dict[str, Any]) -> dict[str, Any]:
    beta = copy.deepcopy(wire)
    beta["type"] = RENAMED.get(wire["type"], wire["type"])
    if beta["type"] in ("session.created", "session.updated"):
        beta["session"] = SESSION_BETA
    if beta["type"] == "response.function_call_arguments.done":
        del beta["name"]  # beta's event has no name (the output item carries it)
    return beta


def _beta_expected(expected: ev.ServerEvent) -> ev.ServerEvent:
    if isinstance(expected, ev.SessionCreated):
        return ev.SessionCreated(SESSION_BETA)
    if isinstance(expected, ev.SessionUpdated):
        return ev.SessionUpdated(SESSION_BETA)
    if isinstance(expected, ev.FunctionArgumentsDone):
        return ev.FunctionArgumentsDone(expected.item_id, expected.call_id, None, expected.arguments)
    return expected


BETA_CASES = [
    (_beta(wire), _beta_expected(expected)) for wire, expected in GA_CASES if wire["type"] not in GA_ONLY_EVENTS
]


def _id(case: tuple[dict[str, Any], ev.ServerEvent]) -> str:
    return str(case[0]["type"])


@pytest.mark.parametrize("case", GA_CASES, ids=[_id(c) for c in GA_CASES])
def test_ga_event_parses_to_its_typed_event(case: tuple[dict[str, Any], ev.ServerEvent]) -> None:
    wire, expected = case
    assert ev.parse_server_event(wire) == expected
    assert ev.normalized_type(wire) == wire["type"]


@pytest.mark.parametrize("case", BETA_CASES, ids=[_id(c) for c in BETA_CASES])
def test_beta_alias_parses_to_the_same_typed_event(case: tuple[dict[str, Any], ev.ServerEvent]) -> None:
    wire, expected = case
    assert ev.parse_server_event(wire) == expected


@pytest.mark.parametrize(("beta_name", "ga_name"), [(b, g) for g, b in RENAMED.items()])
def test_normalized_type_maps_beta_names(beta_name: str, ga_name: str) -> None:
    assert ev.normalized_type({"type": beta_name}) == ga_name


def test_normalized_type_of_an_event_without_a_type() -> None:
    assert ev.normalized_type({}) == "?"
    assert ev.normalized_type({"type": 3}) == "?"


@pytest.mark.parametrize("case", GA_CASES, ids=[_id(c) for c in GA_CASES])
def test_ga_samples_are_real_ga_events(case: tuple[dict[str, Any], ev.ServerEvent]) -> None:
    """The fixtures above follow openai's GA models, so the parser is tested on real shapes."""
    validate_server_event(case[0], "ga")


@pytest.mark.parametrize("case", BETA_CASES, ids=[_id(c) for c in BETA_CASES])
def test_beta_samples_are_real_beta_events(case: tuple[dict[str, Any], ev.ServerEvent]) -> None:
    validate_server_event(case[0], "beta")


def test_every_renamed_event_is_a_beta_event_and_not_ga() -> None:
    for ga_name, beta_name in RENAMED.items():
        if ga_name == "conversation.item.added":
            continue  # GA still defines conversation.item.created as well
        with pytest.raises(AssertionError, match="not a ga server event type"):
            validate_server_event({"type": beta_name}, "ga")
        with pytest.raises(AssertionError, match="not a beta server event type"):
            validate_server_event({"type": ga_name}, "beta")


# --------------------------------------------------------------------------- bad shapes never raise


def _corrupt(kind: str, path: tuple[str, ...], value: Any) -> tuple[str, dict[str, Any]]:
    base = next(copy.deepcopy(w) for w, _ in GA_CASES if w["type"] == kind)
    target = base
    for key in path[:-1]:
        target = target[key]
    if value is _MISSING:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return kind, base


_MISSING = object()

MALFORMED = [
    _corrupt("response.output_audio.delta", ("delta",), _MISSING),
    _corrupt("response.output_audio.delta", ("delta",), 123),
    _corrupt("response.output_audio.delta", ("item_id",), None),
    _corrupt("response.output_audio.delta", ("response_id",), ["resp_1"]),
    _corrupt("response.output_audio.delta", ("content_index",), "0"),
    _corrupt("response.output_audio.delta", ("content_index",), True),
    _corrupt("response.output_audio.delta", ("content_index",), 0.0),
    _corrupt("response.output_audio_transcript.delta", ("delta",), None),
    _corrupt("response.output_audio_transcript.done", ("transcript",), _MISSING),
    _corrupt("response.output_text.done", ("text",), 5),
    _corrupt("response.output_audio.done", ("item_id",), _MISSING),
    _corrupt("session.created", ("session",), "sess_1"),
    _corrupt("session.updated", ("session",), _MISSING),
    _corrupt("error", ("error",), "boom"),
    _corrupt("error", ("error",), _MISSING),
    _corrupt("error", ("error", "code"), 400),
    _corrupt("error", ("error", "param"), ["x"]),
    _corrupt("error", ("error", "event_id"), 7),
    _corrupt("input_audio_buffer.speech_started", ("audio_start_ms",), "1200"),
    _corrupt("input_audio_buffer.speech_stopped", ("item_id",), 1),
    _corrupt("input_audio_buffer.committed", ("previous_item_id",), 5),
    _corrupt("conversation.item.added", ("item",), None),
    _corrupt("conversation.item.added", ("item",), ["item_user1"]),
    _corrupt("conversation.item.added", ("item", "id"), _MISSING),
    _corrupt("conversation.item.added", ("item", "id"), 17),
    _corrupt("conversation.item.added", ("item", "type"), None),
    _corrupt("conversation.item.added", ("previous_item_id",), {"id": "x"}),
    _corrupt("conversation.item.done", ("item",), _MISSING),
    _corrupt("conversation.item.deleted", ("item_id",), _MISSING),
    _corrupt("conversation.item.truncated", ("audio_end_ms",), _MISSING),
    _corrupt("conversation.item.truncated", ("audio_end_ms",), 1500.5),
    _corrupt("conversation.item.input_audio_transcription.delta", ("delta",), 3),
    _corrupt("conversation.item.input_audio_transcription.completed", ("transcript",), None),
    _corrupt("conversation.item.input_audio_transcription.failed", ("item_id",), _MISSING),
    _corrupt("response.created", ("response",), "resp_1"),
    _corrupt("response.created", ("response", "id"), None),
    _corrupt("response.done", ("response",), _MISSING),
    _corrupt("response.done", ("response", "id"), 1),
    _corrupt("response.output_item.added", ("response_id",), _MISSING),
    _corrupt("response.output_item.done", ("item",), "item_call1"),
    _corrupt("response.function_call_arguments.delta", ("call_id",), None),
    _corrupt("response.function_call_arguments.done", ("arguments",), {"tz": "UTC"}),
    _corrupt("response.function_call_arguments.done", ("name",), 3),
]


@pytest.mark.parametrize(("kind", "wire"), MALFORMED, ids=[f"{k}-{i}" for i, (k, _) in enumerate(MALFORMED)])
def test_wrong_field_shapes_become_malformed_events(kind: str, wire: dict[str, Any]) -> None:
    event = ev.parse_server_event(wire)
    assert isinstance(event, ev.MalformedEvent), event
    assert event.reason.startswith(f"{kind}: '"), event.reason
    assert event.preview == json.dumps(wire)[:200]


def test_malformed_reason_names_the_field() -> None:
    _, wire = _corrupt("response.output_audio.delta", ("delta",), 123)
    assert ev.parse_server_event(wire) == ev.MalformedEvent(
        "response.output_audio.delta: 'delta' should be a string", json.dumps(wire)[:200]
    )
    _, wire = _corrupt("conversation.item.truncated", ("audio_end_ms",), "1500")
    event = ev.parse_server_event(wire)
    assert isinstance(event, ev.MalformedEvent)
    assert event.reason == "conversation.item.truncated: 'audio_end_ms' should be an integer"


def test_beta_malformed_event_reason_uses_the_ga_name() -> None:
    wire = {"type": "response.audio.delta", "response_id": "r", "item_id": "i", "content_index": 0}
    event = ev.parse_server_event(wire)
    assert isinstance(event, ev.MalformedEvent)
    assert event.reason == "response.output_audio.delta: 'delta' should be a string"


@pytest.mark.parametrize("data", [[], [{"type": "session.created"}], "session.created", 42, 4.2, None, True])
def test_a_frame_that_is_not_an_object_is_malformed(data: Any) -> None:
    assert ev.parse_server_event(data) == ev.MalformedEvent("the frame is not a JSON object", json.dumps(data))


@pytest.mark.parametrize("data", [{}, {"type": None}, {"type": 5}, {"type": ["error"]}, {"event_id": "x"}])
def test_an_event_without_a_string_type_is_malformed(data: dict[str, Any]) -> None:
    assert ev.parse_server_event(data) == ev.MalformedEvent("the event has no 'type'", json.dumps(data))


def test_the_preview_is_bounded() -> None:
    event = ev.parse_server_event(["x" * 1000])
    assert isinstance(event, ev.MalformedEvent)
    assert len(event.preview) == 200


@pytest.mark.parametrize(
    "kind",
    [
        "brand.new.event",
        "",
        "response.output_audio.delta.extra",
        "output_audio_buffer.started",
        "mcp_list_tools.failed",
    ],
)
def test_unknown_types_are_other_events(kind: str) -> None:
    assert ev.parse_server_event({"type": kind, "whatever": [1, 2]}) == ev.OtherEvent(kind)


# --------------------------------------------------------------------------- error events


def test_error_event_with_every_field() -> None:
    event = ev.parse_server_event({"type": "error", "event_id": "e", "error": ERROR_BODY})
    assert event == ev.ServerError(
        message="Invalid value: 'x'.",
        type="invalid_request_error",
        code="invalid_value",
        param="session.voice",
        event_id="evt_client1",
    )


def test_error_event_with_only_a_message() -> None:
    event = ev.parse_server_event({"type": "error", "error": {"message": "Something broke"}})
    assert event == ev.ServerError("Something broke", "error", None, None, None)


def test_error_event_with_an_empty_error_object_gets_readable_defaults() -> None:
    event = ev.parse_server_event({"type": "error", "error": {}})
    assert event == ev.ServerError("the server reported an error", "error", None, None, None)


def test_error_event_with_non_string_message_and_type_falls_back() -> None:
    event = ev.parse_server_event({"type": "error", "error": {"message": 5, "type": None, "code": "session_expired"}})
    assert event == ev.ServerError("the server reported an error", "error", "session_expired", None, None)


def test_session_expired_error_keeps_its_code() -> None:
    wire = {
        "type": "error",
        "event_id": "event_x",
        "error": {
            "type": "invalid_request_error",
            "code": "session_expired",
            "message": "Your session hit the maximum duration of 60 minutes.",
            "param": None,
            "event_id": None,
        },
    }
    validate_server_event(wire, "ga")
    event = ev.parse_server_event(wire)
    assert isinstance(event, ev.ServerError)
    assert (event.code, event.param, event.event_id) == ("session_expired", None, None)


def test_transcription_failed_without_error_object_has_a_default_message() -> None:
    wire = {"type": "conversation.item.input_audio_transcription.failed", "item_id": "item_u", "error": "nope"}
    assert ev.parse_server_event(wire) == ev.InputTranscriptFailed("item_u", "transcription failed")


def test_response_done_without_status_counts_as_completed() -> None:
    response = {"id": "resp_9"}
    assert ev.parse_server_event({"type": "response.done", "response": response}) == ev.ResponseDone(
        "resp_9", "completed", response
    )


def test_response_done_keeps_cancelled_status() -> None:
    response = {
        **RESPONSE_DONE,
        "status": "cancelled",
        "status_details": {"type": "cancelled", "reason": "turn_detected"},
    }
    event = ev.parse_server_event({"type": "response.done", "event_id": "e", "response": response})
    assert event == ev.ResponseDone("resp_1", "cancelled", response)


def test_function_arguments_done_without_a_name_is_accepted() -> None:
    """Beta's .done event has no name: the name comes from the output item."""
    wire = {
        "type": "response.function_call_arguments.done",
        "event_id": "e",
        "response_id": "resp_1",
        "item_id": "item_call1",
        "output_index": 0,
        "call_id": "call_1",
        "arguments": "{}",
    }
    validate_server_event(wire, "beta")
    assert ev.parse_server_event(wire) == ev.FunctionArgumentsDone("item_call1", "call_1", None, "{}")


def test_missing_content_index_defaults_to_zero() -> None:
    wire = {"type": "response.output_audio.delta", "response_id": "r", "item_id": "i", "delta": "AA=="}
    assert ev.parse_server_event(wire) == ev.AudioDelta("r", "i", 0, "AA==")


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], ()),
        (
            [{"name": "requests", "limit": 5000, "remaining": 0, "reset_seconds": 0.5}],
            (ev.RateLimit("requests", 5000, 0, 0.5),),
        ),
        # odd values become None, the rest of the entry is kept
        (
            [{"name": "tokens", "limit": True, "remaining": float("nan"), "reset_seconds": "soon"}],
            (ev.RateLimit("tokens", None, None, None),),
        ),
        (
            [{"name": "tokens", "remaining": -3, "reset_seconds": float("inf")}],
            (ev.RateLimit("tokens", None, None, None),),
        ),
        (
            [{"name": "tokens", "remaining": 9800.0, "reset_seconds": 10**400}],
            (ev.RateLimit("tokens", None, 9800, None),),
        ),
        # entries without a name, or not objects, are skipped
        (
            [1, "x", None, {"remaining": 3}, {"name": 7}, {"name": "requests"}],
            (ev.RateLimit("requests", None, None, None),),
        ),
    ],
)
def test_rate_limits_updated_keeps_what_makes_sense(entries: list[object], expected: tuple[ev.RateLimit, ...]) -> None:
    assert ev.parse_server_event({"type": "rate_limits.updated", "rate_limits": entries}) == ev.RateLimitsUpdated(
        expected
    )


def test_rate_limits_updated_without_a_list_is_empty_or_malformed() -> None:
    assert ev.parse_server_event({"type": "rate_limits.updated"}) == ev.RateLimitsUpdated(())
    malformed = ev.parse_server_event({"type": "rate_limits.updated", "rate_limits": {"name": "requests"}})
    assert isinstance(malformed, ev.MalformedEvent) and "rate_limits" in malformed.reason
