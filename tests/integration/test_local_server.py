"""The embedded local realtime server, driven by a raw websocket client over loopback.

No voicedesk client code here: these tests check the server against the protocol itself. Every server event
the tests receive is validated against the ``openai`` package's models (strictly, unknown keys included);
a failure there is a bug in the server.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import math
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.contract import ProtocolName, validate_server_event
from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.local import codec
from voicedesk.local.server import LocalRealtimeServer, LocalServerOptions
from voicedesk.local.voice import plan_speech

Event = dict[str, Any]
_ids = itertools.count(1)


class Peer:
    """A raw client: sends client events, receives server events and validates every one of them."""

    def __init__(self, ws: ClientConnection, protocol: ProtocolName) -> None:
        self.ws = ws
        self.protocol = protocol
        self.events: list[Event] = []

    async def send(self, event_type: str, **fields: Any) -> str:
        event_id = f"evt_test_{next(_ids)}"
        await self.ws.send(json.dumps({"type": event_type, "event_id": event_id, **fields}))
        return event_id

    async def next_frame(self, within: float = 5.0) -> str | bytes:
        return await asyncio.wait_for(self.ws.recv(), within)

    async def next(self, within: float = 5.0) -> Event:
        frame = await self.next_frame(within)
        assert isinstance(frame, str), f"binary frame from the server: {frame!r}"
        event: Event = json.loads(frame)
        validate_server_event(event, self.protocol)
        assert event["event_id"].startswith("event_"), event
        self.events.append(event)
        return event

    async def expect(self, event_type: str, within: float = 5.0) -> Event:
        event = await self.next(within)
        assert event["type"] == event_type, f"expected {event_type}, got {event}"
        return event

    async def until(self, event_type: str, within: float = 10.0) -> list[Event]:
        """Events up to and including the next one of ``event_type``."""
        got: list[Event] = []
        deadline = time.monotonic() + within
        while True:
            event = await self.next(max(0.01, deadline - time.monotonic()))
            got.append(event)
            if event["type"] == event_type:
                return got

    async def answer(self, within: float = 10.0) -> list[Event]:
        """A response's events up to response.done; the rate_limits.updated that follows is checked too."""
        events = await self.until("response.done", within)
        assert (await self.expect("rate_limits.updated"))["rate_limits"][0]["name"] == "requests"
        return events

    async def feed(self, pcm: np.ndarray, fmt: codec.Format = "pcm16", block_ms: int = 20) -> None:
        """Append audio in blocks, as a microphone would (faster than real time: the VAD uses sample time)."""
        step = SAMPLE_RATE * block_ms // 1000
        for start in range(0, pcm.size, step):
            await self.send("input_audio_buffer.append", audio=codec.encode_b64(pcm[start : start + step], fmt))


@contextlib.asynccontextmanager
async def peer(
    server: LocalRealtimeServer,
    *,
    path: str | None = None,
    headers: Mapping[str, str] | None = None,
    protocol: ProtocolName = "ga",
) -> AsyncIterator[Peer]:
    url = server.url if path is None else f"ws://127.0.0.1:{server.port}{path}"
    async with connect(url, additional_headers=dict(headers or {}), max_size=None, max_queue=None) as ws:
        yield Peer(ws, protocol)


@contextlib.asynccontextmanager
async def local_server(**options: Any) -> AsyncIterator[LocalRealtimeServer]:
    options.setdefault("audio_pace", math.inf)
    async with LocalRealtimeServer(LocalServerOptions(**options)) as server:
        yield server


def speech(text: str = "what is the weather like today") -> np.ndarray:
    """Speech-like audio from the server's own voice (a different voice than the answers)."""
    plan = plan_speech(text, voice="ash")
    return plan.render(0, plan.total_samples)


