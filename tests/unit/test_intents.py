"""Intents -> client events: the one place the session's wishes get their wire shape."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from tests.contract import validate_client_event
from voicedesk.realtime import events as ev
from voicedesk.realtime.client import RealtimeClient
from voicedesk.realtime.endpoint import custom_endpoint
from voicedesk.session.intents import (
    CancelResponse,
    ClearInput,
    CommitInput,
    CutHeardItem,
    Intent,
    IntentSender,
    ReplayItem,
    RequestResponse,
    SendAudio,
    SendToolOutput,
    SendUserText,
    UpdateSession,
)
from voicedesk.session.wire_audio import AudioCodec

PCM = np.arange(-480, 480, dtype=np.int16)


def _recording_sender(input_format: str = "pcm16") -> tuple[IntentSender, list[ev.ClientEvent]]:
    sent: list[ev.ClientEvent] = []

    def send(event: ev.ClientEvent) -> str:
        sent.append(event)
        return ev.new_event_id()

    codec = AudioCodec("pcm16" if input_format == "pcm16" else "g711_ulaw", "pcm16")
    return IntentSender(send, codec), sent


EXPECTED: list[tuple[Intent, list[ev.ClientEvent]]] = [
    (CommitInput(), [ev.InputAudioCommit()]),
    (ClearInput(), [ev.InputAudioClear()]),
    (RequestResponse(), [ev.ResponseCreate()]),
    (CancelResponse(), [ev.ResponseCancel()]),
    (CutHeardItem("item_1", 0, 1234), [ev.ItemTruncate("item_1", 0, 1234)]),
    (CutHeardItem("item_1", 0, 0), [ev.ItemDelete("item_1")]),
    (SendUserText("hello"), [ev.ItemCreate(ev.MessageSpec("user", "hello"))]),
    (SendToolOutput("call_1", '{"ok": true}'), [ev.ItemCreate(ev.FunctionOutputSpec("call_1", '{"ok": true}'))]),
    (UpdateSession({"type": "realtime"}), [ev.SessionUpdate({"type": "realtime"})]),
    (ReplayItem(ev.MessageSpec("assistant", "earlier")), [ev.ItemCreate(ev.MessageSpec("assistant", "earlier"))]),
]


@pytest.mark.parametrize(("intent", "expected"), EXPECTED, ids=[type(i).__name__ for i, _ in EXPECTED])
def test_each_intent_becomes_its_client_events(intent: Intent, expected: list[ev.ClientEvent]) -> None:
    sender, sent = _recording_sender()
    assert sender.send(intent) is True
    assert sent == expected


@pytest.mark.parametrize("protocol", ["ga", "beta"])
def test_every_intent_validates_against_the_openai_models(protocol: ev.ProtocolVersion) -> None:
    sender, _ = _recording_sender()
    intents: list[Intent] = [i for i, _ in EXPECTED if not isinstance(i, UpdateSession)]
    intents.append(SendAudio(PCM))
    for intent in intents:
        for event in sender.client_events(intent):
            wire = event.to_wire(protocol)
            wire["event_id"] = ev.new_event_id()
            validate_client_event(wire, protocol)


def test_nothing_heard_deletes_and_something_heard_truncates_to_a_whole_millisecond() -> None:
    sender, _ = _recording_sender()
    assert [e.to_wire("ga") for e in sender.client_events(CutHeardItem("item_9", 1, 1))] == [
        {"type": "conversation.item.truncate", "item_id": "item_9", "content_index": 1, "audio_end_ms": 1}
    ]
    assert [e.to_wire("ga") for e in sender.client_events(CutHeardItem("item_9", 1, 0))] == [
        {"type": "conversation.item.delete", "item_id": "item_9"}
    ]


def test_audio_goes_out_as_base64_in_the_session_input_format() -> None:
    sender, sent = _recording_sender()
    sender.send(SendAudio(PCM))
    (append,) = sent
    assert isinstance(append, ev.InputAudioAppend)
    assert base64.b64decode(append.audio) == PCM.astype("<i2").tobytes()
    g711, sent_g711 = _recording_sender("g711_ulaw")
    for _ in range(10):
        g711.send(SendAudio(PCM))
    assert _g711_bytes(sent_g711) == pytest.approx(10 * len(PCM) / 3, rel=0.1), "one byte per 8 kHz sample"


def _g711_bytes(sent: list[ev.ClientEvent]) -> int:
    """G.711 bytes sent (the 24 -> 8 kHz resampler holds a few samples back at first)."""
    return sum(len(base64.b64decode(e.audio)) for e in sent if isinstance(e, ev.InputAudioAppend))


def test_audio_dropped_by_a_disconnected_client_reports_false() -> None:
    client = RealtimeClient(custom_endpoint("ws://127.0.0.1:9/v1/realtime"), on_event=lambda event, raw: None)
    sender = IntentSender(client.send, AudioCodec("pcm16", "pcm16"))
    assert sender.send(SendAudio(PCM)) is False, "stale audio is never queued"
    assert sender.send(RequestResponse()) is True, "other events wait for the connection"


def test_new_formats_apply_to_the_next_audio() -> None:
    sender, sent = _recording_sender()
    sender.codec.set_formats("g711_alaw", "pcm16")
    for _ in range(10):
        sender.send(SendAudio(PCM))
    assert _g711_bytes(sent) == pytest.approx(10 * len(PCM) / 3, rel=0.1)
