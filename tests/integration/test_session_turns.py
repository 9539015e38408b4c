"""Whole turns through the session controller and the embedded server over loopback websockets."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.integration.conftest import HarnessFactory
from tests.signals import speech_like
from voicedesk.local.server import LocalRealtimeServer, LocalServerOptions
from voicedesk.realtime.endpoint import Endpoint, azure_endpoint
from voicedesk.realtime.events import ProtocolVersion
from voicedesk.realtime.session_config import SessionSettings, TurnDetection
from voicedesk.session import events as se


async def test_text_turn_streams_an_answer_with_audio_and_transcript(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    h.controller.send_text("hello there")
    assert await h.controller.wait_idle(15)
    items = h.controller.history()
    assert [(i.role, i.type) for i in items] == [("user", "message"), ("assistant", "message")]
    assert items[0].text == "hello there"
    assert "hello there" in items[1].transcript
    assert items[1].audio_ms > 300
    assert h.sink.played_samples == items[1].audio_ms * 24  # everything received was played
    deltas = "".join(e.delta for e in h.of(se.TranscriptDelta) if e.role == "assistant")
    assert deltas == items[1].transcript
    assert [e.kind for e in h.of(se.AgentStart)] == ["agent_start"]
    assert h.of(se.AgentEnd)[0].status == "completed"
    assert h.of(se.AudioEnd)[0].item_id == items[1].id
    usage = h.of(se.UsageReported)[0]
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens > 0


async def test_voice_turn_with_server_vad_and_a_late_transcript(make_harness: HarnessFactory) -> None:
    settings = SessionSettings(turn_detection=TurnDetection(type="server_vad", silence_duration_ms=300))
    h = await make_harness(settings, LocalServerOptions(audio_pace=float("inf"), transcripts=["what is the weather"]))
    await h.source.play(speech_like(1.2))
    await h.wait_for(se.AgentStart, within=10)
    assert await h.controller.wait_idle(15)
    user, assistant = h.controller.history()
    assert user.role == "user" and user.has_audio
    # The transcript arrived after the answer had started, and still landed on the user's item.
    assert user.transcript == "what is the weather"
    assert "what is the weather" in assistant.transcript
    received = [e["type"] for e in h.received]
    assert received.index("conversation.item.input_audio_transcription.completed") > received.index("response.created")
    latency = await h.wait_for(se.TurnLatency)
    assert latency.first_audio_received_ms >= 0
    assert (
        latency.first_audio_played_ms is not None and latency.first_audio_played_ms >= latency.first_audio_received_ms
    )


async def test_push_to_talk_commits_and_short_press_does_not(make_harness: HarnessFactory) -> None:
    h = await make_harness(SessionSettings(turn_detection=TurnDetection(type="none")))
    # A 40 ms tap: nothing is committed, so the server never sees an empty commit.
    h.controller.start_push_to_talk()
    await h.source.play(speech_like(0.04))
    assert h.controller.stop_push_to_talk() is False
    await asyncio.sleep(0.1)
    assert "input_audio_buffer.commit" not in h.sent_types()
    # A real press.
    h.controller.start_push_to_talk()
    await h.source.play(speech_like(0.8))
    assert h.controller.stop_push_to_talk() is True
    assert await h.controller.wait_idle(15)
    assert h.sent_types().count("input_audio_buffer.commit") == 1
    assert not [e for e in h.received if e["type"] == "error"]
    roles = [i.role for i in h.controller.history()]
    assert roles == ["user", "assistant"]


async def test_tool_round_trip(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    h.controller.send_text("what is 12 times 7")
    assert await h.controller.wait_idle(15)
    start, end = h.of(se.ToolStart)[0], h.of(se.ToolEnd)[0]
    assert start.name == "calculator" and end.call_id == start.call_id
    assert end.ok and json.loads(end.output) == 84
    output = next(
        e for e in h.sent if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"
    )
    assert output["item"]["call_id"] == start.call_id
    # One response.create for the text turn, one after the tool output, in that order.
    types = h.sent_types()
    assert types.count("response.create") == 2
    assert types.index("response.create", types.index("conversation.item.create", 1)) > types.index(
        "conversation.item.create", 1
    )
    kinds = [(i.type, i.role) for i in h.controller.history()]
    assert kinds == [
        ("message", "user"),
        ("function_call", None),
        ("function_call_output", None),
        ("message", "assistant"),
    ]
    assert "84" in h.controller.history()[-1].transcript


async def test_a_tool_that_fails_reports_an_error_to_the_model(make_harness: HarnessFactory) -> None:
    h = await make_harness()

    def calculator(expression: str) -> float:
        """Evaluate arithmetic."""
        raise RuntimeError("the abacus is broken")

    h.controller.remove_tool("calculator")
    h.controller.add_tool(calculator)
    h.controller.send_text("what is 2 plus 2")
    assert await h.controller.wait_idle(15)
    end = h.of(se.ToolEnd)[0]
    assert not end.ok and "abacus is broken" in end.output
    assert h.controller.history()[-1].role == "assistant"  # the model still answered
    assert h.controller.connection == "connected"


async def test_stop_conversation_ends_after_the_goodbye(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    h.controller.send_text("thanks, goodbye")
    await asyncio.wait_for(h.controller.wait_ended(), 15)
    ended = h.of(se.SessionEnded)
    assert ended and ended[0].reason == "tool"
    goodbye = [i for i in h.controller.history() if i.role == "assistant"]
    assert goodbye and goodbye[0].audio_ms > 0
    assert h.sink.played_samples >= goodbye[0].audio_ms * 24  # the goodbye was heard to the end
    assert h.controller.connection == "disconnected"


async def test_beta_naming_end_to_end(make_harness: HarnessFactory) -> None:
    h = await make_harness(beta=True)
    h.controller.send_text("hello beta")
    assert await h.controller.wait_idle(15)
    received = {e["type"] for e in h.received}
    assert "response.audio.delta" in received and "conversation.item.created" in received
    assert "response.output_audio.delta" not in received
    update = next(e for e in h.sent if e["type"] == "session.update")
    assert update["session"]["input_audio_format"] == "pcm16" and "audio" not in update["session"]
    assistant = h.controller.history()[-1]
    assert "hello beta" in assistant.transcript and assistant.audio_ms > 0


async def test_g711_formats_round_trip(make_harness: HarnessFactory) -> None:
    settings = SessionSettings(
        turn_detection=TurnDetection(type="none"), input_format="g711_ulaw", output_format="g711_alaw"
    )
    h = await make_harness(settings)
    h.controller.start_push_to_talk()
    await h.source.play(speech_like(0.6))
    assert h.controller.stop_push_to_talk()
    assert await h.controller.wait_idle(15)
    assistant = h.controller.history()[-1]
    assert assistant.audio_ms > 300
    assert not [e for e in h.received if e["type"] == "error"]


async def test_typing_while_the_assistant_talks_cuts_it_off_and_answers_the_new_message(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness(options=LocalServerOptions(audio_pace=4.0), speed=1.0)
    h.controller.send_text("talk for 20 seconds")
    await h.wait_for(se.AudioChunk)
    await asyncio.sleep(0.3)
    h.controller.send_text("never mind, what is 2 plus 3")
    assert await h.controller.wait_idle(20)
    assert h.of(se.AudioInterrupted), "the running answer was cut"
    # The new answer was asked for only once the cancelled response was done: the server refused nothing.
    assert not [e for e in h.received if e["type"] == "error"]
    assert "5" in h.controller.history()[-1].transcript
    assert h.of(se.AgentEnd)[0].status == "cancelled"


async def test_connecting_again_keeps_the_conversation(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    h.controller.send_text("my favourite colour is teal")
    assert await h.controller.wait_idle(15)
    await h.controller.disconnect()
    await h.controller.connect()
    h.controller.send_text("what was my first message")
    assert await h.controller.wait_idle(15)
    assert "teal" in h.controller.history()[-1].transcript
    assert len(h.server.sessions) == 2


@pytest.mark.parametrize(("protocol", "expected_path"), [(None, "/openai/v1/realtime"), ("beta", "/openai/realtime")])
async def test_azure_endpoints_with_an_api_key_header(
    make_harness: HarnessFactory, protocol: ProtocolVersion | None, expected_path: str
) -> None:
    key = "azure-key-0123456789"

    def azure(server: LocalRealtimeServer) -> Endpoint:
        resource = server.url.split("/v1/")[0].replace("ws://", "http://")  # as a person would paste it
        return azure_endpoint(resource, "my-deployment", api_key=key, protocol=protocol)

    h = await make_harness(options=LocalServerOptions(audio_pace=float("inf"), api_key=key), endpoint_for=azure)
    h.controller.send_text("hello azure")
    assert await h.controller.wait_idle(15)
    assert "hello azure" in h.controller.history()[-1].transcript
    session = h.server.sessions[-1]
    assert session.path.split("?")[0] == expected_path and session.beta == (protocol == "beta")
    assert session.model == "my-deployment" or protocol == "beta"
