"""Property tests of the receive path: whatever the server sends, nothing escapes and the conversation
stays consistent.

Frames go through ``RealtimeClient._dispatch`` (the receive loop's per-frame step) into a handler that
applies events to a ``Conversation`` the way ``SessionController._on_server_event`` does. Inputs: any
JSON value, any bytes or text frame, events of known types with random fields, and realistic GA and
beta turns (speech, user item, response with audio, transcripts, a tool call, a barge-in) mutated by
dropping, duplicating, reordering and corrupting events.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contract import validate_server_event
from voicedesk.realtime import events as ev
from voicedesk.realtime.client import RealtimeClient
from voicedesk.realtime.endpoint import custom_endpoint
from voicedesk.session.conversation import SUMMARY_ID_PREFIX, Conversation, Item

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ENDPOINT = custom_endpoint("ws://127.0.0.1:1/x")


# --------------------------------------------------------------------------- the harness


class Harness:
    """A RealtimeClient whose events update a Conversation as the session controller does."""

    def __init__(self) -> None:
        self.conversation = Conversation()
        self.finished: list[Item] = []
        self.conversation.on_finished(self.finished.append)
        self.errors: list[BaseException] = []
        self.events: list[ev.ServerEvent] = []
        self.client = RealtimeClient(ENDPOINT, on_event=self._on_event)

    def feed(self, frame: str | bytes) -> None:
        self.client._dispatch(frame)

    def feed_json(self, value: Any) -> None:
        self.feed(json.dumps(value))

    def _on_event(self, event: ev.ServerEvent, raw: ev.JsonDict | None) -> None:
        self.events.append(event)
        try:
            self._apply(event)
        except BaseException as exc:  # _dispatch would log and swallow it: record it so the test fails
            self.errors.append(exc)
            raise

    def _apply(self, event: ev.ServerEvent) -> None:
        """The conversation bookkeeping of SessionController._on_server_event (nothing of audio or Qt)."""
        conv = self.conversation
        match event:
            case ev.AudioDelta(item_id=item_id, audio=audio):
                conv.add_audio(item_id, len(audio) * 3 // 8)  # base64 -> bytes -> pcm16 samples
            case ev.TranscriptDelta(item_id=item_id, content_index=index, delta=delta):
                conv.append_assistant_text(item_id, index, delta)
            case ev.TranscriptDone(item_id=item_id, content_index=index, text=text):
                conv.set_assistant_text(item_id, index, text)
            case ev.ItemAdded(item=item, previous_item_id=previous):
                conv.add(item, previous)
            case ev.ItemDone(item=item) | ev.OutputItemDone(item=item):
                conv.mark_done(item)
            case ev.OutputItemAdded(item=item):
                if item["id"] not in conv:
                    conv.add(item, conv.last_id())
            case ev.InputTranscriptDelta(item_id=item_id, delta=delta):
                conv.append_input_transcript(item_id, delta)
            case ev.InputTranscriptCompleted(item_id=item_id, transcript=transcript):
                conv.set_input_transcript(item_id, transcript)
            case ev.InputTranscriptFailed(item_id=item_id):
                conv.input_transcript_failed(item_id)
            case ev.SpeechStarted():
                # Barge-in: the controller truncates the playing item to what was heard.
                last = conv.get(conv.last_id() or "")
                if last is not None and last.role == "assistant" and last.truncated_ms is None:
                    conv.truncate(last.id, last.audio_ms // 2)
            case ev.ResponseDone():
                conv.settle_waiting_transcripts()
            case ev.ItemDeleted(item_id=item_id):
                conv.remove(item_id)
            case ev.ItemTruncated(item_id=item_id, audio_end_ms=end_ms):
                conv.truncate(item_id, end_ms)
            case ev.FunctionArgumentsDelta(item_id=item_id, delta=delta):
                conv.set_function_arguments(item_id, delta, append=True)
            case ev.FunctionArgumentsDone(item_id=item_id, arguments=arguments):
                conv.set_function_arguments(item_id, arguments, append=False)

    def check_order(self) -> None:
        """The cheap invariants, after every frame: nothing raised, the order and the item table agree."""
        assert self.errors == [], f"the handler raised: {self.errors!r}"
        conv = self.conversation
        # Private state on purpose: the order list and the item table must hold exactly the same ids.
        assert len(conv._order) == len(set(conv._order)), f"duplicate ids in order: {conv._order}"
        assert set(conv._order) == set(conv._items), (conv._order, list(conv._items))

    def check(self) -> None:
        """Everything, at the end of a sequence: ids, snapshots, finished items."""
        self.check_order()
        conv = self.conversation
        items = conv.items()
        order = [item.id for item in items]
        assert len(order) == len(set(order)) == len(conv)
        assert all(item_id in conv for item_id in order)
        assert conv.last_id() == (order[-1] if order else None)
        assert not any(i.startswith(SUMMARY_ID_PREFIX) for i in order)
        for item in items:
            _check_item(item)
            assert conv.get(item.id) == item
        finished = [item.id for item in self.finished]
        assert len(finished) == len(set(finished)), f"an item finished twice: {finished}"
        assert not any(i.startswith(SUMMARY_ID_PREFIX) for i in finished)
        assert {i.id for i in conv.finished_items()} <= set(order)


def _check_item(item: Item) -> None:
    assert isinstance(item.id, str)
    assert item.type in ("message", "function_call", "function_call_output", "other")
    assert item.role in ("user", "assistant", "system", None)
    assert isinstance(item.status, str)
    assert isinstance(item.text, str) and isinstance(item.transcript, str)
    assert isinstance(item.arguments, str)
    assert item.name is None or isinstance(item.name, str)
    assert item.call_id is None or isinstance(item.call_id, str)
    assert item.output is None or isinstance(item.output, str)
    assert isinstance(item.audio_ms, int) and item.audio_ms >= 0
    assert item.truncated_ms is None or isinstance(item.truncated_ms, int)
    assert item.display_text in (item.transcript, item.text)
    assert item.display_text.startswith(item.heard_text), (item.display_text, item.heard_text)
    json.dumps(item.to_record())


# --------------------------------------------------------------------------- realistic turns


def _ga_turn() -> list[dict[str, Any]]:
    """One realistic GA exchange: a spoken question, an audio answer with a tool call, the tool output,
    a second answer interrupted by the person, and some events we do not act on."""
    user = {
        "id": "item_u1",
        "object": "realtime.item",
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_audio", "transcript": None}],
    }
    answer = {
        "id": "item_a1",
        "object": "realtime.item",
        "type": "message",
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }
    answer_done = {
        **answer,
        "status": "completed",
        "content": [{"type": "output_audio", "transcript": "Let me check the time."}],
    }
    call = {
        "id": "item_c1",
        "object": "realtime.item",
        "type": "function_call",
        "status": "in_progress",
        "call_id": "call_1",
        "name": "get_time",
        "arguments": "",
    }
    call_done = {**call, "status": "completed", "arguments": '{"tz": "UTC"}'}
    output = {
        "id": "item_o1",
        "object": "realtime.item",
        "type": "function_call_output",
        "status": "completed",
        "call_id": "call_1",
        "output": '{"time": "12:00"}',
    }
    answer2 = {**answer, "id": "item_a2"}

    def audio(item_id: str, resp: str, delta: str) -> dict[str, Any]:
        return _ev(
            "response.output_audio.delta",
            response_id=resp,
            item_id=item_id,
            output_index=0,
            content_index=0,
            delta=delta,
        )

    def words(item_id: str, resp: str, delta: str) -> dict[str, Any]:
        return _ev(
            "response.output_audio_transcript.delta",
            response_id=resp,
            item_id=item_id,
            output_index=0,
            content_index=0,
            delta=delta,
        )

    part = {"type": "audio", "transcript": ""}
    return [
        _ev("session.created", session={"type": "realtime", "id": "sess_1", "object": "realtime.session"}),
        _ev("input_audio_buffer.speech_started", audio_start_ms=100, item_id="item_u1"),
        _ev("input_audio_buffer.speech_stopped", audio_end_ms=1900, item_id="item_u1"),
        _ev("input_audio_buffer.committed", item_id="item_u1", previous_item_id=None),
        _ev("conversation.item.added", item=user, previous_item_id=None),
        _ev("conversation.item.done", item=user, previous_item_id=None),
        _ev("response.created", response={"id": "resp_1", "object": "realtime.response", "status": "in_progress"}),
        _ev("response.output_item.added", response_id="resp_1", output_index=0, item=answer),
        _ev("conversation.item.added", item=answer, previous_item_id="item_u1"),
        _ev(
            "response.content_part.added",
            response_id="resp_1",
            item_id="item_a1",
            output_index=0,
            content_index=0,
            part=part,
        ),
        audio("item_a1", "resp_1", "AAAAAAAAAAAAAAAA"),
        words("item_a1", "resp_1", "Let me "),
        audio("item_a1", "resp_1", "AAAAAAAAAAAAAAAA"),
        words("item_a1", "resp_1", "check the time."),
        _ev(
            "conversation.item.input_audio_transcription.delta",
            item_id="item_u1",
            content_index=0,
            delta="What time ",
        ),
        _ev(
            "conversation.item.input_audio_transcription.completed",
            item_id="item_u1",
            content_index=0,
            transcript="What time is it?",
            usage={"type": "duration", "seconds": 1.8},
        ),
        _ev("response.output_audio.done", response_id="resp_1", item_id="item_a1", output_index=0, content_index=0),
        _ev(
            "response.output_audio_transcript.done",
            response_id="resp_1",
            item_id="item_a1",
            output_index=0,
            content_index=0,
            transcript="Let me check the time.",
        ),
        _ev("response.output_item.done", response_id="resp_1", output_index=0, item=answer_done),
        _ev("conversation.item.done", item=answer_done),
        _ev("response.output_item.added", response_id="resp_1", output_index=1, item=call),
        _ev("conversation.item.added", item=call, previous_item_id="item_a1"),
        _ev(
            "response.function_call_arguments.delta",
            response_id="resp_1",
            item_id="item_c1",
            output_index=1,
            call_id="call_1",
            delta='{"tz": ',
        ),
        _ev(
            "response.function_call_arguments.delta",
            response_id="resp_1",
            item_id="item_c1",
            output_index=1,
            call_id="call_1",
            delta='"UTC"}',
        ),
        _ev(
            "response.function_call_arguments.done",
            response_id="resp_1",
            item_id="item_c1",
            output_index=1,
            call_id="call_1",
            name="get_time",
            arguments='{"tz": "UTC"}',
        ),
        _ev("response.output_item.done", response_id="resp_1", output_index=1, item=call_done),
        _ev("conversation.item.done", item=call_done),
        _ev(
            "response.done",
            response={
                "id": "resp_1",
                "object": "realtime.response",
                "status": "completed",
                "output": [answer_done, call_done],
                "usage": {"total_tokens": 50, "input_tokens": 20, "output_tokens": 30},
            },
        ),
        _ev("conversation.item.added", item=output, previous_item_id="item_c1"),
        _ev("conversation.item.done", item=output),
        _ev("response.created", response={"id": "resp_2", "object": "realtime.response", "status": "in_progress"}),
        _ev("response.output_item.added", response_id="resp_2", output_index=0, item=answer2),
        _ev("conversation.item.added", item=answer2, previous_item_id="item_o1"),
        audio("item_a2", "resp_2", "A" * 6400),  # 4800 bytes: 2400 samples, 100 ms
        words("item_a2", "resp_2", "It is noon in London and "),
        _ev("input_audio_buffer.speech_started", audio_start_ms=9000, item_id="item_u2"),
        _ev("conversation.item.truncated", item_id="item_a2", content_index=0, audio_end_ms=50),
        _ev(
            "response.done",
            response={
                "id": "resp_2",
                "object": "realtime.response",
                "status": "cancelled",
                "status_details": {"type": "cancelled", "reason": "turn_detected"},
                "output": [answer2],
            },
        ),
        _ev("conversation.item.deleted", item_id="item_gone"),
        _ev("rate_limits.updated", rate_limits=[{"name": "tokens", "limit": 1000, "remaining": 900}]),
        _ev(
            "error",
            error={
                "type": "invalid_request_error",
                "code": "response_cancel_not_active",
                "message": "Cancellation failed: no active response found",
                "param": None,
                "event_id": "evt_1",
            },
        ),
    ]


_BETA_NAMES = {
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "conversation.item.added": "conversation.item.created",
}


def _beta_turn() -> list[dict[str, Any]]:
    """The same exchange as the beta / Azure-preview protocol sends it."""
    turn = []
    for wire in copy.deepcopy(_ga_turn()):
        if wire["type"] == "conversation.item.done":
            continue  # beta has no item.done: response.output_item.done finishes items
        wire["type"] = _BETA_NAMES.get(wire["type"], wire["type"])
        if wire["type"] == "session.created":
            wire["session"] = {"id": "sess_1", "object": "realtime.session", "model": "gpt-4o-realtime-preview"}
        if wire["type"] == "response.function_call_arguments.done":
            del wire["name"]
        for item in [wire.get("item"), *wire.get("response", {}).get("output", [])]:
            for part in (item or {}).get("content", []):
                part["type"] = {"output_audio": "audio", "output_text": "text"}.get(part["type"], part["type"])
        turn.append(wire)
    return turn


def _ev(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "event_id": "event_x", **fields}


TURNS = {"ga": _ga_turn(), "beta": _beta_turn()}


@pytest.mark.parametrize("protocol", ["ga", "beta"])
def test_the_turns_are_real_protocol_events(protocol: ev.ProtocolVersion) -> None:
    for wire in TURNS[protocol]:
        validate_server_event(wire, protocol)


@pytest.mark.parametrize("protocol", ["ga", "beta"])
def test_an_unmutated_turn_builds_the_expected_conversation(protocol: ev.ProtocolVersion) -> None:
    """The harness really applies events: the properties below are not vacuous."""
    harness = Harness()
    for wire in TURNS[protocol]:
        harness.feed_json(wire)
    harness.check()
    assert not any(isinstance(e, ev.MalformedEvent) for e in harness.events)
    items = harness.conversation.items()
    assert [i.id for i in items] == ["item_u1", "item_a1", "item_c1", "item_o1", "item_a2"]
    user, answer, call, output, cut = items
    assert user.transcript == "What time is it?"
    assert answer.transcript == "Let me check the time." and answer.has_audio
    assert (call.name, call.call_id, call.arguments) == ("get_time", "call_1", '{"tz": "UTC"}')
    assert output.output == '{"time": "12:00"}'
    assert (cut.truncated_ms, cut.audio_ms, cut.status) == (50, 100, "incomplete")
    assert cut.heard_text == "It is noon"
    assert {i.id for i in harness.finished} == {"item_u1", "item_a1", "item_c1", "item_o1"}
    assert isinstance(harness.events[-1], ev.ServerError)


# --------------------------------------------------------------------------- strategies

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)

KNOWN_TYPES = sorted(
    {w["type"] for w in TURNS["ga"]}
    | {w["type"] for w in TURNS["beta"]}
    | {
        "session.updated",
        "response.output_text.delta",
        "response.output_text.done",
        "response.text.delta",
        "response.text.done",
        "conversation.item.input_audio_transcription.failed",
        "input_audio_buffer.cleared",
        "rate_limits.updated",
    }
)
FIELD_NAMES = [
    "item_id",
    "item",
    "previous_item_id",
    "response",
    "response_id",
    "delta",
    "content_index",
    "transcript",
    "text",
    "arguments",
    "call_id",
    "name",
    "error",
    "session",
    "audio_end_ms",
    "audio_start_ms",
    "rate_limits",
]
ITEM_IDS = st.sampled_from(["item_u1", "item_a1", "item_c1", "item_o1", "item_a2", SUMMARY_ID_PREFIX + "x", ""])
# Flat values for the fields of typed events: cheap to draw, and the wrong types the parser must refuse.
scalars = st.none() | st.booleans() | st.integers(min_value=-5, max_value=5) | st.text(max_size=8)
content_parts = st.fixed_dictionaries(
    {"type": st.sampled_from(["input_audio", "output_audio", "audio", "input_text", "output_text", "text"])},
    optional={"transcript": scalars, "text": scalars},
)
item_dicts = st.fixed_dictionaries(
    {"id": ITEM_IDS, "type": st.sampled_from(["message", "function_call", "function_call_output", "mcp_call"])},
    optional={
        "role": st.sampled_from(["user", "assistant", "system", "tool"]) | scalars,
        "status": st.sampled_from(["in_progress", "completed", "incomplete"]) | scalars,
        "content": st.lists(content_parts | scalars, max_size=3) | scalars,
        "call_id": scalars,
        "name": scalars,
        "arguments": scalars,
        "output": scalars,
    },
)
# rate_limits.updated entries: NaN, infinities, huge integers, bools and strings where numbers belong
limit_entries = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["requests", "tokens"]) | scalars,
        "limit": json_scalars,
        "remaining": json_scalars,
        "reset_seconds": json_scalars,
    },
)
field_values = scalars | ITEM_IDS | item_dicts | st.lists(scalars, max_size=2) | st.lists(limit_entries, max_size=3)
typed_events = st.builds(
    lambda kind, fields: {"type": kind, **fields},
    st.sampled_from(KNOWN_TYPES),
    st.dictionaries(st.sampled_from(FIELD_NAMES), field_values, max_size=6),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key/index path into a JSON value."""
    paths = []
    if isinstance(value, dict):
        for key, child in value.items():
            paths.append((*prefix, key))
            paths.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths.append((*prefix, index))
            paths.extend(_paths(child, (*prefix, index)))
    return paths


