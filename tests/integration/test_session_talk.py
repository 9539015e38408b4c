"""The talk button against a server ~150 ms away, and the audio the controller reports as sent."""

from __future__ import annotations

import asyncio
import base64
import logging

import pytest

from tests.integration.conftest import Harness, HarnessFactory
from tests.signals import speech_like
from voicedesk.audio.base import Pcm16
from voicedesk.local.server import LocalServerOptions
from voicedesk.realtime.session_config import SessionSettings, TurnDetection
from voicedesk.realtime.transport import Closed, Transport, open_websocket
from voicedesk.session import events as se

PUSH_TO_TALK = SessionSettings(turn_detection=TurnDetection(type="none"))
SERVER_DELAY_S = 0.15


class DelayedTransport:
    """A real websocket whose incoming frames arrive ``delay_s`` late: a server far away."""

    def __init__(self, inner: Transport, delay_s: float) -> None:
        self._inner = inner
        self._delay_s = delay_s
        self._frames: asyncio.Queue[tuple[float, str | bytes] | Closed] = asyncio.Queue()
        self._pump = asyncio.create_task(self._receive(), name="delayed-receive")

    async def _receive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                frame = await self._inner.recv()
            except Closed as closed:
                await self._frames.put(closed)
                return
            await self._frames.put((loop.time() + self._delay_s, frame))

    async def send(self, text: str) -> None:
        await self._inner.send(text)

    async def recv(self) -> str | bytes:
        entry = await self._frames.get()
        if isinstance(entry, Closed):
            raise entry
        due, frame = entry
        await asyncio.sleep(max(0.0, due - asyncio.get_running_loop().time()))
        return frame

    async def close(self) -> None:
        self._pump.cancel()
        await self._inner.close()


async def far_away(url: str, headers: dict[str, str]) -> Transport:
    return DelayedTransport(await open_websocket(url, headers), SERVER_DELAY_S)


async def _answer_playing(h: Harness) -> None:
    h.controller.send_text("talk for 20 seconds")
    await h.wait_for(se.AudioChunk)
    await asyncio.sleep(0.3)
    assert h.controller.activity == "speaking"


def _server_received_samples(h: Harness) -> int:
    appends = [e for session in h.server.sessions for e in session.received("input_audio_buffer.append")]
    return sum(len(base64.b64decode(e["audio"])) // 2 for e in appends)


async def test_holding_talk_while_the_answer_is_cancelled_reads_listening(make_harness: HarnessFactory) -> None:
    h = await make_harness(PUSH_TO_TALK, LocalServerOptions(audio_pace=4.0), speed=1.0, transport_factory=far_away)
    await _answer_playing(h)
    pressed_at = len(h.events)
    h.controller.start_push_to_talk()
    seen: set[str] = set()

    async def watch() -> None:
        while True:
            seen.add(h.controller.activity)
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    await h.source.play(speech_like(0.6))  # long enough for the cancel's round trip
    watcher.cancel()
    ended = await h.wait_for(se.AgentEnd, start=pressed_at, within=1)
    assert ended.status == "cancelled"  # the cancel completed while the button was held
    assert seen == {"listening"}
    assert not [e for e in h.events[pressed_at:] if isinstance(e, se.StateChanged) and e.activity != "listening"]
    assert h.of(se.AudioInterrupted), "pressing talk cut the answer off"
    assert "conversation.item.truncate" in h.sent_types() or "conversation.item.delete" in h.sent_types()

    assert h.controller.stop_push_to_talk()
    assert await h.controller.wait_idle(20)
    assert not [e for e in h.received if e["type"] == "error"]
    assert h.controller.history()[-1].role == "assistant"


async def test_a_release_before_the_cancel_is_done_asks_for_the_answer_after_it(make_harness: HarnessFactory) -> None:
    h = await make_harness(PUSH_TO_TALK, LocalServerOptions(audio_pace=4.0), speed=1.0, transport_factory=far_away)
    await _answer_playing(h)
    pressed_at = len(h.events)
    h.controller.start_push_to_talk()
    await h.source.play(speech_like(0.12))  # past the 100 ms minimum, before the cancelled response.done is back
    assert not [e for e in h.events[pressed_at:] if isinstance(e, se.AgentEnd)]
    assert h.controller.stop_push_to_talk()
    assert h.sent_types().count("response.create") == 1, "the new answer waits for the cancelled one's done"
    assert await h.controller.wait_idle(20)
    assert h.sent_types().count("response.create") == 2
    assert not [e for e in h.received if e["type"] == "error"]  # no conversation_already_has_active_response
    assert [e.status for e in h.of(se.AgentEnd)] == ["cancelled", "completed"]


async def test_on_input_sent_sees_exactly_the_audio_the_server_received(make_harness: HarnessFactory) -> None:
    sent: list[Pcm16] = []
    h = await make_harness(PUSH_TO_TALK, on_input_sent=sent.append)
    await h.source.play(speech_like(0.3))  # not held: nothing is sent
    assert not sent
    h.controller.start_push_to_talk()
    await h.source.play(speech_like(0.5))
    assert h.controller.stop_push_to_talk()
    assert await h.controller.wait_idle(15)
    sent_samples = sum(len(block) for block in sent)
    assert sent_samples >= 0.5 * 24_000
    assert sent_samples == _server_received_samples(h)


async def test_a_failing_on_input_sent_is_logged_and_the_turn_goes_on(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(pcm: Pcm16) -> None:
        raise RuntimeError("recorder bug")

    h = await make_harness(PUSH_TO_TALK, on_input_sent=broken)
    with caplog.at_level(logging.ERROR):
        h.controller.start_push_to_talk()
        await h.source.play(speech_like(0.5))
        assert h.controller.stop_push_to_talk()
        assert await h.controller.wait_idle(15)
    assert "on_input_sent failed" in caplog.text
    assert [i.role for i in h.controller.history()] == ["user", "assistant"]
    assert _server_received_samples(h) >= 0.5 * 24_000
