"""The local server's handshake (auth, routing, refusals), fault injection, session expiry, and the
standalone ``voicedesk serve`` entry, driven by a raw websocket client over loopback."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK, InvalidStatus

from tests.integration.test_local_server import (
    answer_of,
    local_server,
    peer,
    say_text,
    silence,
    speech,
    user_text,
)
from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.local.faults import Faults


async def handshake_refusal(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers=headers or {}):
            pass
    response = refused.value.response
    assert response.headers["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.body)


# --------------------------------------------------------------------------- handshake


async def test_a_wrong_or_missing_key_is_refused_with_401_and_a_masked_key() -> None:
    async with local_server(api_key="sk-right-key-123456") as server:
        status, body = await handshake_refusal(server.url, {"Authorization": "Bearer sk-abcdefghxyz"})
        assert status == 401
        error = body["error"]
        assert isinstance(error, dict)
        assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_api_key")
        assert error["message"].startswith("Incorrect API key provided: sk-ab***yz.")
        assert "cdefgh" not in error["message"]

        status, body = await handshake_refusal(server.url)
        assert status == 401
        assert not server.sessions

        for headers in ({"Authorization": "Bearer sk-right-key-123456"}, {"api-key": "sk-right-key-123456"}):
            async with peer(server, headers=headers) as p:
                await p.expect("session.created")
        assert len(server.sessions) == 2


async def test_unknown_paths_get_404_and_azure_paths_are_routed() -> None:
    async with local_server() as server:
        status, body = await handshake_refusal(f"ws://127.0.0.1:{server.port}/v2/somewhere")
        assert status == 404
        assert body["error"]["message"] == "Invalid URL (GET /v2/somewhere)"  # type: ignore[index]
        async with peer(server, path="/openai/v1/realtime?model=my-deployment") as p:
            session = (await p.expect("session.created"))["session"]
            assert session["type"] == "realtime" and session["model"] == "my-deployment"
        assert (server.sessions[0].beta, server.sessions[0].model) == (False, "my-deployment")


async def test_rejected_connections_get_503_then_connect() -> None:
    async with local_server(faults=Faults(reject_connections=2)) as server:
        for _ in range(2):
            status, body = await handshake_refusal(server.url)
            assert status == 503 and body["error"]["type"] == "server_error"  # type: ignore[index]
        async with peer(server) as p:
            await p.expect("session.created")


async def test_the_session_expires_with_the_services_error_then_closes() -> None:
    async with local_server(session_max_s=0.3) as server, peer(server) as p:
        created = (await p.expect("session.created"))["session"]
        assert created["expires_at"] >= 0
        error = (await p.expect("error", within=3.0))["error"]
        assert (error["type"], error["code"]) == ("invalid_request_error", "session_expired")
        assert error["message"] == "Your session hit the maximum duration of 60 minutes."
        with pytest.raises(ConnectionClosedOK) as closed:
            await p.next()
        assert closed.value.rcvd is not None and closed.value.rcvd.code in (1000, 1001)
        for _ in range(100):  # the server finishes its side of the close a moment after the client sees it
            if server.sessions[0].closed:
                break
            await asyncio.sleep(0.01)
        assert server.sessions[0].closed and server.sessions[0].close_reason == "session_expired"


# --------------------------------------------------------------------------- faults


async def test_garbage_before_an_answer_then_the_answer_itself() -> None:
    async with local_server(faults=Faults(garbage_before_answer=True)) as server, peer(server) as p:
        await p.expect("session.created")
        await p.send(
            "conversation.item.create",
            item=user_text("hi"),
        )
        await p.until("conversation.item.done")
        await p.send("response.create")
        frames = [await p.next_frame() for _ in range(4)]
        assert isinstance(frames[1], bytes)
        not_json, unknown, array = frames[0], frames[2], frames[3]
        assert isinstance(not_json, str) and isinstance(unknown, str) and isinstance(array, str)
        with pytest.raises(ValueError):
            json.loads(not_json)
        assert json.loads(unknown)["type"] == "local.unknown_event"
        assert isinstance(json.loads(array), list)
        events = await p.answer()
        assert events[0]["type"] == "response.created"
        assert answer_of(events)[0] == "You said: hi."
        # Once per server: the next answer is clean.
        events = await say_text(p, "again")
        assert events[0]["type"] == "response.created"


async def test_the_connection_drops_mid_answer_without_a_close_frame_and_the_next_one_works() -> None:
    async with local_server(faults=Faults(drop_after_audio_ms=500)) as server:
        async with peer(server) as p:
            await p.expect("session.created")
            await p.send(
                "conversation.item.create",
                item=user_text("Talk for 5 seconds"),
            )
            await p.until("conversation.item.done")
            await p.send("response.create")
            audio_bytes = 0
            with pytest.raises(ConnectionClosedError) as dropped:
                while True:
                    event = await p.next()
                    if event["type"] == "response.output_audio.delta":
                        audio_bytes += len(event["delta"]) * 3 // 4
            assert dropped.value.rcvd is None  # no close frame: the TCP connection just went away
            assert audio_bytes // 2 >= SAMPLE_RATE // 2
            assert not any(e["type"] == "response.done" for e in p.events)
        async with peer(server) as p:
            await p.expect("session.created")
            events = await say_text(p, "Talk for 5 seconds")
            assert answer_of(events)[1].size == 5 * SAMPLE_RATE
        assert server.sessions[0].close_reason == "dropped by fault injection"


async def test_rate_limited_responses_are_refused_then_served() -> None:
    async with local_server(faults=Faults(rate_limit_responses=1)) as server, peer(server) as p:
        await p.expect("session.created")
        await p.send(
            "conversation.item.create",
            item=user_text("hello"),
        )
        await p.until("conversation.item.done")
        event_id = await p.send("response.create")
        error = (await p.expect("error"))["error"]
        assert (error["code"], error["event_id"]) == ("rate_limit_exceeded", event_id)
        assert error["message"].startswith("Rate limit reached for gpt-realtime")
        await p.send("response.create")
        assert answer_of(await p.answer())[0] == "You said: hello."
        assert len(server.sessions[0].responses) == 1


async def test_rate_limits_can_also_fail_the_response_like_the_service_does() -> None:
    faults = Faults(rate_limit_responses=1, rate_limit_style="response_failed")
    async with local_server(faults=faults) as server, peer(server) as p:
        await p.expect("session.created")
        events = await say_text(p, "hello")
        assert [e["type"] for e in events] == ["response.created", "response.done"]
        response = events[-1]["response"]
        assert response["status"] == "failed" and response["output"] == []
        assert response["status_details"]["error"]["code"] == "rate_limit_exceeded"
        await p.send("response.create")
        assert answer_of(await p.answer())[0] == "You said: hello."
        assert [r["status"] for r in server.sessions[0].responses] == ["failed", "completed"]


# --------------------------------------------------------------------------- more protocol behaviour


async def test_semantic_vad_eagerness_sets_how_long_a_pause_ends_the_turn() -> None:
    async with local_server(transcripts=["one", "two"]) as server, peer(server) as p:
        await p.expect("session.created")
        td = {"type": "semantic_vad", "eagerness": "high", "create_response": False}
        await p.send("session.update", session={"type": "realtime", "audio": {"input": {"turn_detection": td}}})
        assert (await p.expect("session.updated"))["session"]["audio"]["input"]["turn_detection"]["eagerness"] == "high"
        # A 400 ms pause ends a turn with high eagerness (250 ms); with low (800 ms) it would not.
        await p.feed(np.concatenate((silence(300), speech("one two"), silence(400), speech("three"), silence(400))))
        stops = [e for e in await p.until("input_audio_buffer.committed") if e["type"].endswith("speech_stopped")]
        assert len(stops) == 1
        await p.until("conversation.item.done")
        await p.until("input_audio_buffer.committed")
        await p.until("conversation.item.done")
        assert len(server.sessions[0].items) == 2 and not server.sessions[0].responses  # create_response off


async def test_out_of_band_responses_stay_out_of_the_conversation() -> None:
    async with local_server() as server, peer(server) as p:
        await p.expect("session.created")
        await say_text(p, "first words")
        await p.send(
            "response.create",
            response={
                "conversation": "none",
                "output_modalities": ["text"],
                "metadata": {"purpose": "summary"},
                "input": [user_text("Summarise")],
            },
        )
        events = await p.answer()
        assert not any(e["type"].startswith("conversation.item") for e in events)
        response = events[-1]["response"]
        assert response["conversation_id"] is None and response["metadata"] == {"purpose": "summary"}
        assert response["output"][0]["content"][0]["text"] == "You said: Summarise."
        assert len(server.sessions[0].items) == 2


async def test_max_output_tokens_cuts_the_answer_as_incomplete() -> None:
    async with local_server() as server, peer(server) as p:
        await p.expect("session.created")
        events = await say_text(p, "Talk for 10 seconds", max_output_tokens=40)
        response = events[-1]["response"]
        assert response["status"] == "incomplete"
        assert response["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
        assert 0 < answer_of(events)[1].size < 3 * SAMPLE_RATE
        assert server.sessions[0].responses[0]["usage"]["output_tokens"] >= 40


async def test_the_voice_cannot_change_once_the_assistant_has_spoken() -> None:
    async with local_server() as server, peer(server) as p:
        await p.expect("session.created")
        await say_text(p, "hello")
        await p.send("session.update", session={"type": "realtime", "audio": {"output": {"voice": "verse"}}})
        assert (await p.expect("error"))["error"]["code"] == "cannot_update_voice"
        assert server.sessions[0].config["audio"]["output"]["voice"] == "alloy"


# --------------------------------------------------------------------------- voicedesk serve


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery to a child differs on Windows")
async def test_the_standalone_server_prints_its_url_serves_and_stops_on_ctrl_c() -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voicedesk.app.serve", "--port", "0", "--pace", "inf",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        url = (await asyncio.wait_for(child.stdout.readline(), 20)).decode().strip()
        assert url.startswith("ws://127.0.0.1:") and url.endswith("/v1/realtime?model=gpt-realtime")
        async with connect(url) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
        child.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(child.wait(), 20) == 0
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


def test_pace_must_be_positive() -> None:
    from voicedesk.app.serve import main

    with pytest.raises(SystemExit) as exited:
        main(["--pace", "0"])
    assert exited.value.code == 2