def _mutate(data: st.DataObject, events: list[dict[str, Any]]) -> list[Any]:
    events = copy.deepcopy(events)
    for _ in range(data.draw(st.integers(min_value=1, max_value=8), label="mutations")):
        if not events:
            break
        op = data.draw(st.sampled_from(["drop", "duplicate", "swap", "move", "corrupt", "delete", "retype"]))
        i = data.draw(st.integers(min_value=0, max_value=len(events) - 1))
        if op == "drop":
            del events[i]
        elif op == "duplicate":
            events.insert(data.draw(st.integers(min_value=0, max_value=len(events))), copy.deepcopy(events[i]))
        elif op == "swap":
            j = data.draw(st.integers(min_value=0, max_value=len(events) - 1))
            events[i], events[j] = events[j], events[i]
        elif op == "move":
            event = events.pop(i)
            events.insert(data.draw(st.integers(min_value=0, max_value=len(events))), event)
        elif op == "retype":
            if isinstance(events[i], dict):
                events[i]["type"] = data.draw(st.sampled_from(KNOWN_TYPES) | json_values)
        else:
            paths = _paths(events[i])
            if not paths:
                continue
            path = data.draw(st.sampled_from(paths))
            parent = events[i]
            for key in path[:-1]:
                parent = parent[key]
            if op == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = data.draw(field_values)
    return events


