"""Settings -> session.update payload: GA nested, beta flat, exact values; validation says what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from voicedesk.realtime.session_config import (
    SessionSettings,
    SettingsError,
    TurnDetection,
    build_session_payload,
)

TOOL = {"type": "function", "name": "get_time", "description": "Time.", "parameters": {"type": "object"}}


def test_ga_default_payload_exactly() -> None:
    assert build_session_payload(SessionSettings(instructions="Be brief."), "ga") == {
        "type": "realtime",
        "instructions": "Be brief.",
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {"model": "gpt-4o-mini-transcribe"},
                "noise_reduction": None,
                "turn_detection": {
                    "type": "server_vad",
                    "create_response": True,
                    "interrupt_response": True,
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 500,
                },
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy"},
        },
        "max_output_tokens": "inf",
        "tool_choice": "auto",
        "tools": [],
    }


def test_beta_default_payload_exactly() -> None:
    assert build_session_payload(SessionSettings(instructions="Be brief."), "beta") == {
        "modalities": ["text", "audio"],
        "instructions": "Be brief.",
        "input_audio_format": "pcm16",
        "output_audio_format": "pcm16",
        "input_audio_transcription": {"model": "gpt-4o-mini-transcribe"},
        "turn_detection": {
            "type": "server_vad",
            "create_response": True,
            "interrupt_response": True,
            "threshold": 0.5,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 500,
        },
        "tools": [],
        "tool_choice": "auto",
        "max_response_output_tokens": "inf",
        "voice": "alloy",
    }


def test_ga_full_payload_exactly() -> None:
    settings = SessionSettings(
        voice="marin",
        output_modalities=("audio",),
        input_format="g711_ulaw",
        output_format="g711_alaw",
        transcription_model="whisper-1",
        transcription_language="fr",
        noise_reduction="far_field",
        turn_detection=TurnDetection("semantic_vad", eagerness="high", create_response=False),
        speed=1.25,
        max_output_tokens=800,
        tool_choice="get_time",
    )
    assert build_session_payload(settings, "ga", [TOOL]) == {
        "type": "realtime",
        "instructions": "",
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "format": {"type": "audio/pcmu"},
                "transcription": {"model": "whisper-1", "language": "fr"},
                "noise_reduction": {"type": "far_field"},
                "turn_detection": {
                    "type": "semantic_vad",
                    "create_response": False,
                    "interrupt_response": True,
                    "eagerness": "high",
                },
            },
            "output": {"format": {"type": "audio/pcma"}, "voice": "marin", "speed": 1.25},
        },
        "max_output_tokens": 800,
        "tool_choice": {"type": "function", "name": "get_time"},
        "tools": [TOOL],
    }


def test_beta_full_payload_exactly() -> None:
    settings = SessionSettings(
        voice="verse",
        output_modalities=("text",),
        input_format="g711_alaw",
        output_format="g711_ulaw",
        transcription_model=None,
        noise_reduction="near_field",
        turn_detection=TurnDetection("none"),
        speed=0.5,
        max_output_tokens=42,
        tool_choice="get_time",
    )
    assert build_session_payload(settings, "beta", [TOOL]) == {
        "modalities": ["text"],
        "instructions": "",
        "input_audio_format": "g711_alaw",
        "output_audio_format": "g711_ulaw",
        "input_audio_transcription": None,
        "turn_detection": None,
        "tools": [TOOL],
        "tool_choice": "get_time",  # beta's tool_choice is a string
        "max_response_output_tokens": 42,
        "input_audio_noise_reduction": {"type": "near_field"},
        "voice": "verse",
        "speed": 0.5,
    }


@pytest.mark.parametrize(
    ("modalities", "ga", "beta"),
    [
        (("audio",), ["audio"], ["text", "audio"]),
        (("text",), ["text"], ["text"]),
        (("audio", "text"), ["audio"], ["text", "audio"]),
        (("text", "audio"), ["audio"], ["text", "audio"]),
    ],
)
def test_output_modalities_per_protocol(modalities: Any, ga: list[str], beta: list[str]) -> None:
    """GA refuses audio+text together (audio comes with its transcript); beta has no audio-only mode."""
    settings = SessionSettings(output_modalities=modalities)
    ga_payload = build_session_payload(settings, "ga")
    beta_payload = build_session_payload(settings, "beta")
    assert ga_payload["output_modalities"] == ga
    assert "modalities" not in ga_payload
    assert beta_payload["modalities"] == beta
    assert "output_modalities" not in beta_payload


def test_ga_has_no_flat_beta_fields_and_beta_no_nested_ga_fields() -> None:
    ga = build_session_payload(SessionSettings(noise_reduction="near_field", speed=1.0), "ga")
    beta = build_session_payload(SessionSettings(noise_reduction="near_field", speed=1.0), "beta")
    assert set(ga) == {
        "type",
        "instructions",
        "output_modalities",
        "audio",
        "max_output_tokens",
        "tool_choice",
        "tools",
    }
    assert set(ga["audio"]) == {"input", "output"}
    assert set(beta).isdisjoint({"type", "audio", "output_modalities", "max_output_tokens"})


@pytest.mark.parametrize("protocol", ["ga", "beta"])
def test_turn_detection_none_is_sent_as_null(protocol: Any) -> None:
    payload = build_session_payload(SessionSettings(turn_detection=TurnDetection("none")), protocol)
    td = payload["audio"]["input"]["turn_detection"] if protocol == "ga" else payload["turn_detection"]
    assert td is None


def test_server_vad_wire() -> None:
    td = TurnDetection(
        "server_vad", threshold=0.8, prefix_padding_ms=100, silence_duration_ms=900, idle_timeout_ms=7000
    )
    assert td.to_wire() == {
        "type": "server_vad",
        "create_response": True,
        "interrupt_response": True,
        "threshold": 0.8,
        "prefix_padding_ms": 100,
        "silence_duration_ms": 900,
        "idle_timeout_ms": 7000,
    }


def test_semantic_vad_wire_has_no_server_vad_fields() -> None:
    td = TurnDetection("semantic_vad", threshold=0.8, eagerness="low", interrupt_response=False, idle_timeout_ms=7000)
    assert td.to_wire() == {
        "type": "semantic_vad",
        "create_response": True,
        "interrupt_response": False,
        "eagerness": "low",
    }


def test_idle_timeout_is_ga_only() -> None:
    settings = SessionSettings(turn_detection=TurnDetection(idle_timeout_ms=5000))
    assert build_session_payload(settings, "ga")["audio"]["input"]["turn_detection"]["idle_timeout_ms"] == 5000
    assert "idle_timeout_ms" not in build_session_payload(settings, "beta")["turn_detection"]


@pytest.mark.parametrize("protocol", ["ga", "beta"])
def test_include_voice_false_omits_the_voice(protocol: Any) -> None:
    payload = build_session_payload(SessionSettings(voice="cedar", speed=1.1), protocol, include_voice=False)
    if protocol == "ga":
        assert payload["audio"]["output"] == {"format": {"type": "audio/pcm", "rate": 24000}, "speed": 1.1}
    else:
        assert "voice" not in payload
        assert payload["speed"] == 1.1
    assert "cedar" not in repr(payload)


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_tool_choice_modes_are_strings_in_both_protocols(choice: str) -> None:
    settings = SessionSettings(tool_choice=choice)
    assert build_session_payload(settings, "ga")["tool_choice"] == choice
    assert build_session_payload(settings, "beta")["tool_choice"] == choice


def test_tools_are_passed_through() -> None:
    tools = [TOOL, {**TOOL, "name": "calculator"}]
    assert build_session_payload(SessionSettings(), "ga", tools)["tools"] == tools
    assert build_session_payload(SessionSettings(), "beta", tools)["tools"] == tools
    assert build_session_payload(SessionSettings(), "ga", None)["tools"] == []


def test_transcription_off_is_null() -> None:
    settings = SessionSettings(transcription_model=None, transcription_language="en")
    assert build_session_payload(settings, "ga")["audio"]["input"]["transcription"] is None
    assert build_session_payload(settings, "beta")["input_audio_transcription"] is None
    empty = SessionSettings(transcription_model="")
    assert build_session_payload(empty, "ga")["audio"]["input"]["transcription"] is None


def test_noise_reduction_off() -> None:
    ga = build_session_payload(SessionSettings(noise_reduction=None), "ga")
    beta = build_session_payload(SessionSettings(noise_reduction=None), "beta")
    assert ga["audio"]["input"]["noise_reduction"] is None
    assert "input_audio_noise_reduction" not in beta


def test_extra_is_deep_merged() -> None:
    extra = {
        "truncation": "disabled",
        "audio": {"input": {"noise_reduction": {"type": "near_field"}, "transcription": {"prompt": "names"}}},
    }
    settings = SessionSettings(transcription_language="en", extra=extra)
    payload = build_session_payload(settings, "ga")
    assert payload["truncation"] == "disabled"
    assert payload["audio"]["input"]["noise_reduction"] == {"type": "near_field"}
    assert payload["audio"]["input"]["transcription"] == {
        "model": "gpt-4o-mini-transcribe",
        "language": "en",
        "prompt": "names",
    }
    assert payload["audio"]["output"]["voice"] == "alloy"  # siblings are kept


def test_extra_overrides_a_scalar_and_is_copied() -> None:
    extra: dict[str, Any] = {"temperature": 0.6, "turn_detection": {"silence_duration_ms": 900}}
    settings = SessionSettings(extra=extra)
    payload = build_session_payload(settings, "beta")
    assert payload["temperature"] == 0.6
    assert payload["turn_detection"]["silence_duration_ms"] == 900
    assert payload["turn_detection"]["threshold"] == 0.5
    payload["turn_detection"]["silence_duration_ms"] = 1
    assert extra == {"temperature": 0.6, "turn_detection": {"silence_duration_ms": 900}}


def test_payloads_do_not_share_the_format_constants() -> None:
    first = build_session_payload(SessionSettings(), "ga")
    first["audio"]["input"]["format"]["rate"] = 8000
    second = build_session_payload(SessionSettings(), "ga")
    assert second["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert second["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (SessionSettings(model=" "), "the model name is empty"),
        (SessionSettings(voice=""), "the voice is empty"),
        (SessionSettings(output_modalities=()), "output modalities must be audio and/or text"),
        (SessionSettings(output_modalities=("video",)), "output modalities must be audio and/or text"),  # type: ignore[arg-type]
        (SessionSettings(input_format="pcm24"), "the input audio format must be one of pcm16, g711_ulaw, g711_alaw"),  # type: ignore[arg-type]
        (SessionSettings(output_format="audio/pcm"), "the output audio format must be one of pcm16"),  # type: ignore[arg-type]
        (SessionSettings(noise_reduction="strong"), "noise reduction must be near_field, far_field or off"),  # type: ignore[arg-type]
        (SessionSettings(speed=0.2), "the speech speed must be between 0.25 and 1.5"),
        (SessionSettings(speed=1.51), "the speech speed must be between 0.25 and 1.5"),
        (SessionSettings(max_output_tokens=0), "max output tokens must be between 1 and 4096, or inf"),
        (SessionSettings(max_output_tokens=4097), "max output tokens must be between 1 and 4096, or inf"),
        (SessionSettings(max_output_tokens="100"), "max output tokens must be between 1 and 4096, or inf"),  # type: ignore[arg-type]
        (SessionSettings(max_output_tokens=True), "max output tokens must be between 1 and 4096, or inf"),
        (SessionSettings(tool_choice="  "), "tool choice must be auto, none, required or a tool name"),
        (SessionSettings(turn_detection=TurnDetection("push_to_talk")), "turn detection must be one of"),  # type: ignore[arg-type]
        (SessionSettings(turn_detection=TurnDetection(threshold=1.5)), "the VAD threshold must be between 0 and 1"),
        (SessionSettings(turn_detection=TurnDetection(threshold=-0.1)), "the VAD threshold must be between 0 and 1"),
        (SessionSettings(turn_detection=TurnDetection(prefix_padding_ms=-1)), "cannot be negative"),
        (SessionSettings(turn_detection=TurnDetection(silence_duration_ms=-1)), "cannot be negative"),
        (
            SessionSettings(turn_detection=TurnDetection(eagerness="eager")),  # type: ignore[arg-type]
            "eagerness must be low, medium, high or auto",
        ),
    ],
)
@pytest.mark.parametrize("protocol", ["ga", "beta"])
def test_invalid_settings_raise_a_clear_error(settings: SessionSettings, message: str, protocol: Any) -> None:
    with pytest.raises(SettingsError) as info:
        build_session_payload(settings, protocol)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "settings",
    [
        SessionSettings(speed=0.25),
        SessionSettings(speed=1.5),
        SessionSettings(max_output_tokens=1),
        SessionSettings(max_output_tokens=4096),
        SessionSettings(turn_detection=TurnDetection(threshold=0.0)),
        SessionSettings(turn_detection=TurnDetection(threshold=1.0)),
        SessionSettings(tool_choice="a_tool"),
    ],
)
def test_boundary_values_are_accepted(settings: SessionSettings) -> None:
    settings.validate()


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


def test_vad_enabled() -> None:
    assert SessionSettings().vad_enabled
    assert SessionSettings(turn_detection=TurnDetection("semantic_vad")).vad_enabled
    assert not SessionSettings(turn_detection=TurnDetection("none")).vad_enabled
