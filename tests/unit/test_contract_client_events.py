"""Every client event voicedesk can send validates against the openai package's models, in both protocols.

The session.update payload is driven over a matrix of settings; the other builders over their variants.
The negative tests at the end prove the contract can fail: a wrong-protocol field, a misspelling deep in
the payload, a wrong type.
"""

from __future__ import annotations

import itertools
import typing
from dataclasses import replace
from typing import Any

import pytest

from tests.contract import client_event_types, unknown_keys, validate_client_event, validate_server_event
from voicedesk.realtime import events as ev
from voicedesk.realtime.session_config import (
    AUDIO_FORMATS,
    TURN_DETECTION_TYPES,
    Modality,
    NoiseReduction,
    SessionSettings,
    TurnDetection,
    build_session_payload,
)

PROTOCOLS = ("ga", "beta")
MODALITIES: tuple[tuple[Modality, ...], ...] = (("audio",), ("text",), ("audio", "text"))
NOISE_REDUCTION: tuple[NoiseReduction | None, ...] = (None, "near_field", "far_field")

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "get_time",
        "description": "The current time in a time zone.",
        "parameters": {
            "type": "object",
            "properties": {"tz": {"type": "string", "description": "IANA time zone"}},
            "required": ["tz"],
        },
    },
    {"type": "function", "name": "stop_conversation", "description": "End the call.", "parameters": {}},
]


def _wire(event: ev.ClientEvent, protocol: ev.ProtocolVersion) -> dict[str, Any]:
    """What RealtimeClient.send puts on the wire: the event plus an event_id."""
    wire = event.to_wire(protocol)
    wire["event_id"] = ev.new_event_id()
    return wire


# --------------------------------------------------------------------------- session.update matrix


def _settings_matrix() -> list[tuple[str, SessionSettings, bool]]:
    """(id, settings, include_voice): every turn detection x format x noise reduction x transcription x
    output modality, with tools, tool choice, token limit, speed, voice and extra varied along the way."""
    cases = []
    combos = itertools.product(
        TURN_DETECTION_TYPES,
        AUDIO_FORMATS,
        NOISE_REDUCTION,
        (True, False),
        MODALITIES,
    )
    for n, (td, fmt, noise, transcription, modalities) in enumerate(combos):
        output_fmt = AUDIO_FORMATS[(n + 1) % len(AUDIO_FORMATS)]
        settings = SessionSettings(
            instructions="Be brief." if n % 2 else "",
            voice=("alloy", "marin", "verse")[n % 3],
            output_modalities=modalities,
            input_format=fmt,
            output_format=output_fmt,
            transcription_model="gpt-4o-mini-transcribe" if transcription else None,
            transcription_language="de" if transcription and n % 2 else None,
            noise_reduction=noise,
            turn_detection=TurnDetection(
                type=td,
                eagerness=("low", "medium", "high", "auto")[n % 4],
                idle_timeout_ms=6000 if n % 5 == 0 else None,
                create_response=n % 3 != 0,
                interrupt_response=n % 4 != 0,
            ),
            speed=(None, 0.25, 1.0, 1.5)[n % 4],
            max_output_tokens=("inf", 1, 4096, 512)[n % 4],
            tool_choice=("auto", "none", "required", "get_time")[n % 4],
        )
        case_id = f"{td}-{fmt}>{output_fmt}-nr_{noise}-tr_{transcription}-{'+'.join(modalities)}"
        cases.append((case_id, settings, n % 7 != 0))
    return cases


SETTINGS_MATRIX = _settings_matrix()


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("settings", "include_voice"), [c[1:] for c in SETTINGS_MATRIX], ids=[c[0] for c in SETTINGS_MATRIX]
)
def test_session_update_validates(settings: SessionSettings, include_voice: bool, protocol: ev.ProtocolVersion) -> None:
    for tools in (TOOLS, None):
        if tools is None and settings.tool_choice == "get_time":
            continue  # naming a tool only makes sense with tools
        payload = build_session_payload(settings, protocol, tools, include_voice=include_voice)
        validate_client_event(_wire(ev.SessionUpdate(payload), protocol), protocol)


def test_the_matrix_covers_every_option() -> None:
    settings = [s for _, s, _ in SETTINGS_MATRIX]
    assert {s.turn_detection.type for s in settings} == set(TURN_DETECTION_TYPES)
    assert {s.input_format for s in settings} == set(AUDIO_FORMATS)
    assert {s.output_format for s in settings} == set(AUDIO_FORMATS)
    assert {s.noise_reduction for s in settings} == {None, "near_field", "far_field"}
    assert {s.transcription_model is None for s in settings} == {True, False}
    assert {s.output_modalities for s in settings} == {("audio",), ("text",), ("audio", "text")}
    assert {s.tool_choice for s in settings} == {"auto", "none", "required", "get_time"}
    assert {s.max_output_tokens for s in settings} == {"inf", 1, 4096, 512}
    assert {s.turn_detection.idle_timeout_ms for s in settings} == {None, 6000}
    assert {s.speed for s in settings} == {None, 0.25, 1.0, 1.5}
    assert {include for _, _, include in SETTINGS_MATRIX} == {True, False}


