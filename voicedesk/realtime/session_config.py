"""The model's settings, and their ``session.update`` payload in the GA (nested) or beta (flat) shape."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

from voicedesk.realtime.events import JsonDict, ProtocolVersion

AudioFormat = Literal["pcm16", "g711_ulaw", "g711_alaw"]
TurnDetectionType = Literal["server_vad", "semantic_vad", "none"]
Eagerness = Literal["low", "medium", "high", "auto"]
NoiseReduction = Literal["near_field", "far_field"]
Modality = Literal["audio", "text"]

AUDIO_FORMATS: tuple[AudioFormat, ...] = ("pcm16", "g711_ulaw", "g711_alaw")
TURN_DETECTION_TYPES: tuple[TurnDetectionType, ...] = ("server_vad", "semantic_vad", "none")
VOICES = ("alloy", "ash", "ballad", "cedar", "coral", "echo", "marin", "sage", "shimmer", "verse")

_GA_FORMATS: dict[AudioFormat, JsonDict] = {
    "pcm16": {"type": "audio/pcm", "rate": 24000},
    "g711_ulaw": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"},
}


class SettingsError(ValueError):
    """A setting has a value the service would refuse; the message names the setting."""


@dataclass(frozen=True, slots=True)
class TurnDetection:
    type: TurnDetectionType = "server_vad"
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    eagerness: Eagerness = "auto"
    create_response: bool = True
    interrupt_response: bool = True
    idle_timeout_ms: int | None = None

    def validate(self) -> None:
        if self.type not in TURN_DETECTION_TYPES:
            raise SettingsError(f"turn detection must be one of {', '.join(TURN_DETECTION_TYPES)}")
        if not 0.0 <= self.threshold <= 1.0:
            raise SettingsError("the VAD threshold must be between 0 and 1")
        if self.prefix_padding_ms < 0 or self.silence_duration_ms < 0:
            raise SettingsError("VAD padding and silence durations cannot be negative")
        if self.eagerness not in ("low", "medium", "high", "auto"):
            raise SettingsError("semantic VAD eagerness must be low, medium, high or auto")

    def to_wire(self) -> JsonDict | None:
        if self.type == "none":
            return None
        wire: JsonDict = {
            "type": self.type,
            "create_response": self.create_response,
            "interrupt_response": self.interrupt_response,
        }
        if self.type == "server_vad":
            wire |= {
                "threshold": self.threshold,
                "prefix_padding_ms": self.prefix_padding_ms,
                "silence_duration_ms": self.silence_duration_ms,
            }
            if self.idle_timeout_ms is not None:
                wire["idle_timeout_ms"] = self.idle_timeout_ms
        else:
            wire["eagerness"] = self.eagerness
        return wire


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """Everything the model is told in ``session.update``; tools are added by the controller."""

    model: str = "gpt-realtime"
    voice: str = "alloy"
    instructions: str = ""
    output_modalities: tuple[Modality, ...] = ("audio",)
    input_format: AudioFormat = "pcm16"
    output_format: AudioFormat = "pcm16"
    transcription_model: str | None = "gpt-4o-mini-transcribe"
    transcription_language: str | None = None
    noise_reduction: NoiseReduction | None = None
    turn_detection: TurnDetection = field(default_factory=TurnDetection)
    speed: float | None = None
    max_output_tokens: int | Literal["inf"] = "inf"
    tool_choice: str = "auto"
    extra: dict[str, Any] = field(default_factory=dict)
    """Other session fields, deep-merged into the payload as given (the target protocol's shape)."""

    def validate(self) -> None:
        if not self.model.strip():
            raise SettingsError("the model name is empty")
        if not self.voice.strip():
            raise SettingsError("the voice is empty")
        if not self.output_modalities or any(m not in ("audio", "text") for m in self.output_modalities):
            raise SettingsError("output modalities must be audio and/or text")
        for name, value in (("input", self.input_format), ("output", self.output_format)):
            if value not in AUDIO_FORMATS:
                raise SettingsError(f"the {name} audio format must be one of {', '.join(AUDIO_FORMATS)}")
        if self.noise_reduction not in (None, "near_field", "far_field"):
            raise SettingsError("noise reduction must be near_field, far_field or off")
        if self.speed is not None and not 0.25 <= self.speed <= 1.5:
            raise SettingsError("the speech speed must be between 0.25 and 1.5")
        if self.max_output_tokens != "inf" and (
            isinstance(self.max_output_tokens, bool)
            or not isinstance(self.max_output_tokens, int)
            or not 1 <= self.max_output_tokens <= 4096
        ):
            raise SettingsError("max output tokens must be between 1 and 4096, or inf")
        if self.tool_choice not in ("auto", "none", "required") and not self.tool_choice.strip():
            raise SettingsError("tool choice must be auto, none, required or a tool name")
        self.turn_detection.validate()

    @property
    def vad_enabled(self) -> bool:
        return self.turn_detection.type != "none"


def _tool_choice_wire(choice: str) -> str | JsonDict:
    if choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "name": choice}