def silence(ms: int) -> np.ndarray:
    return np.zeros(SAMPLE_RATE * ms // 1000, dtype=np.int16)


def rms_dbfs(pcm: np.ndarray) -> float:
    x = pcm.astype(np.float64) / 32768.0
    return float(20 * np.log10(np.sqrt(np.mean(x * x)) + 1e-12))


def answer_of(events: list[Event]) -> tuple[str, np.ndarray]:
    """The transcript (from the deltas) and the pcm16 audio of a streamed answer."""
    text = "".join(e["delta"] for e in events if e["type"].endswith("audio_transcript.delta"))
    audio = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"].endswith("audio.delta"))
    return text, np.frombuffer(audio, dtype="<i2").astype(np.int16)


def user_text(text: str) -> Event:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


async def say_text(p: Peer, text: str, **response: Any) -> list[Event]:
    await p.send("conversation.item.create", item=user_text(text))
    await p.expect("conversation.item.added" if p.protocol == "ga" else "conversation.item.created")
    if p.protocol == "ga":
        await p.expect("conversation.item.done")
    await p.send("response.create", **({"response": response} if response else {}))
    return await p.answer()


# --------------------------------------------------------------------------- session configuration


async def test_session_created_has_the_documented_defaults_and_updates_merge() -> None:
    async with local_server() as server, peer(server) as p:
        created = (await p.expect("session.created"))["session"]
        assert created["type"] == "realtime" and created["id"].startswith("sess_")
        assert created["output_modalities"] == ["audio"]
        audio_in, audio_out = created["audio"]["input"], created["audio"]["output"]
        assert audio_in["format"] == {"type": "audio/pcm", "rate": 24000}
        assert audio_in["transcription"] is None
        td = audio_in["turn_detection"]
        assert (td["type"], td["threshold"], td["prefix_padding_ms"], td["silence_duration_ms"]) == (
            "server_vad",
            0.5,
            300,
            500,
        )
        assert td["create_response"] is True and td["interrupt_response"] is True
        assert audio_out["voice"] == "alloy" and audio_out["format"] == {"type": "audio/pcm", "rate": 24000}

        await p.send(
            "session.update",
            session={
                "type": "realtime",
                "instructions": "Be brief.",
                "audio": {
                    "input": {
                        "transcription": {"model": "gpt-4o-transcribe"},
                        "turn_detection": {"type": "server_vad", "threshold": 0.7},
                    },
                    "output": {"voice": "coral"},
                },
            },
        )
        session = (await p.expect("session.updated"))["session"]
        assert session["instructions"] == "Be brief."
        assert session["audio"]["output"]["voice"] == "coral"
        assert session["audio"]["input"]["transcription"] == {"model": "gpt-4o-transcribe"}
        # Only the fields sent changed: the silence duration and the rest of the VAD are as they were.
        td = session["audio"]["input"]["turn_detection"]
        assert (td["threshold"], td["silence_duration_ms"], td["prefix_padding_ms"]) == (0.7, 500, 300)
        assert session["output_modalities"] == ["audio"]
        assert server.sessions[0].config == session


@pytest.mark.parametrize(
    ("session", "code", "param"),
    [
        ({"instructions": "no type"}, "missing_required_parameter", "session.type"),
        ({"type": "realtime", "modalities": ["text"]}, "unknown_parameter", "session.modalities"),
        ({"type": "realtime", "audio": {"output": {"voice": "robot"}}}, "invalid_value", "session.audio.output.voice"),
        (
            {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 1.5}}}},
            "decimal_above_max_value",
            "session.audio.input.turn_detection.threshold",
        ),
        (
            {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "push_to_talk"}}}},
            "invalid_value",
            "session.audio.input.turn_detection.type",
        ),
        (
            {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}},
            "invalid_value",
            "session.audio.input.format.rate",
        ),
        ({"type": "realtime", "output_modalities": ["audio", "text"]}, "invalid_value", "session.output_modalities"),
    ],
)
async def test_invalid_session_update_is_refused_like_the_service(session: Event, code: str, param: str) -> None:
    async with local_server() as server, peer(server) as p:
        before = (await p.expect("session.created"))["session"]
        event_id = await p.send("session.update", session={**session, "instructions": "changed"})
        error = (await p.expect("error"))["error"]
        assert (error["type"], error["code"], error["param"], error["event_id"]) == (
            "invalid_request_error",
            code,
            param,
            event_id,
        )
        # Nothing of a refused update applies, and the connection is still usable.
        assert server.sessions[0].config["instructions"] == before["instructions"]
        await p.send("session.update", session={"type": "realtime"})
        assert (await p.expect("session.updated"))["session"]["instructions"] == before["instructions"]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/openai/realtime?api-version=2024-10-01-preview&deployment=gpt-4o-realtime-preview", {}),
        ("/v1/realtime?model=gpt-4o-realtime-preview", {"OpenAI-Beta": "realtime=v1"}),
    ],
    ids=["azure-preview-path", "openai-beta-header"],
)
async def test_beta_naming_on_the_azure_preview_path_and_with_the_beta_header(
    path: str, headers: dict[str, str]
) -> None:
    async with local_server() as server, peer(server, path=path, headers=headers, protocol="beta") as p:
        session = (await p.expect("session.created"))["session"]
        assert session["modalities"] == ["audio", "text"]
        assert (session["input_audio_format"], session["output_audio_format"], session["voice"]) == (
            "pcm16",
            "pcm16",
            "alloy",
        )
        assert session["turn_detection"]["type"] == "server_vad"
        await p.send("session.update", session={"voice": "sage", "input_audio_transcription": {"model": "whisper-1"}})
        updated = (await p.expect("session.updated"))["session"]
        assert updated["voice"] == "sage" and updated["input_audio_transcription"] == {"model": "whisper-1"}
        # A GA-shaped update is a protocol mix-up the beta service refuses.
        await p.send("session.update", session={"type": "realtime"})
        assert (await p.expect("error"))["error"]["code"] == "unknown_parameter"

        events = await say_text(p, "Hello from the beta side")
        types = {e["type"] for e in events}
        assert {"response.audio.delta", "response.audio_transcript.delta", "response.audio.done"} <= types
        assert "conversation.item.created" in types
        assert not {t for t in types if "output_audio" in t or t.startswith("conversation.item.added")}
        text, _ = answer_of(events)
        assert text == "You said: Hello from the beta side."
        done = events[-1]["response"]
        assert done["status"] == "completed" and done["modalities"] == ["audio", "text"]
        assert done["output"][0]["content"][0] == {"type": "audio", "transcript": text}
        assert server.sessions[0].beta