EXTRAS: dict[str, list[dict[str, Any]]] = {
    "ga": [
        {"truncation": "disabled"},
        {"tracing": "auto", "parallel_tool_calls": False},
        {"audio": {"input": {"noise_reduction": {"type": "far_field"}}}},
        {"audio": {"input": {"transcription": {"prompt": "voicedesk, realtime"}}}},
        {"include": ["item.input_audio_transcription.logprobs"]},
    ],
    "beta": [
        {"temperature": 0.7},
        {"input_audio_transcription": {"prompt": "voicedesk"}},
        {"turn_detection": {"silence_duration_ms": 800}},
        {"tracing": "auto"},
    ],
}


@pytest.mark.parametrize(
    ("protocol", "extra"),
    [(p, x) for p in PROTOCOLS for x in EXTRAS[p]],
    ids=lambda v: str(v) if isinstance(v, str) else "",
)
def test_session_update_with_extra_pass_through_validates(protocol: ev.ProtocolVersion, extra: dict[str, Any]) -> None:
    settings = SessionSettings(noise_reduction="near_field", extra=extra)
    payload = build_session_payload(settings, protocol, TOOLS)
    validate_client_event(_wire(ev.SessionUpdate(payload), protocol), protocol)


# --------------------------------------------------------------------------- the other builders

ITEM_SPECS: list[ev.ItemSpec] = [
    ev.MessageSpec("user", "What time is it?"),
    ev.MessageSpec("user", "Hi", item_id="item_vd0123456789abcdef0123"),
    ev.MessageSpec("assistant", "It is noon."),
    ev.MessageSpec("assistant", "It is", item_id="item_vdasst"),
    ev.MessageSpec("system", "Summary of the earlier part of this conversation:\nuser: hi", item_id="item_vdsum01"),
    ev.FunctionCallSpec("call_abc", "get_time", '{"tz": "UTC"}'),
    ev.FunctionCallSpec("call_abc", "get_time", "{}", item_id="item_vdcall"),
    ev.FunctionOutputSpec("call_abc", '{"time": "12:00"}'),
    ev.FunctionOutputSpec("call_abc", "", item_id="item_vdout"),
]

