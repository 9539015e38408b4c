"""A conversation with the local realtime server through the virtual devices: the microphone is a
PulseAudio sink the test plays into, the speaker a null sink the test records from its monitor."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest
from audio_testkit import VirtualPulse, active_span, envelope, espeak, match_in_order, xcorr_peak

from tests.eventlog import EventLog
from voicedesk.audio.echo import EchoMode
from voicedesk.audio.engine import AudioEngine
from voicedesk.audio.resample import resample_block
from voicedesk.local.server import LocalRealtimeServer, LocalServerOptions
from voicedesk.realtime.endpoint import custom_endpoint
from voicedesk.realtime.session_config import SessionSettings, TurnDetection
from voicedesk.session import events as se
from voicedesk.session.controller import SessionController

pytestmark = pytest.mark.pulse
E = TypeVar("E")
REC_RATE = 48000


@dataclass
class Call:
    server: LocalRealtimeServer
    engine: AudioEngine
    controller: SessionController
    log: EventLog = field(default_factory=EventLog)

    def of(self, kind: type[E]) -> list[E]:
        return self.log.of(kind)

    async def wait_for(self, kind: type[E], within: float, predicate: Callable[[E], bool] = lambda e: True) -> E:
        return await self.log.wait_for(kind, predicate, within)

    def received_audio(self) -> np.ndarray:
        chunks = [e.pcm for e in self.of(se.AudioChunk)]
        return np.concatenate(chunks).astype(np.float32) / 32768 if chunks else np.zeros(0, np.float32)

    def server_sent(self, event_type: str) -> int:
        return self.server.sessions[0].sent_types.count(event_type) if self.server.sessions else 0


@asynccontextmanager
async def call(options: LocalServerOptions, *, echo: EchoMode = "aec", vad: bool = True) -> AsyncIterator[Call]:
    server = LocalRealtimeServer(options)
    await server.start()
    engine = AudioEngine(echo=echo)
    turns = TurnDetection(type="server_vad", silence_duration_ms=500) if vad else TurnDetection(type="none")
    controller = SessionController(
        custom_endpoint(server.url, protocol="ga"),
        SessionSettings(turn_detection=turns),
        source=engine.source,
        sink=engine.sink,
    )
    c = Call(server, engine, controller)
    controller.subscribe(c.log.record)
    try:
        await controller.connect()
        end = asyncio.get_running_loop().time() + 5
        while engine.source.blocks == 0:  # the microphone runs before anyone talks into it
            if asyncio.get_running_loop().time() > end:
                raise TimeoutError("no microphone block")
            await asyncio.sleep(0.01)
        yield c
    finally:
        await controller.disconnect()
        await server.stop()


def _find(recording: np.ndarray, answer24: np.ndarray) -> tuple[int, float]:
    """Where the answer starts in a 48 kHz recording (a frame index) and how well it matches there."""
    head = resample_block(answer24[:24000], 24000, REC_RATE)
    return xcorr_peak(recording, head)


async def test_a_spoken_question_is_answered_through_the_devices(pulse: VirtualPulse, tmp_path: Path) -> None:
    wav = espeak("What is the weather like in Paris today?", tmp_path / "question.wav")
    if wav is None:
        pytest.skip("espeak-ng is not installed")
    rec = pulse.record("spk.monitor", REC_RATE)
    rec.wait_started()
    options = LocalServerOptions(audio_pace=4.0, transcripts=["What is the weather like in Paris today?"])
    try:
        async with call(options) as c:
            pulse.play_file("micsrc", wav)
            done = await c.wait_for(se.AudioEnd, within=30)
            await asyncio.sleep(0.3)
            played = c.engine.sink.played_samples
    finally:
        x = rec.stop()
    session = c.server.sessions[0]
    # The server's VAD heard the question in what the microphone delivered, and answered it.
    assert session.sent_types.count("input_audio_buffer.speech_started") == 1
    assert session.sent_types.count("input_audio_buffer.committed") == 1
    answer = c.received_audio()
    assert done.item_id == c.of(se.AudioChunk)[0].item_id
    assert answer.size > 24000, "the answer should last more than a second"
    assert played == answer.size  # every received sample was delivered to the device, nothing more
    # The speaker played the answer intact: every piece of the waveform, in order. A loaded machine
    # can make the device chain underrun (silence inserted between pieces: counted, not damage).
    start, _ = _find(x, answer)
    whole = resample_block(answer, 24000, REC_RATE)
    correlations, gaps = match_in_order(x, whole, REC_RATE, start)
    matched = sum(c > 0.95 for c in correlations)
    assert correlations and matched >= 0.9 * len(correlations), (
        f"the recording does not match the received audio: {matched}/{len(correlations)} pieces, "
        f"median corr {float(np.median(correlations or [0])):.3f}"
    )
    lo, hi = active_span(x[start:], REC_RATE, threshold=0.003)
    want_lo, want_hi = active_span(answer, 24000, threshold=0.003)
    assert lo / REC_RATE == pytest.approx(want_lo / 24000, abs=0.01)
    # As long as the audio received, plus any silence the device chain inserted.
    assert hi / REC_RATE == pytest.approx(want_hi / 24000 + gaps / REC_RATE, abs=0.02)


async def test_interrupt_silences_the_speaker_and_truncates_at_what_it_played(pulse: VirtualPulse) -> None:
    rec = pulse.record("spk.monitor", REC_RATE)
    rec.wait_started()
    try:
        async with call(LocalServerOptions(audio_pace=4.0), vad=False) as c:
            sink = c.engine.sink
            c.controller.send_text("talk for 20 seconds")
            await c.wait_for(se.AudioChunk, within=10)
            while sink.played_samples < 24000 * 1.5:  # noqa: ASYNC110 - polling the playback counter
                await asyncio.sleep(0.01)
            played_before = sink.played_samples
            recorded_at_cut = rec.frames_so_far()
            assert c.controller.interrupt()
            assert await c.controller.wait_idle(10)
            await asyncio.sleep(0.4)
            played_after = sink.played_samples
            fade_s, block_s, latency_s = sink.fade_s, sink.callback_s, sink.output_latency_s
    finally:
        x = rec.stop()
    session = c.server.sessions[0]
    interrupted = c.of(se.AudioInterrupted)[0]
    assert session.truncations == [(interrupted.item_id, interrupted.audio_end_ms)]
    assert not session.errors
    # On the playback timeline: after the call, at most one callback block and the fade went out.
    assert (played_after - played_before) / 24000 <= block_s + fade_s + 0.001
    start, corr = _find(x, c.received_audio())
    assert corr > 0.9
    # What the speaker had put out when the person interrupted (the recording at that moment, less
    # pacat's 5 ms) is what the truncate says was heard.
    heard_at_cut_ms = (recorded_at_cut - start) * 1000 / REC_RATE
    assert interrupted.audio_end_ms == pytest.approx(heard_at_cut_ms, abs=30)
    # ...and then it went silent: the device's own buffer, one block and the fade, then nothing.
    _, hi = active_span(x[start:], REC_RATE, threshold=0.003)
    heard_total_ms = hi * 1000 / REC_RATE
    assert heard_total_ms - heard_at_cut_ms <= (latency_s + block_s + fade_s) * 1000 + 30
    tail = envelope(x[start + hi - 480 : start + hi], REC_RATE, 0.001)
    assert tail[-1] < 0.5 * tail.max(), "no fade: the answer stopped with a click"
    assert envelope(x[start + hi + 480 :], REC_RATE).max() < 0.003, "sound after the cut"


# --- the assistant's own voice through the speaker and back into the microphone -----------------


def _loudest_30ms_dbfs(pcm: np.ndarray) -> float:
    """The loudest three consecutive 10 ms frames (what the server's VAD needs to fire), in dBFS."""
    x = pcm.astype(np.float64).reshape(-1)[: pcm.size // 240 * 240].reshape(-1, 240)
    if np.issubdtype(pcm.dtype, np.integer):
        x = x / 32768.0
    level = 10 * np.log10(np.mean(x * x, axis=1) + 1e-12)
    if level.size < 3:
        return -120.0
    return float(np.minimum(np.minimum(level[:-2], level[1:-1]), level[2:]).max())


def _sent_audio(c: Call) -> np.ndarray:
    events = c.server.sessions[0].received("input_audio_buffer.append")
    return np.concatenate([np.frombuffer(base64.b64decode(e["audio"]), "<i2") for e in events])


@dataclass
class EchoRun:
    speech_started: int
    interrupted: list[se.AudioInterrupted]
    answer_s: float
    played_s: float
    raw_dbfs: float  # loudest 30 ms reaching the microphone (before echo control)
    sent_dbfs: float  # loudest 30 ms sent to the server (after echo control)
    engine: str  # the engine's counters, for the failure message


async def _answer_over_echo(pulse: VirtualPulse, mode: EchoMode, seconds: int) -> EchoRun:
    # A laptop: the speaker reaches the microphone 60 ms later (output buffer, air, input buffer)
    # and about 18 dB down (PulseAudio's 50 % volume is cubic: 0.125).
    pulse.loopback("echo", "spk.monitor", "micsrc", 60, 50)
    raw: list[np.ndarray] = []
    try:
        async with call(LocalServerOptions(audio_pace=4.0), echo=mode) as c:
            c.engine.source.raw_tap = raw.append
            c.controller.send_text(f"talk for {seconds} seconds")
            await c.wait_for(se.AudioChunk, within=10)
            loop = asyncio.get_running_loop()
            end = loop.time() + seconds + 20
            while not c.of(se.AudioEnd) and not c.of(se.AudioInterrupted) and loop.time() < end:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            played = c.engine.sink.played_samples
            e, sink, source = c.engine.echo, c.engine.sink, c.engine.source
            counters = (
                f"output xruns {sink.xruns}, underruns {sink.underruns}, input overflows {source.overflows}, "
                f"timeline gaps {e.timeline.gaps}, clamps {e.clamps}, relocations {e.relocations}, "
                f"restarts {source.restarts}/{sink.restarts}"
            )
    finally:
        pulse.unload("echo")
    return EchoRun(
        speech_started=c.server_sent("input_audio_buffer.speech_started"),
        interrupted=c.of(se.AudioInterrupted),
        answer_s=c.received_audio().size / 24000,
        played_s=played / 24000,
        raw_dbfs=_loudest_30ms_dbfs(np.concatenate(raw)),
        sent_dbfs=_loudest_30ms_dbfs(_sent_audio(c)),
        engine=counters,
    )


async def test_without_echo_control_the_assistant_interrupts_itself(pulse: VirtualPulse) -> None:
    run = await _answer_over_echo(pulse, "off", 20)
    assert run.raw_dbfs > -35, f"the echo is too quiet to test anything ({run.raw_dbfs:.1f} dBFS)"
    assert run.speech_started >= 1
    assert run.interrupted and run.interrupted[0].reason == "barge_in"
    assert run.played_s < 10, "the answer should have been cut off by its own echo"


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_aec_keeps_the_server_vad_quiet_over_a_two_minute_answer(pulse: VirtualPulse) -> None:
    run = await _answer_over_echo(pulse, "aec", 120)
    detail = f"echo at the mic {run.raw_dbfs:.1f} dBFS, sent {run.sent_dbfs:.1f} dBFS (VAD fires at -40); {run.engine}"
    assert run.raw_dbfs > -35, detail
    assert run.speech_started == 0, detail
    assert not run.interrupted, detail
    assert run.answer_s == pytest.approx(120, abs=1)
    assert run.played_s == pytest.approx(run.answer_s, abs=0.05), "the whole answer played"
