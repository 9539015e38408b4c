"""``voicedesk ask`` as a person runs it: a real process, real files, the exit codes of the contract."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from tests.signals import speech_like
from voicedesk.audio.wavfile import read_wav
from voicedesk.local.faults import Faults
from voicedesk.local.server import LocalRealtimeServer, LocalServerOptions


async def run_ask(*args: str, env: dict[str, str] | None = None, within: float = 90) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "voicedesk",
        "ask",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), within)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def write_wav(path: Path, pcm: np.ndarray, rate: int = 24000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.repeat(pcm, channels).astype("<i2").tobytes())
    return path


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_ask_on_the_local_server_writes_everything(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "question.wav", speech_like(1.5)[::2], rate=12000, channels=2)
    out = tmp_path / "out"
    code, _stdout, stderr = await run_ask(
        str(wav), "--text", "what is 12 times 7", "--text", "what was my first message", "--out-dir", str(out), "--fast"
    )
    assert code == 0, stderr
    assert "embedded local server" in stderr, "a notice, not part of the transcript"
    conversation = records(out / "conversation.jsonl")
    roles = [(r["type"], r["role"]) for r in conversation]
    assert roles == [
        ("message", "user"),
        ("message", "assistant"),
        ("message", "user"),
        ("function_call", None),
        ("function_call_output", None),
        ("message", "assistant"),
        ("message", "user"),
        ("message", "assistant"),
    ]
    assert conversation[0]["has_audio"] and 1400 <= conversation[0]["audio_ms"] <= 2400  # speech plus the VAD's padding
    assert conversation[4]["output"] == "84" and conversation[4]["name"] == "calculator"
    assert "84" in conversation[5]["transcript"]
    # The WAV came first: the last answer quotes the first message (the WAV's description).
    assert conversation[0]["transcript"] in conversation[-1]["transcript"]
    heard = read_wav(out / "assistant.wav")
    expected_ms = sum(r.get("audio_ms", 0) for r in conversation if r["role"] == "assistant")
    assert abs(len(heard) / 24 - expected_ms) <= 5
    events = records(out / "events.jsonl")
    assert {e["direction"] for e in events} == {"client", "server"}
    appends = [e for e in events if e["event"]["type"] == "input_audio_buffer.append"]
    assert appends and all(e["event"]["audio"].endswith("bytes of audio>") for e in appends)
    assert all(isinstance(e["t"], float) for e in events)


async def test_ask_interrupt_after_cuts_each_answer_where_it_was_heard(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, stderr = await run_ask("--text", "talk for 6 seconds", "--out-dir", str(out), "--interrupt-after", "1.0")
    assert code == 0, stderr
    answer = records(out / "conversation.jsonl")[-1]
    assert answer["role"] == "assistant" and 1000 <= answer["truncated_ms"] <= 1200
    heard = read_wav(out / "assistant.wav")
    assert abs(len(heard) / 24 - answer["truncated_ms"]) <= 20  # the file holds what was heard, no more
    truncate = [e["event"] for e in records(out / "events.jsonl") if e["event"]["type"] == "conversation.item.truncate"]
    assert [t["audio_end_ms"] for t in truncate] == [answer["truncated_ms"]]


async def test_bad_input_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    not_a_wav = tmp_path / "song.mp3"
    not_a_wav.write_bytes(b"ID3\x03\x00\x00\x00garbage")
    code, _, stderr = await run_ask(str(not_a_wav), "--out-dir", str(tmp_path / "out"))
    assert code == 2
    assert "song.mp3" in stderr and "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1
    code, _, stderr = await run_ask(str(tmp_path / "missing.wav"), "--out-dir", str(tmp_path / "out"))
    assert code == 2 and "missing.wav" in stderr and "Traceback" not in stderr
    code, _, stderr = await run_ask("--text", "hi", "--out-dir", str(tmp_path / "o"), "--azure-endpoint", "https://x")
    assert code == 2 and "--deployment" in stderr


async def test_wrong_key_exits_3_and_never_shows_the_key(tmp_path: Path) -> None:
    async with LocalRealtimeServer(LocalServerOptions(api_key="sk-right-0123456789")) as server:
        code, stdout, stderr = await run_ask(
            "--text", "hi", "--out-dir", str(tmp_path / "out"), "--url", server.url,
            env={"OPENAI_API_KEY": "sk-wrong-secret-9876543210"},
        )  # fmt: skip
    assert code == 3
    assert "API key" in stderr and "Traceback" not in stderr
    for text in (stdout, stderr, *(p.read_text() for p in (tmp_path / "out").glob("*.jsonl"))):
        assert "sk-wrong-secret-9876543210" not in text


async def test_unreachable_endpoint_exits_4_within_the_retry_window(tmp_path: Path) -> None:
    started = time.monotonic()
    code, _, stderr = await run_ask("--text", "hi", "--out-dir", str(tmp_path / "out"), "--url", "ws://127.0.0.1:9/v1")
    assert code == 4 and "cannot reach" in stderr
    assert time.monotonic() - started < 25  # 15 s of retries plus interpreter start-up on a busy machine


async def test_an_internal_error_then_a_1011_close_is_reconnected_and_answered(tmp_path: Path) -> None:
    # 1011 is an abnormal close, not the server ending the session on purpose (that reading made it exit 5).
    options = LocalServerOptions(faults=Faults(fail_session_on_response=True))
    async with LocalRealtimeServer(options) as server:
        code, stdout, stderr = await run_ask("--text", "hi", "--out-dir", str(tmp_path / "out"), "--url", server.url)
        assert len(server.sessions) == 2  # one reconnect, no hammering
    assert code == 0, stdout + stderr
    assert "assistant:" in stdout


async def test_a_turn_never_answered_is_not_exit_0(tmp_path: Path) -> None:
    options = LocalServerOptions(faults=Faults(close_every_response=1011))
    async with LocalRealtimeServer(options) as server:
        code, stdout, stderr = await run_ask("--text", "hi", "--out-dir", str(tmp_path / "out"), "--url", server.url)
        assert len(server.sessions) == 4  # asked again twice, then given up: no hammering
    assert code == 4, stdout + stderr
    assert "given up" in stderr and "assistant:" not in stdout


async def test_a_server_that_dies_mid_answer_ends_ask_soon_after_the_retries(tmp_path: Path) -> None:
    server = LocalRealtimeServer(LocalServerOptions(audio_pace=1.0))
    await server.start()
    url = server.url
    ask = asyncio.create_task(
        run_ask("--text", "talk for 60 seconds", "--out-dir", str(tmp_path / "out"), "--url", url)
    )
    loop = asyncio.get_running_loop()
    end = loop.time() + 60
    while loop.time() < end and not (  # noqa: ASYNC110 - the answer is streaming (ask may start slowly under load)
        server.sessions and "response.output_audio.delta" in server.sessions[0].sent_types
    ):
        await asyncio.sleep(0.05)
    await server.stop()  # gone, and it will not come back
    started = asyncio.get_running_loop().time()
    code, stdout, stderr = await ask
    assert code == 4, stdout + stderr
    assert asyncio.get_running_loop().time() - started < 30, "not the 300 s answer time-out"
    assert "could not be restored" in stderr


async def test_a_connection_never_made_is_reported_once_with_the_command_lines_prefix(tmp_path: Path) -> None:
    # Before: "error: The connection was lost and could not be restored: ..." and then the same again, though
    # no connection had ever been made.
    cases = [
        (LocalServerOptions(faults=Faults(close_at_start=1001)), 4, "accepted the connection"),
        (LocalServerOptions(api_key="sk-right-0123456789"), 3, "refused the API key"),
    ]
    for number, (options, exit_code, words) in enumerate(cases):
        async with LocalRealtimeServer(options) as server:
            code, stdout, stderr = await run_ask(
                "--text", "hi", "--out-dir", str(tmp_path / f"out{number}"), "--url", server.url,
                env={"OPENAI_API_KEY": "sk-wrong-secret-9876543210"},
            )  # fmt: skip
        assert code == exit_code, stdout + stderr
        problems = [line for line in stderr.splitlines() if not line.startswith("(")]  # "(...)": notices
        assert len(problems) == 1 and words in problems[0], stderr
        assert problems[0].startswith("voicedesk: ") and "lost" not in stderr, stderr


async def test_a_problem_during_the_conversation_has_the_same_prefix(tmp_path: Path) -> None:
    options = LocalServerOptions(faults=Faults(close_every_response=1011))
    async with LocalRealtimeServer(options) as server:
        code, stdout, stderr = await run_ask("--text", "hi", "--out-dir", str(tmp_path / "out"), "--url", server.url)
    assert code == 4, stdout + stderr
    problems = [line for line in stderr.splitlines() if not line.startswith("(")]
    assert problems and all(line.startswith("voicedesk: ") for line in problems), stderr
    assert any("given up" in line for line in problems), stderr
