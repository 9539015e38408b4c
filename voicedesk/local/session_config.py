"""The effective session configuration: defaults, ``session.update`` validation and merging, rendering.

One canonical :class:`SessionConfig` is rendered either in the GA shape (``type: realtime``, nested
``audio.input`` / ``audio.output``, ``output_modalities``) or the beta shape (flat ``modalities``,
``input_audio_format``, ``voice``...). Updates are validated as a whole before anything changes, like the
real service, which rejects an update with one bad field without applying the others.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

from voicedesk.local import errors
from voicedesk.local.codec import Format
from voicedesk.local.errors import ClientError
from voicedesk.local.wire import JsonDict

VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")
DEFAULT_INSTRUCTIONS = (
    "You are the voicedesk local test server. Answer plainly and briefly, and call the session's tools "
    "when a request matches one."
)
BETA_MODELS = (
    "gpt-realtime", "gpt-realtime-2025-08-28", "gpt-4o-realtime-preview",
    "gpt-4o-realtime-preview-2024-10-01", "gpt-4o-realtime-preview-2024-12-17",
    "gpt-4o-realtime-preview-2025-06-03", "gpt-4o-mini-realtime-preview",
    "gpt-4o-mini-realtime-preview-2024-12-17",
)  # fmt: skip
SEMANTIC_SILENCE_MS = {"low": 800, "medium": 500, "auto": 500, "high": 250}

_GA_FORMATS: dict[str, Format] = {"audio/pcm": "pcm16", "audio/pcmu": "pcmu", "audio/pcma": "pcma"}
_BETA_FORMATS: dict[str, Format] = {"pcm16": "pcm16", "g711_ulaw": "pcmu", "g711_alaw": "pcma"}
_GA_KEYS = {
    "type", "model", "instructions", "output_modalities", "audio", "tools", "tool_choice",
    "max_output_tokens", "tracing", "truncation", "include", "prompt", "parallel_tool_calls", "reasoning",
}  # fmt: skip
_BETA_KEYS = {
    "model", "modalities", "instructions", "voice", "speed", "input_audio_format", "output_audio_format",
    "input_audio_transcription", "input_audio_noise_reduction", "turn_detection", "tools", "tool_choice",
    "temperature", "max_response_output_tokens", "tracing", "include",
}  # fmt: skip
_SERVER_VAD_KEYS = {
    "type", "threshold", "prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms",
    "create_response", "interrupt_response",
}  # fmt: skip
_SEMANTIC_VAD_KEYS = {"type", "eagerness", "create_response", "interrupt_response"}
_TRANSCRIPTION_KEYS = {"model", "language", "prompt", "delay", "keywords", "languages"}


def default_turn_detection(kind: str = "server_vad") -> JsonDict:
    if kind == "semantic_vad":
        return {"type": "semantic_vad", "eagerness": "auto", "create_response": True, "interrupt_response": True}
    return {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    }


@dataclass(slots=True)
class SessionConfig:
    id: str
    model: str
    expires_at: int
    instructions: str = DEFAULT_INSTRUCTIONS
    output_modalities: list[str] = field(default_factory=lambda: ["audio"])
    voice: str | JsonDict = "alloy"
    speed: float = 1.0
    input_format: Format = "pcm16"
    output_format: Format = "pcm16"
    transcription: JsonDict | None = None
    noise_reduction: JsonDict | None = None
    turn_detection: JsonDict | None = field(default_factory=default_turn_detection)
    tools: list[JsonDict] = field(default_factory=list)
    tool_choice: str | JsonDict = "auto"
    max_output_tokens: int | str = "inf"
    temperature: float = 0.8
    tracing: Any = None
    truncation: Any = "auto"
    include: Any = None
    prompt: Any = None

    # --- what the rest of the server asks of the configuration ---

    @property
    def voice_name(self) -> str:
        return self.voice if isinstance(self.voice, str) else str(self.voice.get("id", "custom"))

    def vad_settings(self) -> tuple[float, int, int] | None:
        """(threshold, prefix_padding_ms, silence_duration_ms), or None without turn detection."""
        td = self.turn_detection
        if td is None:
            return None
        if td["type"] == "semantic_vad":
            return 0.5, 300, SEMANTIC_SILENCE_MS.get(str(td.get("eagerness", "auto")), 500)
        return float(td["threshold"]), int(td["prefix_padding_ms"]), int(td["silence_duration_ms"])

    def turn_flag(self, name: str) -> bool:
        return bool(self.turn_detection and self.turn_detection.get(name, True))

    # --- rendering ---

    def render(self, beta: bool) -> JsonDict:
        return self._render_beta() if beta else self._render_ga()

    def _render_ga(self) -> JsonDict:
        return {
            "type": "realtime",
            "object": "realtime.session",
            "id": self.id,
            "model": self.model,
            "output_modalities": list(self.output_modalities),
            "instructions": self.instructions,
            "tools": copy.deepcopy(self.tools),
            "tool_choice": copy.deepcopy(self.tool_choice),
            "max_output_tokens": self.max_output_tokens,
            "tracing": self.tracing,
            "truncation": self.truncation,
            "prompt": self.prompt,
            "expires_at": self.expires_at,
            "include": self.include,
            "audio": {
                "input": {
                    "format": ga_format(self.input_format),
                    "transcription": copy.deepcopy(self.transcription),
                    "noise_reduction": copy.deepcopy(self.noise_reduction),
                    "turn_detection": copy.deepcopy(self.turn_detection),
                },
                "output": {
                    "format": ga_format(self.output_format),
                    "voice": copy.deepcopy(self.voice),
                    "speed": self.speed,
                },
            },
        }

    def _render_beta(self) -> JsonDict:
        td = copy.deepcopy(self.turn_detection)
        if td is not None:
            td.pop("idle_timeout_ms", None)
        return {
            "id": self.id,
            "object": "realtime.session",
            "model": self.model if self.model in BETA_MODELS else "gpt-4o-realtime-preview",
            "expires_at": self.expires_at,
            "modalities": ["text"] if self.output_modalities == ["text"] else ["audio", "text"],
            "instructions": self.instructions,
            "voice": self.voice_name,
            "speed": self.speed,
            "input_audio_format": beta_format(self.input_format),
            "output_audio_format": beta_format(self.output_format),
            "input_audio_transcription": copy.deepcopy(self.transcription),
            "input_audio_noise_reduction": copy.deepcopy(self.noise_reduction),
            "turn_detection": td,
            "tools": copy.deepcopy(self.tools),
            "tool_choice": copy.deepcopy(self.tool_choice),
            "temperature": self.temperature,
            "max_response_output_tokens": self.max_output_tokens,
            "tracing": self.tracing,
        }


def ga_format(fmt: Format) -> JsonDict:
    if fmt == "pcm16":
        return {"type": "audio/pcm", "rate": 24000}
    return {"type": f"audio/{fmt}"}


def beta_format(fmt: Format) -> str:
    return next(k for k, v in _BETA_FORMATS.items() if v == fmt)


def updated(config: SessionConfig, session: Any, *, beta: bool, assistant_audio: bool) -> SessionConfig:
    """A new config with ``session`` (the body of session.update) applied; raises ClientError."""
    if not isinstance(session, dict):
        raise errors.invalid_type("session", session, "an object")
    new = replace(config, tools=list(config.tools), output_modalities=list(config.output_modalities))
    if beta:
        _apply_beta(new, session)
    else:
        _apply_ga(new, session)
    if assistant_audio and new.voice != config.voice:
        raise errors.cannot_update_voice()
    return new


def _apply_ga(new: SessionConfig, s: JsonDict) -> None:
    for key in s:
        if key not in _GA_KEYS:
            raise errors.unknown_parameter(f"session.{key}")
    if "type" not in s:
        raise errors.missing_parameter("session.type")
    if s["type"] == "transcription":
        raise ClientError(
            "Passing a transcription session update event to a realtime session is not allowed.",
            code="invalid_parameter",
            param="session.type",
        )
    if s["type"] != "realtime":
        raise errors.invalid_value("session.type", s["type"], ["realtime", "transcription"])
    _common(new, s, "session", tokens_key="max_output_tokens")
    if "output_modalities" in s:
        new.output_modalities = parse_output_modalities(s["output_modalities"], "session.output_modalities")
    audio = s.get("audio")
    if audio is None:
        return
    _require_object(audio, "session.audio")
    for key in audio:
        if key not in ("input", "output"):
            raise errors.unknown_parameter(f"session.audio.{key}")
    inp = audio.get("input")
    if inp is not None:
        _require_object(inp, "session.audio.input")
        for key in inp:
            if key not in ("format", "transcription", "noise_reduction", "turn_detection"):
                raise errors.unknown_parameter(f"session.audio.input.{key}")
        if "format" in inp:
            new.input_format = _ga_format(inp["format"], "session.audio.input.format")
        keys = tuple(k for k in ("transcription", "noise_reduction", "turn_detection") if k in inp)
        _audio_input(new, inp, "session.audio.input", keys)
    out = audio.get("output")
    if out is not None:
        _require_object(out, "session.audio.output")
        for key in out:
            if key not in ("format", "voice", "speed"):
                raise errors.unknown_parameter(f"session.audio.output.{key}")
        if "format" in out:
            new.output_format = _ga_format(out["format"], "session.audio.output.format")
        if "voice" in out:
            new.voice = _voice(out["voice"], "session.audio.output.voice", allow_custom=True)
        if "speed" in out:
            new.speed = _number(out["speed"], "session.audio.output.speed", 0.25, 1.5)


def _apply_beta(new: SessionConfig, s: JsonDict) -> None:
    for key in s:
        if key not in _BETA_KEYS:
            raise errors.unknown_parameter(f"session.{key}")
    _common(new, s, "session", tokens_key="max_response_output_tokens")
    if "modalities" in s:
        mods = s["modalities"]
        if not isinstance(mods, list) or sorted(mods) not in (["text"], ["audio", "text"]):
            raise ClientError(
                f"Invalid modalities: {mods}. Supported combinations are: ['text'] and ['audio', 'text'].",
                code="invalid_value",
                param="session.modalities",
            )
        new.output_modalities = ["text"] if mods == ["text"] else ["audio"]
    for key, attr in (("input_audio_format", "input_format"), ("output_audio_format", "output_format")):
        if key in s:
            if s[key] not in _BETA_FORMATS:
                raise errors.invalid_value(f"session.{key}", s[key], list(_BETA_FORMATS))
            setattr(new, attr, _BETA_FORMATS[s[key]])
    if "voice" in s:
        new.voice = _voice(s["voice"], "session.voice", allow_custom=False)
    if "speed" in s:
        new.speed = _number(s["speed"], "session.speed", 0.25, 1.5)
    if "temperature" in s:
        new.temperature = _number(s["temperature"], "session.temperature", 0.6, 1.2)
    renamed = {
        "input_audio_transcription": s.get("input_audio_transcription"),
        "input_audio_noise_reduction": s.get("input_audio_noise_reduction"),
        "turn_detection": s.get("turn_detection"),
    }
    present = {k: v for k, v in renamed.items() if k in s}
    _audio_input(new, present, "session", tuple(present))


def _common(new: SessionConfig, s: JsonDict, prefix: str, *, tokens_key: str) -> None:
    if "instructions" in s:
        if not isinstance(s["instructions"], str):
            raise errors.invalid_type(f"{prefix}.instructions", s["instructions"], "a string")
        new.instructions = s["instructions"]
    if "model" in s and not isinstance(s["model"], str):
        raise errors.invalid_type(f"{prefix}.model", s["model"], "a string")
    if "tools" in s:
        new.tools = parse_tools(s["tools"], f"{prefix}.tools")
    if "tool_choice" in s:
        new.tool_choice = parse_tool_choice(s["tool_choice"], f"{prefix}.tool_choice")
    if tokens_key in s:
        new.max_output_tokens = parse_max_tokens(s[tokens_key], f"{prefix}.{tokens_key}")
    for key in ("tracing", "truncation", "include", "prompt"):
        if key in s:
            setattr(new, key, copy.deepcopy(s[key]))


def _audio_input(new: SessionConfig, inp: JsonDict, prefix: str, keys: tuple[str, ...]) -> None:
    for key in keys:
        value = inp[key]
        param = f"{prefix}.{key}"
        if key in ("transcription", "input_audio_transcription"):
            new.transcription = _transcription(value, param)
        elif key in ("noise_reduction", "input_audio_noise_reduction"):
            if value is not None:
                _require_object(value, param)
                if value.get("type") not in ("near_field", "far_field"):
                    raise errors.invalid_value(f"{param}.type", value.get("type"), ["near_field", "far_field"])
            new.noise_reduction = copy.deepcopy(value)
        elif key == "turn_detection":
            new.turn_detection = parse_turn_detection(value, param, new.turn_detection)


def parse_turn_detection(value: Any, param: str, current: JsonDict | None) -> JsonDict | None:
    if value is None:
        return None
    _require_object(value, param)
    kind = value.get("type")
    if kind is None:
        raise errors.missing_parameter(f"{param}.type")
    if kind not in ("server_vad", "semantic_vad"):
        raise errors.invalid_value(f"{param}.type", kind, ["server_vad", "semantic_vad"])
    allowed = _SERVER_VAD_KEYS if kind == "server_vad" else _SEMANTIC_VAD_KEYS
    for key in value:
        if key not in allowed:
            raise errors.unknown_parameter(f"{param}.{key}")
    # Same kind: change only what was sent; new kind: start from that kind's defaults.
    result = dict(current) if current and current.get("type") == kind else default_turn_detection(kind)
    for key, v in value.items():
        p = f"{param}.{key}"
        if key == "threshold":
            result[key] = _number(v, p, 0.0, 1.0)
        elif key in ("prefix_padding_ms", "silence_duration_ms"):
            result[key] = _integer(v, p, 0)
        elif key == "idle_timeout_ms":
            result[key] = None if v is None else _integer(v, p, 0)
        elif key in ("create_response", "interrupt_response"):
            if not isinstance(v, bool):
                raise errors.invalid_type(p, v, "a boolean")
            result[key] = v
        elif key == "eagerness":
            if v not in SEMANTIC_SILENCE_MS:
                raise errors.invalid_value(p, v, list(SEMANTIC_SILENCE_MS))
            result[key] = v
    return result


def parse_output_modalities(value: Any, param: str) -> list[str]:
    """GA ``output_modalities`` (session or response): exactly ``["audio"]`` or ``["text"]``."""
    if value not in (["audio"], ["text"]):
        raise errors.invalid_modalities(value, param)
    return list(value)


def parse_tools(value: Any, param: str) -> list[JsonDict]:
    if not isinstance(value, list):
        raise errors.invalid_type(param, value, "an array")
    tools = []
    for i, tool in enumerate(value):
        _require_object(tool, f"{param}[{i}]")
        kind = tool.get("type", "function")
        if kind not in ("function", "mcp"):
            raise errors.invalid_value(f"{param}[{i}].type", kind, ["function", "mcp"])
        if kind == "function" and not isinstance(tool.get("name"), str):
            raise errors.missing_parameter(f"{param}[{i}].name")
        tools.append({"type": kind, **copy.deepcopy(tool)})
    return tools


def parse_tool_choice(value: Any, param: str) -> str | JsonDict:
    if value in ("auto", "none", "required"):
        return str(value)
    if isinstance(value, dict) and value.get("type") == "function":
        if not isinstance(value.get("name"), str):
            raise errors.missing_parameter(f"{param}.name")
        return copy.deepcopy(value)
    if isinstance(value, str) and value.strip():
        return {"type": "function", "name": value}  # the beta protocol names a forced tool by a bare string
    raise errors.invalid_value(param, value, ["auto", "none", "required"])


def parse_max_tokens(value: Any, param: str) -> int | str:
    if value == "inf":
        return "inf"
    return _integer(value, param, 1, 4096)


def _transcription(value: Any, param: str) -> JsonDict | None:
    if value is None:
        return None
    _require_object(value, param)
    for key in value:
        if key not in _TRANSCRIPTION_KEYS:
            raise errors.unknown_parameter(f"{param}.{key}")
    if "model" in value and not isinstance(value["model"], str):
        raise errors.invalid_type(f"{param}.model", value["model"], "a string")
    result: JsonDict = copy.deepcopy(value)
    return result


def _ga_format(value: Any, param: str) -> Format:
    _require_object(value, param)
    kind = value.get("type")
    if kind is None:
        raise errors.missing_parameter(f"{param}.type")
    if kind not in _GA_FORMATS:
        raise errors.invalid_value(f"{param}.type", kind, list(_GA_FORMATS))
    if kind == "audio/pcm" and value.get("rate", 24000) != 24000:
        raise errors.invalid_value(f"{param}.rate", value.get("rate"), ["24000"])
    return _GA_FORMATS[kind]


def _voice(value: Any, param: str, *, allow_custom: bool) -> str | JsonDict:
    if allow_custom and isinstance(value, dict) and isinstance(value.get("id"), str):
        return {"id": value["id"]}
    if value not in VOICES:
        raise errors.invalid_value(param, value, VOICES)
    return str(value)


def _require_object(value: Any, param: str) -> None:
    if not isinstance(value, dict):
        raise errors.invalid_type(param, value, "an object")


def _number(value: Any, param: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.invalid_type(param, value, "a number")
    if not low <= value <= high:
        raise errors.number_out_of_range(param, value, low, high)
    return float(value)


def _integer(value: Any, param: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.invalid_type(param, value, "an integer")
    if value < low or (high is not None and value > high):
        raise errors.number_out_of_range(param, value, low, high)
    return value