def _deep_merge(base: JsonDict, extra: dict[str, Any]) -> JsonDict:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def build_session_payload(
    settings: SessionSettings,
    protocol: ProtocolVersion,
    tools: list[JsonDict] | None = None,
    *,
    include_voice: bool = True,
) -> JsonDict:
    """The ``session`` object of a ``session.update`` for ``protocol``.

    ``include_voice`` is False once the assistant has spoken in this session: the service refuses a
    voice change after audio output, so an unchanged voice is simply left out.
    """
    settings.validate()
    payload = (
        _ga_payload(settings, tools or [], include_voice)
        if protocol == "ga"
        else _beta_payload(settings, tools or [], include_voice)
    )
    return _deep_merge(payload, settings.extra)


def _transcription(settings: SessionSettings) -> JsonDict | None:
    if not settings.transcription_model:
        return None
    wire: JsonDict = {"model": settings.transcription_model}
    if settings.transcription_language:
        wire["language"] = settings.transcription_language
    return wire


def _ga_payload(settings: SessionSettings, tools: list[JsonDict], include_voice: bool) -> JsonDict:
    output: JsonDict = {"format": dict(_GA_FORMATS[settings.output_format])}
    if include_voice:
        output["voice"] = settings.voice
    if settings.speed is not None:
        output["speed"] = settings.speed
    # GA refuses audio and text together: audio output always comes with its transcript anyway.
    modalities = ["audio"] if "audio" in settings.output_modalities else ["text"]
    return {
        "type": "realtime",
        "instructions": settings.instructions,
        "output_modalities": modalities,
        "audio": {
            "input": {
                "format": dict(_GA_FORMATS[settings.input_format]),
                "transcription": _transcription(settings),
                "noise_reduction": ({"type": settings.noise_reduction} if settings.noise_reduction else None),
                "turn_detection": settings.turn_detection.to_wire(),
            },
            "output": output,
        },
        "max_output_tokens": settings.max_output_tokens,
        "tool_choice": _tool_choice_wire(settings.tool_choice),
        "tools": tools,
    }


def _beta_payload(settings: SessionSettings, tools: list[JsonDict], include_voice: bool) -> JsonDict:
    # Beta has no audio-only mode: audio output always comes with its text transcript.
    modalities = ["text", "audio"] if "audio" in settings.output_modalities else ["text"]
    turn_detection = settings.turn_detection.to_wire()
    if turn_detection is not None:
        turn_detection.pop("idle_timeout_ms", None)  # GA only; beta refuses unknown parameters
    payload: JsonDict = {
        "modalities": modalities,
        "instructions": settings.instructions,
        "input_audio_format": settings.input_format,
        "output_audio_format": settings.output_format,
        "input_audio_transcription": _transcription(settings),
        "turn_detection": turn_detection,
        "tools": tools,
        # Beta's tool_choice is a string: auto, none, required, or the name of the function to call.
        "tool_choice": settings.tool_choice,
        "max_response_output_tokens": settings.max_output_tokens,
    }
    if settings.noise_reduction:
        payload["input_audio_noise_reduction"] = {"type": settings.noise_reduction}
    if include_voice:
        payload["voice"] = settings.voice
    if settings.speed is not None:
        payload["speed"] = settings.speed
    return payload
