"""The local server's building blocks on their own: G.711, the energy VAD, the voice, the responder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.local import codec
from voicedesk.local.responder import CallTool, Speak, Turn, respond
from voicedesk.local.vad import EnergyVad, SpeechStarted, SpeechStopped
from voicedesk.local.voice import plan_speech


def test_g711_matches_the_reference_code_points_and_round_trips() -> None:
    # ITU-T G.711: µ-law 0xFF/0x80/0x00 are 0/+32124/-32124; A-law 0xD5/0x55 are +8/-8, 0xAA/0x2A ±32256.
    assert codec.ulaw_decode(bytes([0xFF, 0x80, 0x00])).tolist() == [0, 32124, -32124]
    assert codec.alaw_decode(bytes([0xD5, 0x55, 0xAA, 0x2A])).tolist() == [8, -8, 32256, -32256]
    ramp = np.linspace(-32000, 32000, 4001).astype(np.int16)
    for encode, decode in ((codec.ulaw_encode, codec.ulaw_decode), (codec.alaw_encode, codec.alaw_decode)):
        back = decode(encode(ramp)).astype(np.int64)
        # Logarithmic quantisation: the error stays a small fraction of the magnitude.
        assert np.all(np.abs(back - ramp) <= np.abs(ramp.astype(np.int64)) * 0.07 + 16)
    pcm = plan_speech("hello").render(0, SAMPLE_RATE // 10)
    assert len(codec.from_pcm24(pcm, "pcmu")) == pcm.size // 3  # 8 kHz, one byte per sample
    assert codec.to_pcm24(codec.from_pcm24(pcm, "pcma"), "pcma").size == pcm.size


def test_vad_ignores_room_noise_and_follows_the_threshold() -> None:
    rng = np.random.default_rng(7)
    noise = (rng.standard_normal(SAMPLE_RATE * 2) * 0.002 * 32767).astype(np.int16)  # about -54 dBFS
    assert EnergyVad(0.5, 500).feed(noise) == []
    plan = plan_speech("a few quiet words here")
    quiet = (plan.render(0, plan.total_samples) * 0.02).astype(np.int16)  # about -50 dBFS speech
    assert EnergyVad(0.5, 500).feed(quiet) == []
    events = EnergyVad(0.2, 500).feed(np.concatenate((quiet, np.zeros(SAMPLE_RATE, dtype=np.int16))))
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped]


def test_the_voice_is_deterministic_chunk_independent_and_sized_by_words() -> None:
    plan = plan_speech("one two three four five six seven eight nine ten")
    whole = plan.render(0, plan.total_samples)
    chunks = np.concatenate([plan.render(a, a + 1234) for a in range(0, plan.total_samples, 1234)])
    assert np.array_equal(whole, chunks)
    assert plan.total_samples == round(10 * 0.3 * SAMPLE_RATE)
    assert plan_speech("x y", duration_s=7.5).total_samples == int(7.5 * SAMPLE_RATE)
    assert plan.words_started(0) == 0 and plan.words_started(plan.total_samples) == 10
    assert not np.array_equal(whole, plan_speech(" ".join(plan.words), voice="shimmer").render(0, plan.total_samples))


CALC = {"type": "function", "name": "calculator", "parameters": {"properties": {"expression": {}}}}


@pytest.mark.parametrize(
    ("said", "expression"),
    [("what is 12 times 7", "12*7"), ("what's twelve plus 30?", "12+30"), ("compute (3 + 4) * 2", "(3+4)*2")],
)
def test_arithmetic_in_words_becomes_a_calculator_call(said: str, expression: str) -> None:
    (call,) = respond([Turn("user", said)], instructions="", tools=[CALC], tool_choice="auto")
    assert isinstance(call, CallTool) and json.loads(call.arguments) == {"expression": expression}


def test_responder_respects_tool_choice_and_explicit_tool_requests() -> None:
    turns = [Turn("user", "what is 2 plus 2")]
    assert respond(turns, instructions="", tools=[CALC], tool_choice="none") == [Speak("You said: what is 2 plus 2.")]
    lookup = {"type": "function", "name": "lookup_order"}
    (call,) = respond(
        [Turn("user", 'please call lookup_order with {"order": 42}')],
        instructions="",
        tools=[CALC, lookup],
        tool_choice="auto",
    )
    assert call == CallTool("lookup_order", '{"order": 42}')
    forced = respond([Turn("user", "hi")], instructions="", tools=[lookup], tool_choice="required")
    assert forced == [CallTool("lookup_order", "{}")]