# --------------------------------------------------------------------------- audio turns


async def test_vad_turn_commits_answers_and_sends_the_transcript_late() -> None:
    async with local_server(transcripts=["what is the weather like"]) as server, peer(server) as p:
        await p.expect("session.created")
        await p.send(
            "session.update",
            session={"type": "realtime", "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}}},
        )
        await p.expect("session.updated")
        voice = speech()
        await p.feed(np.concatenate((silence(600), voice, silence(1000))))

        started = await p.expect("input_audio_buffer.speech_started")
        assert 270 <= started["audio_start_ms"] <= 310  # onset at 600 ms less 300 ms of prefix padding
        stopped = await p.expect("input_audio_buffer.speech_stopped")
        plan = plan_speech("what is the weather like today", voice="ash")
        speech_end_ms = 600 + (plan.starts[-1] + plan.voiced[-1]) * 1000 / SAMPLE_RATE
        assert speech_end_ms + 450 <= stopped["audio_end_ms"] <= speech_end_ms + 530
        committed = await p.expect("input_audio_buffer.committed")
        item_id = started["item_id"]
        assert stopped["item_id"] == committed["item_id"] == item_id and committed["previous_item_id"] is None
        added = await p.expect("conversation.item.added")
        assert added["item"]["role"] == "user"
        assert added["item"]["content"] == [{"type": "input_audio", "transcript": None}]
        await p.expect("conversation.item.done")

        events = await p.answer()
        types = [e["type"] for e in events]
        first_audio = types.index("response.output_audio.delta")
        completed_at = types.index("conversation.item.input_audio_transcription.completed")
        assert types[0] == "response.created"
        assert completed_at > first_audio, "the user's transcript must come after the answer has started"
        deltas = [e["delta"] for e in events if e["type"] == "conversation.item.input_audio_transcription.delta"]
        completed = events[completed_at]
        assert completed["item_id"] == item_id and completed["content_index"] == 0
        assert "".join(deltas) == completed["transcript"] == "what is the weather like"

        text, audio = answer_of(events)
        assert text == "I heard what is the weather like."
        done_transcript = next(e for e in events if e["type"] == "response.output_audio_transcript.done")
        assert done_transcript["transcript"] == text
        # ~0.3 s per word, speech-like loudness.
        assert audio.size / SAMPLE_RATE == pytest.approx(0.3 * len(text.split()), rel=0.01)
        assert -20 < rms_dbfs(audio) < -12
        response = events[-1]["response"]
        assert response["status"] == "completed" and response["conversation_id"]
        usage = response["usage"]
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
        assert usage["output_token_details"]["audio_tokens"] == math.ceil(audio.size / SAMPLE_RATE * 20)
        assert usage["input_token_details"]["audio_tokens"] > 0

        items = server.sessions[0].items
        assert [i.get("role") for i in items] == ["user", "assistant"]
        assert items[0]["content"][0]["transcript"] == "what is the weather like"
        assert items[1]["content"][0] == {"type": "output_audio", "transcript": text}


async def test_manual_commit_refuses_under_100ms_and_does_not_answer_by_itself() -> None:
    async with local_server() as server, peer(server) as p:
        await p.expect("session.created")
        await p.send("session.update", session={"type": "realtime", "audio": {"input": {"turn_detection": None}}})
        assert (await p.expect("session.updated"))["session"]["audio"]["input"]["turn_detection"] is None
        await p.feed(speech()[: SAMPLE_RATE // 20])  # 50 ms
        event_id = await p.send("input_audio_buffer.commit")
        error = (await p.expect("error"))["error"]
        assert error["code"] == "input_audio_buffer_commit_empty" and error["event_id"] == event_id
        assert error["message"] == (
            "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, "
            "but buffer only has 50.00ms of audio."
        )
        await p.send("input_audio_buffer.clear")
        await p.expect("input_audio_buffer.cleared")

        await p.feed(np.concatenate((speech("hello"), silence(600))))  # no VAD: silence changes nothing
        await p.send("input_audio_buffer.commit")
        committed = await p.expect("input_audio_buffer.committed")
        await p.expect("conversation.item.added")
        await p.expect("conversation.item.done")
        await p.send("response.create")
        events = await p.answer()
        assert events[0]["type"] == "response.created"  # nothing happened between the commit and our request
        text, _ = answer_of(events)
        assert text == "I heard (0.9 seconds of speech)."
        assert len(server.sessions[0].responses) == 1
        assert server.sessions[0].items[0]["id"] == committed["item_id"]


@pytest.mark.parametrize("fmt", ["pcmu", "pcma"])
async def test_g711_input_is_decoded_and_answers_are_g711_encoded(fmt: codec.Format) -> None:
    async with local_server(transcripts=["testing the phone line"]) as server, peer(server) as p:
        await p.expect("session.created")
        g711 = {"type": f"audio/{fmt}"}
        await p.send(
            "session.update",
            session={"type": "realtime", "audio": {"input": {"format": g711}, "output": {"format": g711}}},
        )
        session = (await p.expect("session.updated"))["session"]
        assert session["audio"]["input"]["format"] == session["audio"]["output"]["format"] == g711
        await p.feed(np.concatenate((silence(400), speech(), silence(900))), fmt=fmt)
        started = await p.expect("input_audio_buffer.speech_started")
        assert 70 <= started["audio_start_ms"] <= 110  # the VAD heard the decoded speech at 400 ms
        events = await p.answer()
        text = "".join(e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta")
        assert text == "I heard testing the phone line."
        raw = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta")
        assert len(raw) / 8000 == pytest.approx(0.3 * len(text.split()), rel=0.01)  # one byte per 8 kHz sample
        pcm = codec.ulaw_decode(raw) if fmt == "pcmu" else codec.alaw_decode(raw)
        assert -20 < rms_dbfs(pcm) < -12


# --------------------------------------------------------------------------- text turns and context


async def test_text_turns_and_the_first_message_of_this_session() -> None:
    async with local_server() as server, peer(server) as p:
        await p.expect("session.created")
        events = await say_text(p, "My name is Ada.")
        text, _ = answer_of(events)
        assert text == "You said: My name is Ada."
        events = await say_text(p, "What was my first message?")
        assert answer_of(events)[0] == "Your first message was: My name is Ada."
        # Text-only answers: output_text events and no audio.
        events = await say_text(p, "What was my first message?", output_modalities=["text"])
        types = [e["type"] for e in events]
        assert "response.output_audio.delta" not in types
        text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
        done = next(e for e in events if e["type"] == "response.output_text.done")
        assert text == done["text"] == "Your first message was: My name is Ada."
        assert events[-1]["response"]["output"][0]["content"] == [{"type": "output_text", "text": text}]
        assert [i["role"] for i in server.sessions[0].items] == ["user", "assistant"] * 3
        await p.send("session.update", session={"type": "realtime", "instructions": "Speak like a pirate."})
        await p.expect("session.updated")
        assert answer_of(await say_text(p, "What are your instructions?"))[0] == (
            "My instructions are: Speak like a pirate."
        )


async def test_a_second_session_does_not_see_the_first_sessions_conversation() -> None:
    async with local_server() as server:
        async with peer(server) as p:
            await p.expect("session.created")
            await say_text(p, "Remember the word banana.")
        async with peer(server) as p:
            await p.expect("session.created")
            events = await say_text(p, "What was my first message?")
            assert answer_of(events)[0] == "Your first message was: What was my first message."
        assert len(server.sessions) == 2 and server.sessions[0].closed


async def test_conversation_items_create_delete_retrieve_and_their_errors() -> None:
    async with local_server() as server, peer(server) as p:
        await p.expect("session.created")
        events = await say_text(p, "one")
        assistant_id = events[-1]["response"]["output"][0]["id"]
        await p.send(
            "conversation.item.create",
            previous_item_id="root",
            item={**user_text("Be kind."), "id": "item_mine", "role": "system"},
        )
        added = await p.expect("conversation.item.added")
        assert added["previous_item_id"] is None and added["item"]["id"] == "item_mine"
        await p.expect("conversation.item.done")
        assert server.sessions[0].items[0]["id"] == "item_mine"

        await p.send("conversation.item.retrieve", item_id=assistant_id)
        retrieved = (await p.expect("conversation.item.retrieved"))["item"]
        audio = np.frombuffer(base64.b64decode(retrieved["content"][0]["audio"]), dtype="<i2")
        assert audio.size / SAMPLE_RATE == pytest.approx(0.3 * 3, rel=0.01)  # "You said: one."

        await p.send("conversation.item.delete", item_id="item_mine")
        assert (await p.expect("conversation.item.deleted"))["item_id"] == "item_mine"

        cases: list[tuple[str, Event, str]] = [
            ("conversation.item.delete", {"item_id": "item_gone"}, "item_delete_invalid_item_id"),
            ("conversation.item.retrieve", {"item_id": "item_gone"}, "item_retrieve_invalid_item_id"),
            (
                "conversation.item.create",
                {"previous_item_id": "item_gone", "item": {"type": "message", "role": "user", "content": []}},
                "item_create_invalid_previous_item_id",
            ),
            (
                "conversation.item.create",
                {"item": {"type": "message", "role": "assistant", "content": [{"type": "input_text", "text": "x"}]}},
                "invalid_value",
            ),
            (
                "conversation.item.create",
                {"item": {"id": "item_" + "x" * 40, "type": "message", "role": "user", "content": []}},
                "string_above_max_length",
            ),
        ]
        for event_type, fields, code in cases:
            event_id = await p.send(event_type, **fields)
            error = (await p.expect("error"))["error"]
            assert (error["code"], error["event_id"]) == (code, event_id), error


# --------------------------------------------------------------------------- tools

CALCULATOR = {
    "type": "function",
    "name": "calculator",
    "description": "Evaluate an arithmetic expression.",
    "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]},
}
CLOCK = {
    "type": "function",
    "name": "get_time",
    "description": "The current time.",
    "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}},
}
STOP = {"type": "function", "name": "stop_conversation", "description": "End the conversation.", "parameters": {}}


def calls_in(events: list[Event]) -> list[Event]:
    return [e for e in events if e["type"] == "response.function_call_arguments.done"]


async def test_tool_call_round_trip() -> None:
    async with local_server() as server, peer(server) as p:
        await p.expect("session.created")
        await p.send("session.update", session={"type": "realtime", "tools": [CALCULATOR, CLOCK, STOP]})
        await p.expect("session.updated")

        events = await say_text(p, "What is 12 times 7?")
        added = next(e for e in events if e["type"] == "response.output_item.added")
        assert added["item"]["type"] == "function_call" and added["item"]["arguments"] == ""
        (call,) = calls_in(events)
        deltas = "".join(e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta")
        assert call["name"] == "calculator" and call["call_id"].startswith("call_")
        assert deltas == call["arguments"] and json.loads(call["arguments"]) == {"expression": "12*7"}
        item_done = next(e for e in events if e["type"] == "response.output_item.done")["item"]
        assert (item_done["status"], item_done["arguments"], item_done["call_id"]) == (
            "completed",
            call["arguments"],
            call["call_id"],
        )
        assert events[-1]["response"]["status"] == "completed"

        await p.send(
            "conversation.item.create",
            item={"type": "function_call_output", "call_id": call["call_id"], "output": json.dumps({"result": 84})},
        )
        await p.expect("conversation.item.added")
        await p.expect("conversation.item.done")
        await p.send("response.create")
        assert answer_of(await p.answer())[0] == "The result is 84."

        event_id = await p.send(
            "conversation.item.create", item={"type": "function_call_output", "call_id": "call_nope", "output": "1"}
        )
        error = (await p.expect("error"))["error"]
        assert error["code"] == "invalid_tool_call_id" and error["event_id"] == event_id
        assert error["message"] == "Tool call ID 'call_nope' not found in conversation."

        (clock,) = calls_in(await say_text(p, "What time is it in Paris?"))
        assert clock["name"] == "get_time" and json.loads(clock["arguments"]) == {"timezone": "Europe/Paris"}
        await p.send(
            "conversation.item.create",
            item={"type": "function_call_output", "call_id": clock["call_id"], "output": '{"error": "unavailable"}'},
        )
        await p.until("conversation.item.done")
        await p.send("response.create")
        assert answer_of(await p.answer())[0] == "Sorry, that did not work: unavailable."

        events = await say_text(p, "Thanks, goodbye!")
        outputs = events[-1]["response"]["output"]
        assert [o["type"] for o in outputs] == ["message", "function_call"]
        assert outputs[0]["content"][0]["transcript"].startswith("Goodbye")
        assert outputs[1]["name"] == "stop_conversation"
        assert len(server.sessions[0].responses) == 5


# --------------------------------------------------------------------------- cancel, truncate, barge-in


async def test_cancel_then_truncate_and_the_already_shorter_error() -> None:
    async with local_server(audio_pace=4.0) as server, peer(server) as p:
        await p.expect("session.created")
        await p.send(
            "conversation.item.create",
            item=user_text("Talk for 30 seconds."),
        )
        await p.until("conversation.item.done")
        await p.send("response.create")
        events = await p.until("response.output_audio.delta")
        item_id = events[-1]["item_id"]
        response_id = events[-1]["response_id"]
        busy_id = await p.send("response.create")
        refused: list[Event] = []
        while not refused or sum(e["type"] == "response.output_audio.delta" for e in events) < 8:
            event = await p.next()  # let some audio through (and the refusal), then interrupt
            (refused if event["type"] == "error" else events).append(event)
        (busy,) = refused
        assert busy["error"]["code"] == "conversation_already_has_active_response"
        assert busy["error"]["event_id"] == busy_id
        assert busy["error"]["message"] == (
            f"Conversation already has an active response in progress: {response_id}. "
            "Wait until the response is finished before creating a new one."
        )
        await p.send("response.cancel")
        events += await p.answer()
        response = events[-1]["response"]
        assert response["status"] == "cancelled"
        assert response["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
        item = next(e for e in events if e["type"] == "response.output_item.done")["item"]
        assert item["status"] == "incomplete"
        text, audio = answer_of(events)
        received_ms = audio.size * 1000 // SAMPLE_RATE
        assert 500 < received_ms < 30_000
        assert item["content"][0]["transcript"] == text  # what was sent, not the whole planned answer

        event_id = await p.send("response.cancel")
        assert (await p.expect("error"))["error"]["code"] == "response_cancel_not_active"
        assert server.sessions[0].errors[-1]["event_id"] == event_id

        # One millisecond more than was sent is refused, with the service's own wording.
        event_id = await p.send(
            "conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=received_ms + 1
        )
        error = (await p.expect("error"))["error"]
        assert (error["code"], error["event_id"]) == ("invalid_value", event_id)
        assert error["message"] == f"Audio content of {received_ms}ms is already shorter than {received_ms + 1}ms"

        heard_ms = received_ms - 300
        await p.send("conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=heard_ms)
        truncated = await p.expect("conversation.item.truncated")
        assert (truncated["item_id"], truncated["audio_end_ms"]) == (item_id, heard_ms)
        assert server.sessions[0].truncations == [(item_id, heard_ms)]
        kept = server.sessions[0].items[-1]["content"][0]["transcript"]
        assert text.startswith(kept) and len(kept.split()) < len(text.split())

        await p.send("conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=heard_ms + 10)
        assert (await p.expect("error"))["error"]["message"] == (
            f"Audio content of {heard_ms}ms is already shorter than {heard_ms + 10}ms"
        )
        await p.send("conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=1.5)
        assert (await p.expect("error"))["error"]["code"] == "invalid_type"
        user_item = server.sessions[0].items[0]["id"]
        await p.send("conversation.item.truncate", item_id=user_item, content_index=0, audio_end_ms=0)
        assert (await p.expect("error"))["error"]["code"] == "unsupported_content_type"


async def test_speech_during_an_answer_cancels_it_as_turn_detected() -> None:
    async with local_server(audio_pace=4.0, transcripts=["talk for 20 seconds", "stop"]) as server, peer(server) as p:
        await p.expect("session.created")
        await p.feed(np.concatenate((silence(300), speech("talk for twenty seconds"), silence(700))))
        await p.until("response.output_audio.delta")
        await p.feed(np.concatenate((silence(100), speech("stop"))))
        events = await p.answer()
        types = [e["type"] for e in events]
        assert types.index("input_audio_buffer.speech_started") < len(types) - 1
        response = events[-1]["response"]
        assert response["status"] == "cancelled"
        assert response["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
        assert response["output"][0]["status"] == "incomplete"
        await p.feed(silence(700))
        await p.until("input_audio_buffer.committed")
        events = await p.answer()
        assert answer_of(events)[0] == "I heard stop."
        assert [r["status"] for r in server.sessions[0].responses] == ["cancelled", "completed"]


# --------------------------------------------------------------------------- protocol hygiene and speed


async def test_unknown_event_types_and_malformed_frames_get_errors_and_the_connection_stays_up() -> None:
    async with local_server() as server, peer(server) as p:
        await p.expect("session.created")
        event_id = await p.send("response.make_it_so")
        error = (await p.expect("error"))["error"]
        assert (error["code"], error["param"], error["event_id"]) == ("invalid_value", "type", event_id)
        assert error["message"].startswith(
            "Invalid value: 'response.make_it_so'. Supported values are: 'session.update', "
        )
        for frame in ("{not json", "[1, 2]", b"\x00\x01"):
            await p.ws.send(frame)
            assert (await p.expect("error"))["error"]["type"] == "invalid_request_error"
        assert answer_of(await say_text(p, "still here?"))[0] == "You said: still here."
        recorded = server.sessions[0].client_events
        assert recorded[0]["type"] == "response.make_it_so"
        assert [e.get("_invalid_frame") for e in recorded[1:4]] == ["{not json", "[1, 2]", "<binary frame of 2 bytes>"]
        assert len(server.sessions[0].errors) == 4


async def test_a_two_minute_answer_streams_whole_and_unpaced() -> None:
    async with local_server() as server, peer(server) as p:
        await p.expect("session.created")
        await p.send(
            "conversation.item.create",
            item=user_text("Talk for 120 seconds."),
        )
        await p.until("conversation.item.done")
        cpu, wall = time.process_time(), time.perf_counter()
        await p.send("response.create")
        samples = 0
        while True:  # decode only what is needed: this measures the server, not the test's validation
            event = json.loads(await p.next_frame())
            if event["type"] == "response.output_audio.delta":
                samples += len(base64.b64decode(event["delta"])) // 2
            if event["type"] == "response.done":
                break
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        assert samples == 120 * SAMPLE_RATE
        assert event["response"]["status"] == "completed"
        # Figures, not assertions (a loaded machine moves them): bench_receive.py measures CPU per audio-second.
        print(f"120 s answer: {cpu:.2f} s CPU (server and client), {wall:.2f} s wall")
        assert wall < 60, "the answer was paced like real time, not streamed at full speed"
        assert server.sessions[0].responses[0]["usage"]["output_token_details"]["audio_tokens"] == 2400