# --------------------------------------------------------------------------- properties


@PROPERTY
@given(st.lists(json_values, max_size=10))
def test_any_json_values(values: list[Any]) -> None:
    harness = Harness()
    for value in values:
        harness.feed_json(value)
    harness.check()


@PROPERTY
@given(st.lists(st.binary(max_size=64) | st.text(max_size=64), max_size=10))
def test_any_frames(frames: list[str | bytes]) -> None:
    harness = Harness()
    for frame in frames:
        harness.feed(frame)
    harness.check()
    assert len(harness.events) == len(frames)  # every frame is reported, none kills the loop


@PROPERTY
@given(st.lists(typed_events, min_size=1, max_size=12))
def test_known_event_types_with_random_fields(events: list[dict[str, Any]]) -> None:
    harness = Harness()
    for event in events:
        harness.feed_json(event)
    harness.check()


@PROPERTY
@given(st.sampled_from(["ga", "beta"]), st.data())
def test_mutated_realistic_turns(protocol: str, data: st.DataObject) -> None:
    harness = Harness()
    for event in _mutate(data, TURNS[protocol]):
        harness.feed_json(event)
        harness.check_order()
    harness.check()
    assert len(harness.events) > 0


@PROPERTY
@given(st.sampled_from(["ga", "beta"]), st.data())
def test_mutated_turns_interleaved_with_garbage(protocol: str, data: st.DataObject) -> None:
    harness = Harness()
    frames: list[str | bytes] = [json.dumps(e) for e in _mutate(data, TURNS[protocol])]
    for _ in range(data.draw(st.integers(min_value=0, max_value=5))):
        garbage = data.draw(st.binary(max_size=16) | st.text(max_size=16) | json_values.map(json.dumps))
        frames.insert(data.draw(st.integers(min_value=0, max_value=len(frames))), garbage)
    for frame in frames:
        harness.feed(frame)
    harness.check()
    assert len(harness.events) == len(frames)


def test_truncated_frames_of_a_real_turn() -> None:
    """Every prefix of every real frame (a frame cut anywhere) is reported as malformed, never raised."""
    harness = Harness()
    for wire in TURNS["ga"][:12]:
        text = json.dumps(wire)
        for cut in range(0, len(text), 7):
            harness.feed(text[:cut])
    harness.check()
    assert all(isinstance(e, ev.MalformedEvent) for e in harness.events)


def test_deeply_nested_json_does_not_escape() -> None:
    harness = Harness()
    harness.feed("[" * 100_000 + "]" * 100_000)
    harness.check()
