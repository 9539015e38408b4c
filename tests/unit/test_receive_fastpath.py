"""The receive path's shortcuts behave exactly like the general path they bypass.

Audio deltas (most frames) reach the session controller as plain fields instead of an ``AudioDelta``;
frames are decoded with ``JSONDecoder.raw_decode`` before ``json.loads``; base64 audio goes straight to
``binascii``; streamed transcript words return the display text instead of a whole snapshot. Each is
compared here with what it replaced, on chosen cases and on hypothesis' arbitrary inputs.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicedesk.audio.filesource import NullSource
from voicedesk.audio.null import NullSink
from voicedesk.realtime import events as ev
from voicedesk.realtime.client import RealtimeClient
from voicedesk.realtime.endpoint import custom_endpoint
from voicedesk.realtime.session_config import SessionSettings, TurnDetection
from voicedesk.session import events as se
from voicedesk.session.controller import SessionController
from voicedesk.session.conversation import Conversation
from voicedesk.session.wire_audio import AudioCodec, BadAudio

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENDPOINT = custom_endpoint("ws://127.0.0.1:1/x")
AUDIO_TYPES = ("response.output_audio.delta", "response.audio.delta")

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
# Audio deltas whose fields may each be missing or of any JSON type.
audio_deltas = st.fixed_dictionaries(
    {"type": st.sampled_from(AUDIO_TYPES)},
    optional={
        "response_id": st.text(max_size=6) | json_scalars,
        "item_id": st.text(max_size=6) | json_scalars,
        "content_index": st.integers(-2, 5) | json_scalars,
        "delta": st.sampled_from(["AAAA", "AAE=", "", "not base64!", "AAA"]) | json_scalars,
        "event_id": st.text(max_size=6),
    },
)
padding = st.sampled_from(["", " ", "\n", "\ufeff"])
frames = st.one_of(
    audio_deltas.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=40),
    st.builds(lambda before, raw, after: before + json.dumps(raw) + after, padding, audio_deltas, padding),
    st.binary(max_size=8),
)


def _delta(kind: str = "response.output_audio.delta", **fields: Any) -> dict[str, Any]:
    base = {"type": kind, "response_id": "resp_1", "item_id": "item_1", "content_index": 0, "delta": "AAAA"}
    return {**base, **fields}


# --------------------------------------------------------------------------- audio_delta_fields


@pytest.mark.parametrize("kind", AUDIO_TYPES)
def test_fields_of_a_well_formed_delta_are_the_audio_delta_fields(kind: str) -> None:
    raw = _delta(kind, content_index=1)
    assert ev.audio_delta_fields(raw) == ("resp_1", "item_1", 1, "AAAA")
    assert ev.parse_server_event(raw) == ev.AudioDelta("resp_1", "item_1", 1, "AAAA")


def test_content_index_defaults_to_zero() -> None:
    raw = _delta()
    del raw["content_index"]
    assert ev.audio_delta_fields(raw) == ("resp_1", "item_1", 0, "AAAA")


@pytest.mark.parametrize(
    "raw",
    [
        _delta(item_id=None),
        _delta(response_id=7),
        _delta(content_index=True),  # a bool is not an index
        _delta(content_index="0"),
        _delta(delta=["AAAA"]),
        {k: v for k, v in _delta().items() if k != "delta"},
        _delta("response.output_audio_transcript.delta"),
        {"type": ["response.output_audio.delta"]},  # unhashable type: must not raise
        ["response.output_audio.delta"],
        None,
    ],
)
def test_anything_else_takes_the_general_path(raw: Any) -> None:
    assert ev.audio_delta_fields(raw) is None
    assert not isinstance(ev.parse_server_event(raw), ev.AudioDelta)


@PROPERTY
@given(audio_deltas | json_values)
def test_fields_agree_with_parse_server_event(raw: Any) -> None:
    fields = ev.audio_delta_fields(raw)
    parsed = ev.parse_server_event(raw)
    if fields is None:
        assert not isinstance(parsed, ev.AudioDelta)
    else:
        assert parsed == ev.AudioDelta(*fields)


# --------------------------------------------------------------------------- the client's dispatch


class Recorder:
    """What a client hands on, with audio from ``on_audio`` turned back into the AudioDelta it stands for."""

    def __init__(self, *, shortcut: bool) -> None:
        self.seen: list[tuple[ev.ServerEvent, ev.JsonDict | None]] = []
        self.client = RealtimeClient(ENDPOINT, on_event=self._on_event, on_audio=self._on_audio if shortcut else None)

    def _on_event(self, event: ev.ServerEvent, raw: ev.JsonDict | None) -> None:
        self.seen.append((event, raw))

    def _on_audio(self, fields: ev.AudioFields, raw: ev.JsonDict) -> None:
        self.seen.append((ev.AudioDelta(*fields), raw))


def _reference(frame: str | bytes) -> tuple[ev.ServerEvent, ev.JsonDict | None]:
    """The general path as it was: json.loads, then parse_server_event."""
    if isinstance(frame, bytes):
        return ev.MalformedEvent("binary frame (the protocol only sends text)", f"{len(frame)} bytes"), None
    try:
        raw = json.loads(frame)
    except (ValueError, RecursionError):
        return ev.MalformedEvent("the frame is not JSON", frame[:200]), None
    return ev.parse_server_event(raw), raw if isinstance(raw, dict) else None


@PROPERTY
@given(st.lists(frames, max_size=6))
def test_dispatch_with_the_shortcut_hands_on_what_the_general_path_would(batch: list[str | bytes]) -> None:
    fast, plain = Recorder(shortcut=True), Recorder(shortcut=False)
    for frame in batch:
        fast.client._dispatch(frame)
        plain.client._dispatch(frame)
    assert fast.seen == plain.seen == [_reference(frame) for frame in batch]


@pytest.mark.parametrize(
    "frame",
    [
        " " + json.dumps(_delta()),
        json.dumps(_delta()) + "\n",
        "\ufeff" + json.dumps(_delta()),  # json.loads refuses a BOM
        json.dumps(_delta()) + "{}",  # extra data
        "[" * 100_000 + "]" * 100_000,  # absurdly nested
        "",
    ],
)
def test_frames_json_loads_treats_specially_are_treated_the_same(frame: str) -> None:
    recorder = Recorder(shortcut=True)
    recorder.client._dispatch(frame)
    assert recorder.seen == [_reference(frame)]


def test_a_failing_audio_handler_is_logged_and_the_next_frame_still_arrives(caplog: pytest.LogCaptureFixture) -> None:
    handed: list[ev.ServerEvent] = []

    def broken(fields: ev.AudioFields, raw: ev.JsonDict) -> None:
        raise RuntimeError("bug")

    client = RealtimeClient(ENDPOINT, on_event=lambda event, raw: handed.append(event), on_audio=broken)
    with caplog.at_level(logging.ERROR):
        client._dispatch(json.dumps(_delta()))
        client._dispatch(json.dumps({"type": "response.output_audio.done", "item_id": "item_1"}))
    assert "event handler failed on AudioDelta" in caplog.text
    assert handed == [ev.AudioDone("item_1")]


# --------------------------------------------------------------------------- the controller


def _controller() -> tuple[SessionController, list[se.SessionEvent]]:
    settings = SessionSettings(turn_detection=TurnDetection(type="none"), transcription_model=None)
    controller = SessionController(ENDPOINT, settings, source=NullSource(), sink=NullSink(speed=math.inf))
    emitted: list[se.SessionEvent] = []
    controller.subscribe(emitted.append)
    return controller, emitted


def _answer_item(item_id: str) -> dict[str, Any]:
    item = {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress", "content": []}
    return {"type": "conversation.item.added", "item": item, "previous_item_id": None}


@pytest.mark.parametrize("kind", AUDIO_TYPES)
def test_controller_plays_shortcut_audio_as_it_plays_an_audio_delta(kind: str) -> None:
    pcm = np.arange(-480, 480, dtype=np.int16)
    payload = base64.b64encode(pcm.astype("<i2").tobytes()).decode()
    outcomes = []
    for deliver in ("shortcut", "typed"):
        controller, emitted = _controller()
        controller.raw_events = True
        controller._client._dispatch(json.dumps(_answer_item("item_1")))
        raw = _delta(kind, delta=payload)
        if deliver == "shortcut":
            controller._client._dispatch(json.dumps(raw))
        else:
            controller._on_server_event(ev.parse_server_event(raw), raw)
        chunks = [e for e in emitted if isinstance(e, se.AudioChunk)]
        assert len(chunks) == 1 and chunks[0].item_id == "item_1"
        np.testing.assert_array_equal(chunks[0].pcm, pcm)
        kinds = [e.kind for e in emitted if e.kind in ("raw_model_event", "audio")]
        item = controller.conversation.get("item_1")
        assert item is not None
        outcomes.append((kinds, item.audio_ms, controller.activity))
    assert outcomes[0] == outcomes[1] == (["raw_model_event", "raw_model_event", "audio"], 40, "speaking")


# --------------------------------------------------------------------------- decoding audio and text


@PROPERTY
@given(st.binary(max_size=64))
def test_decoded_audio_is_the_base64_payload_as_pcm16(data: bytes) -> None:
    pcm = AudioCodec("pcm16", "pcm16").decode_output(base64.b64encode(data).decode())
    usable = len(data) - len(data) % 2  # a torn odd byte is dropped
    np.testing.assert_array_equal(pcm, np.frombuffer(data[:usable], dtype="<i2").astype(np.int16))
    assert pcm.dtype == np.int16


@pytest.mark.parametrize("payload", ["A", "AAA", "AA=A", "é", "AAAA" * 3 + "A"])
def test_audio_base64_refuses_is_bad_audio(payload: str) -> None:
    with pytest.raises(ValueError):  # what base64.b64decode(validate=False) raises for it
        base64.b64decode(payload, validate=False)
    with pytest.raises(BadAudio):
        AudioCodec("pcm16", "pcm16").decode_output(payload)


@pytest.mark.parametrize(
    ("content", "deltas"),
    [
        ([], [(0, "Hel"), (1, "World"), (0, "lo "), (2, "!")]),
        ([{"type": "output_text", "text": "Hi there"}], [(0, ""), (1, "")]),  # no transcript yet: the text
    ],
)
def test_streamed_words_report_the_display_text_of_a_snapshot(
    content: list[dict[str, Any]], deltas: list[tuple[int, str]]
) -> None:
    fast, slow = Conversation(), Conversation()
    for conversation in (fast, slow):
        conversation.add(
            {"id": "a1", "type": "message", "role": "assistant", "status": "in_progress", "content": content}
        )
    for index, delta in deltas:
        text = fast.append_assistant_delta("a1", index, delta)
        item = slow.append_assistant_text("a1", index, delta)
        assert item is not None and text == item.display_text
    fast_item, slow_item = fast.get("a1"), slow.get("a1")
    assert fast_item is not None and slow_item is not None
    assert dataclasses.replace(fast_item, created_at=0) == dataclasses.replace(slow_item, created_at=0)
    assert fast.append_assistant_delta("nope", 0, "x") is None
