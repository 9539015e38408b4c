"""Interruption, faults, expiry, rate limits, bad keys and unreachable hosts, over loopback websockets."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from tests.integration.conftest import FAST_BACKOFF, HarnessFactory
from voicedesk.audio.filesource import NullSource
from voicedesk.audio.null import NullSink
from voicedesk.local.faults import Faults
from voicedesk.local.server import LocalServerOptions
from voicedesk.realtime.client import AuthenticationFailed, EndpointUnreachable
from voicedesk.realtime.endpoint import custom_endpoint
from voicedesk.realtime.session_config import SessionSettings, TurnDetection
from voicedesk.session import events as se
from voicedesk.session.controller import SessionController


async def test_interrupt_truncates_at_what_was_heard(make_harness: HarnessFactory) -> None:
    # Real-time playback; the server bursts a 20 s answer 4x faster than real time.
    h = await make_harness(options=LocalServerOptions(audio_pace=4.0), speed=1.0)
    h.controller.send_text("talk for 20 seconds")
    await h.wait_for(se.AudioChunk)
    await asyncio.sleep(1.0)
    assert h.controller.interrupt() is True
    interrupted = h.of(se.AudioInterrupted)[0]
    played_ms = h.sink.played_samples * 1000 // 24000
    assert abs(interrupted.audio_end_ms - played_ms) <= 25  # what the sink delivered, at most a fade off
    assert 800 <= interrupted.audio_end_ms <= 1500
    truncate = await h.wait_sent("conversation.item.truncate")
    assert truncate["audio_end_ms"] == interrupted.audio_end_ms and isinstance(truncate["audio_end_ms"], int)
    assert h.sent_types().index("response.cancel") < h.sent_types().index("conversation.item.truncate")
    assert await h.controller.wait_idle(10)
    # The server accepted it: no "already shorter" error, and it recorded the same cut.
    assert not [e for e in h.received if e["type"] == "error"]
    assert h.server.sessions[0].truncations == [(interrupted.item_id, interrupted.audio_end_ms)]
    silent_from = h.sink.played_samples
    await asyncio.sleep(0.3)
    assert h.sink.played_samples == silent_from  # nothing more was played after the cut
    item = h.controller.history()[-1]
    assert item.truncated_ms == interrupted.audio_end_ms and len(item.heard_text) < len(item.transcript)


async def test_interrupt_before_anything_was_heard_deletes_the_item(make_harness: HarnessFactory) -> None:
    h = await make_harness(options=LocalServerOptions(audio_pace=4.0), speed=1.0)
    h.sink.output_latency_s = 5.0  # a device that has not let anything out yet
    h.controller.send_text("talk for 10 seconds")
    await h.wait_for(se.AudioChunk)
    h.controller.interrupt()
    deleted = await h.wait_sent("conversation.item.delete")
    assert "conversation.item.truncate" not in h.sent_types()
    assert h.of(se.AudioInterrupted)[0].audio_end_ms == 0
    assert await h.controller.wait_idle(10)
    assert deleted["item_id"] not in [i.id for i in h.controller.history()]


async def test_barge_in_with_server_vad_stops_playback_and_truncates(make_harness: HarnessFactory) -> None:
    from tests.signals import speech_like

    settings = SessionSettings(turn_detection=TurnDetection(type="server_vad", silence_duration_ms=300))
    h = await make_harness(settings, LocalServerOptions(audio_pace=4.0), speed=1.0)
    h.controller.send_text("talk for 20 seconds")
    await h.wait_for(se.AudioChunk)
    await asyncio.sleep(0.6)
    await h.source.play(speech_like(0.8))
    interrupted = await h.wait_for(se.AudioInterrupted)
    assert interrupted.reason == "barge_in" and interrupted.audio_end_ms > 0
    truncate = await h.wait_sent("conversation.item.truncate")
    assert truncate["audio_end_ms"] == interrupted.audio_end_ms
    # The server cancelled its own response (interrupt_response): we did not send a stray cancel.
    assert "response.cancel" not in h.sent_types()
    assert await h.controller.wait_idle(15)
    assert not [e for e in h.received if e["type"] == "error"]


async def test_garbage_and_a_dropped_connection_mid_answer_are_survived(make_harness: HarnessFactory) -> None:
    options = LocalServerOptions(
        audio_pace=math.inf, faults=Faults(garbage_before_answer=True, drop_after_audio_ms=400)
    )
    h = await make_harness(options=options)
    h.controller.send_text("my name is Ada")
    renewed = await h.wait_for(se.SessionRenewed, within=10)
    assert renewed.reason == "reconnected"
    assert await h.controller.wait_idle(15)
    # The turn was still answered, on the new connection.
    assert len(h.server.sessions) == 2
    assistant = [i for i in h.controller.history() if i.role == "assistant"]
    assert assistant and "my name is Ada" in assistant[-1].transcript and assistant[-1].status == "completed"
    # Context kept: the new session knows the first message.
    h.controller.send_text("what was my first message")
    assert await h.controller.wait_idle(15)
    assert "my name is Ada" in h.controller.history()[-1].transcript
    assert h.controller.connection == "connected"


async def test_session_expiry_renews_and_keeps_the_conversation(make_harness: HarnessFactory) -> None:
    h = await make_harness(options=LocalServerOptions(audio_pace=math.inf, session_max_s=1.5))
    h.controller.send_text("remember the word pineapple")
    assert await h.controller.wait_idle(15)
    renewed = await h.wait_for(se.SessionRenewed, within=10)
    assert renewed.reason == "expired" and renewed.carried_items == 2
    assert not h.of(se.ErrorOccurred)
    h.controller.send_text("what was my first message")
    assert await h.controller.wait_idle(15)
    assert "pineapple" in h.controller.history()[-1].transcript


async def test_client_side_timeout_renews_before_the_limit(make_harness: HarnessFactory) -> None:
    h = await make_harness(session_timeout_s=1.0)
    h.controller.send_text("the code is 4711")
    assert await h.controller.wait_idle(15)
    renewed = await h.wait_for(se.SessionRenewed, within=10)
    assert renewed.reason == "timeout"
    h.controller.send_text("what was my first message")
    assert await h.controller.wait_idle(15)
    assert "4711" in h.controller.history()[-1].transcript
    assert len(h.server.sessions) >= 2


async def test_a_rate_limited_response_is_retried_once(make_harness: HarnessFactory) -> None:
    h = await make_harness(options=LocalServerOptions(audio_pace=math.inf, faults=Faults(rate_limit_responses=1)))
    h.controller.send_text("hello")
    assert await h.controller.wait_idle(15)
    assert h.sent_types().count("response.create") == 2
    assert not h.of(se.ErrorOccurred)  # the retry worked: nothing to tell the person
    assert h.controller.history()[-1].role == "assistant"


async def test_repeated_rate_limits_are_reported(make_harness: HarnessFactory) -> None:
    h = await make_harness(options=LocalServerOptions(audio_pace=math.inf, faults=Faults(rate_limit_responses=3)))
    h.controller.send_text("hello")
    error = await h.wait_for(se.ErrorOccurred, within=10)
    assert error.code == "rate_limited" and "wait" in error.hint
    assert await h.controller.wait_idle(10)
    assert h.controller.connection == "connected"


async def test_wrong_key_is_refused_clearly(make_harness: HarnessFactory) -> None:
    h = await make_harness(options=LocalServerOptions(api_key="sk-right-key-123456"), connect=False)
    controller = SessionController(
        custom_endpoint(h.server.url, api_key="sk-wrong-key-654321"),
        SessionSettings(),
        source=NullSource(),
        sink=NullSink(),
        backoff=FAST_BACKOFF,
    )
    with pytest.raises(AuthenticationFailed) as caught:
        await controller.connect()
    assert "refused the API key" in str(caught.value)
    assert "sk-wrong-key-654321" not in str(caught.value)


async def test_unreachable_host_gives_up_within_the_backoff_window() -> None:
    controller = SessionController(
        custom_endpoint("ws://127.0.0.1:9/v1/realtime"),
        SessionSettings(),
        source=NullSource(),
        sink=NullSink(),
        backoff=FAST_BACKOFF,
    )
    started = time.monotonic()
    with pytest.raises(EndpointUnreachable) as caught:
        await controller.connect()
    assert time.monotonic() - started < 15
    assert "cannot reach" in str(caught.value) and "127.0.0.1:9" in str(caught.value)