OTHER_EVENTS: list[ev.ClientEvent] = [
    ev.InputAudioAppend("AAAAAAAA"),
    ev.InputAudioAppend(""),
    ev.InputAudioCommit(),
    ev.InputAudioClear(),
    *[ev.ItemCreate(spec) for spec in ITEM_SPECS],
    *[ev.ItemCreate(spec, previous_item_id="item_prev") for spec in ITEM_SPECS],
    ev.ItemDelete("item_asst1"),
    ev.ItemTruncate("item_asst1", 0, 0),
    ev.ItemTruncate("item_asst1", 1, 2350),
    ev.ResponseCreate(),
    ev.ResponseCreate(instructions="Say goodbye."),
    ev.ResponseCreate(instructions="", metadata={"reason": "tool_output"}),
    ev.ResponseCancel(),
    ev.ResponseCancel("resp_1"),
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("event", OTHER_EVENTS, ids=lambda e: type(e).__name__)
def test_client_event_validates(event: ev.ClientEvent, protocol: ev.ProtocolVersion) -> None:
    validate_client_event(_wire(event, protocol), protocol)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_client_event_class_is_covered(protocol: ev.ProtocolVersion) -> None:
    covered = {type(e) for e in OTHER_EVENTS} | {ev.SessionUpdate}
    assert covered == set(typing.get_args(ev.ClientEvent))
    assert {type(s) for s in ITEM_SPECS} == set(typing.get_args(ev.ItemSpec))
    sent_types = {e.to_wire(protocol)["type"] for e in OTHER_EVENTS} | {"session.update"}
    assert sent_types <= client_event_types(protocol)


@pytest.mark.parametrize(
    ("spec", "ga_type", "beta_type"),
    [
        (ev.MessageSpec("user", "x"), "input_text", "input_text"),
        (ev.MessageSpec("system", "x"), "input_text", "input_text"),
        (ev.MessageSpec("assistant", "x"), "output_text", "text"),
    ],
)
def test_message_content_type_follows_role_and_protocol(spec: ev.MessageSpec, ga_type: str, beta_type: str) -> None:
    assert spec.to_wire("ga")["content"] == [{"type": ga_type, "text": "x"}]
    assert spec.to_wire("beta")["content"] == [{"type": beta_type, "text": "x"}]


# --------------------------------------------------------------------------- the contract can fail


def _ga_session(**session: Any) -> dict[str, Any]:
    return {"type": "session.update", "session": {"type": "realtime", **session}}


def test_ga_rejects_beta_modalities() -> None:
    with pytest.raises(AssertionError, match=r"session: unknown key 'modalities' \(RealtimeSessionCreateRequest"):
        validate_client_event(_ga_session(modalities=["audio"]), "ga")


def test_ga_rejects_the_flat_beta_session() -> None:
    payload = build_session_payload(SessionSettings(), "beta", TOOLS)
    with pytest.raises(AssertionError) as info:
        validate_client_event({"type": "session.update", "session": payload}, "ga")
    assert "type: Field required" in str(info.value)  # GA needs session.type


def test_ga_rejects_beta_payload_even_with_a_session_type() -> None:
    payload = {"type": "realtime", **build_session_payload(SessionSettings(), "beta", TOOLS)}
    payload.pop("tool_choice")
    with pytest.raises(AssertionError) as info:
        validate_client_event({"type": "session.update", "session": payload}, "ga")
    message = str(info.value)
    for key in ("modalities", "input_audio_format", "output_audio_format", "voice", "max_response_output_tokens"):
        assert f"unknown key '{key}'" in message


def test_beta_rejects_ga_audio_nesting() -> None:
    payload = build_session_payload(SessionSettings(), "ga", TOOLS)
    with pytest.raises(AssertionError) as info:
        validate_client_event({"type": "session.update", "session": payload}, "beta")
    message = str(info.value)
    assert "session: unknown key 'audio'" in message
    assert "session: unknown key 'type'" in message
    assert "session: unknown key 'output_modalities'" in message


def test_beta_rejects_a_named_tool_choice_object() -> None:
    wire = {"type": "session.update", "session": {"tool_choice": {"type": "function", "name": "get_time"}}}
    with pytest.raises(AssertionError, match=r"session\.update\.session\.tool_choice: Input should be a valid string"):
        validate_client_event(wire, "beta")


def test_beta_rejects_idle_timeout() -> None:
    wire = {"type": "session.update", "session": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 5000}}}
    with pytest.raises(AssertionError, match=r"session\.turn_detection: unknown key 'idle_timeout_ms'"):
        validate_client_event(wire, "beta")


def test_a_misspelling_deep_in_the_payload_is_caught_with_its_path() -> None:
    payload = build_session_payload(SessionSettings(), "ga")
    payload["audio"]["input"]["turn_detection"]["silence_ms"] = 400
    with pytest.raises(
        AssertionError, match=r"session\.audio\.input\.turn_detection: unknown key 'silence_ms' \(ServerVad"
    ):
        validate_client_event({"type": "session.update", "session": payload}, "ga")


def test_a_misspelling_in_a_tool_is_caught() -> None:
    tool = {**TOOLS[0], "parameter": TOOLS[0]["parameters"]}
    with pytest.raises(AssertionError, match=r"session\.tools\[0\]: unknown key 'parameter'"):
        validate_client_event(_ga_session(tools=[tool]), "ga")


def test_a_wrong_audio_format_is_caught() -> None:
    payload = build_session_payload(SessionSettings(), "ga")
    payload["audio"]["output"]["format"] = {"type": "audio/pcm", "rate": 16000}
    with pytest.raises(AssertionError, match="rate"):
        validate_client_event({"type": "session.update", "session": payload}, "ga")
    payload["audio"]["output"]["format"] = "pcm16"  # the beta spelling
    with pytest.raises(AssertionError, match="format"):
        validate_client_event({"type": "session.update", "session": payload}, "ga")


def test_ga_rejects_beta_assistant_text_content() -> None:
    wire = ev.ItemCreate(ev.MessageSpec("assistant", "hi")).to_wire("beta")
    with pytest.raises(AssertionError, match="does not match openai's ConversationItemCreateEvent"):
        validate_client_event(wire, "ga")


def test_beta_rejects_ga_assistant_output_text_content() -> None:
    wire = ev.ItemCreate(ev.MessageSpec("assistant", "hi")).to_wire("ga")
    with pytest.raises(AssertionError, match="content"):
        validate_client_event(wire, "beta")


def test_an_item_with_an_unknown_key_is_caught() -> None:
    wire = ev.ItemCreate(ev.FunctionOutputSpec("call_1", "{}")).to_wire("ga")
    wire["item"]["result"] = "{}"
    with pytest.raises(AssertionError, match=r"item: unknown key 'result'"):
        validate_client_event(wire, "ga")


@pytest.mark.parametrize("value", [1500.5, "1500", None, True])
def test_truncate_needs_an_integer_audio_end(value: Any) -> None:
    wire = {"type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0, "audio_end_ms": value}
    with pytest.raises(AssertionError, match="audio_end_ms"):
        validate_client_event(wire, "ga")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_unknown_top_level_key_is_caught(protocol: ev.ProtocolVersion) -> None:
    with pytest.raises(AssertionError, match=r"<event>: unknown key 'response_id' \(InputAudioBufferCommitEvent"):
        validate_client_event({"type": "input_audio_buffer.commit", "response_id": "resp_1"}, protocol)


def test_an_unknown_event_type_is_caught_with_a_hint() -> None:
    with pytest.raises(AssertionError, match=r"'response.cancelled' is not a ga client event type; known: "):
        validate_client_event({"type": "response.cancelled"}, "ga")
    with pytest.raises(AssertionError, match=r"not a ga client event type \(it is a beta event type\)"):
        validate_client_event({"type": "transcription_session.update", "session": {}}, "ga")


@pytest.mark.parametrize("wire", [[], "session.update", None, {"session": {}}, {"type": 3}])
def test_a_wire_that_is_not_an_event_is_caught(wire: Any) -> None:
    with pytest.raises(AssertionError):
        validate_client_event(wire, "ga")


def test_a_value_that_cannot_be_json_is_caught() -> None:
    with pytest.raises(AssertionError, match="not JSON-serialisable"):
        validate_client_event({"type": "input_audio_buffer.append", "audio": b"\x00\x01"}, "ga")
    with pytest.raises(AssertionError, match="not JSON-serialisable"):
        validate_client_event(_ga_session(audio={"output": {"speed": float("nan")}}), "ga")


def test_missing_required_field_is_caught() -> None:
    with pytest.raises(AssertionError, match=r"conversation.item.delete.item_id: Field required"):
        validate_client_event({"type": "conversation.item.delete"}, "beta")


def test_an_unknown_protocol_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match="protocol must be 'ga' or 'beta'"):
        validate_client_event({"type": "input_audio_buffer.commit"}, "v2")  # type: ignore[arg-type]


def test_allow_unknown_keys_only_skips_the_key_walk() -> None:
    validate_client_event(_ga_session(modalities=["audio"]), "ga", allow_unknown_keys=True)
    with pytest.raises(AssertionError):
        validate_client_event(_ga_session(output_modalities="audio"), "ga", allow_unknown_keys=True)


def test_unknown_keys_resolves_unions_by_their_tags() -> None:
    from openai.types.realtime.conversation_item import ConversationItem

    user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x", "extra": 1}]}
    assert unknown_keys(user, ConversationItem, "item") == [
        "item.content[0]: unknown key 'extra' (Content declares audio, detail, image_url, text, transcript, type)"
    ]
    ok = {"type": "function_call_output", "call_id": "c", "output": "o"}
    assert unknown_keys(ok, ConversationItem, "item") == []


def test_server_events_are_validated_too() -> None:
    delta = {
        "type": "response.output_audio.delta",
        "event_id": "e1",
        "response_id": "r",
        "item_id": "i",
        "output_index": 0,
        "content_index": 0,
        "delta": "AAAA",
    }
    validate_server_event(delta, "ga")
    with pytest.raises(AssertionError, match="not a beta server event type"):
        validate_server_event(delta, "beta")
    validate_server_event({**delta, "type": "response.audio.delta"}, "beta")
    with pytest.raises(AssertionError, match="unknown key 'audio'"):
        validate_server_event({**delta, "audio": "AAAA"}, "ga")
    with pytest.raises(AssertionError, match="output_index: Field required"):
        validate_server_event({k: v for k, v in delta.items() if k != "output_index"}, "ga")


def test_session_created_may_carry_the_session_identity() -> None:
    session = {"type": "realtime", "id": "sess_1", "object": "realtime.session", "expires_at": 1700000000}
    validate_server_event({"type": "session.created", "event_id": "e", "session": session}, "ga")
    with pytest.raises(AssertionError, match="session: unknown key 'modalities'"):
        validate_server_event(
            {"type": "session.created", "event_id": "e", "session": {**session, "modalities": ["audio"]}}, "ga"
        )


def test_replace_keeps_settings_frozen() -> None:
    """The matrix relies on SessionSettings being a value: building a payload never changes it."""
    settings = SETTINGS_MATRIX[5][1]
    before = replace(settings)
    build_session_payload(settings, "ga", TOOLS)
    build_session_payload(settings, "beta", TOOLS)
    assert settings == before
