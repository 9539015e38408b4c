"""``response.create`` parameters: validated, then merged over the session configuration."""

from __future__ import annotations

import copy
from typing import Any

from voicedesk.local import errors
from voicedesk.local.codec import Format
from voicedesk.local.conversation import Conversation, StoredItem, parse_client_item
from voicedesk.local.responses import ResponseRequest
from voicedesk.local.session_config import (
    VOICES,
    SessionConfig,
    parse_max_tokens,
    parse_output_modalities,
    parse_tool_choice,
    parse_tools,
)
from voicedesk.local.wire import Dialect, IdMaker, JsonDict

_GA_KEYS = {
    "audio", "conversation", "input", "instructions", "max_output_tokens", "metadata", "output_modalities",
    "prompt", "tool_choice", "tools", "parallel_tool_calls", "reasoning",
}  # fmt: skip
_BETA_KEYS = {
    "modalities", "instructions", "voice", "output_audio_format", "tools", "tool_choice", "temperature",
    "max_response_output_tokens", "max_output_tokens", "conversation", "metadata", "input",
}  # fmt: skip
_GA_FORMATS: dict[str, Format] = {"audio/pcm": "pcm16", "audio/pcmu": "pcmu", "audio/pcma": "pcma"}
_BETA_FORMATS: dict[str, Format] = {"pcm16": "pcm16", "g711_ulaw": "pcmu", "g711_alaw": "pcma"}


def parse_request(
    raw: Any, config: SessionConfig, *, conversation: Conversation, dialect: Dialect, ids: IdMaker
) -> ResponseRequest:
    request = ResponseRequest(
        model=config.model,
        instructions=config.instructions,
        output_modalities=list(config.output_modalities),
        in_conversation=True,
        metadata=None,
        tools=copy.deepcopy(config.tools),
        tool_choice=copy.deepcopy(config.tool_choice),
        max_output_tokens=config.max_output_tokens,
        voice=config.voice_name,
        speed=config.speed,
        output_format=config.output_format,
        temperature=config.temperature,
    )
    if raw is None:
        return request
    if not isinstance(raw, dict):
        raise errors.invalid_type("response", raw, "an object")
    allowed = _BETA_KEYS if dialect.beta else _GA_KEYS
    for key in raw:
        if key not in allowed:
            raise errors.unknown_parameter(f"response.{key}")
    if "instructions" in raw:
        if not isinstance(raw["instructions"], str):
            raise errors.invalid_type("response.instructions", raw["instructions"], "a string")
        request.instructions = raw["instructions"]
    if "conversation" in raw:
        if raw["conversation"] not in ("auto", "none"):
            raise errors.invalid_value("response.conversation", raw["conversation"], ["auto", "none"])
        request.in_conversation = raw["conversation"] == "auto"
    if "metadata" in raw:
        request.metadata = _metadata(raw["metadata"])
    if "tools" in raw:
        request.tools = parse_tools(raw["tools"], "response.tools")
    if "tool_choice" in raw:
        request.tool_choice = parse_tool_choice(raw["tool_choice"], "response.tool_choice")
    for key in ("max_output_tokens", "max_response_output_tokens"):
        if key in raw:
            request.max_output_tokens = parse_max_tokens(raw[key], f"response.{key}")
    if dialect.beta:
        _beta_overrides(request, raw)
    else:
        _ga_overrides(request, raw)
    if "input" in raw:
        request.context = _input(raw["input"], conversation=conversation, dialect=dialect, ids=ids, config=config)
    return request


def _ga_overrides(request: ResponseRequest, raw: JsonDict) -> None:
    if "output_modalities" in raw:
        request.output_modalities = parse_output_modalities(raw["output_modalities"], "response.output_modalities")
    audio = raw.get("audio")
    if audio is None:
        return
    if not isinstance(audio, dict) or not isinstance(audio.get("output", {}), dict):
        raise errors.invalid_type("response.audio", audio, "an object")
    out = audio.get("output", {})
    if "voice" in out:
        if out["voice"] not in VOICES:
            raise errors.invalid_value("response.audio.output.voice", out["voice"], VOICES)
        request.voice = out["voice"]
    if "format" in out:
        fmt = out["format"]
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind not in _GA_FORMATS:
            raise errors.invalid_value("response.audio.output.format.type", kind, list(_GA_FORMATS))
        request.output_format = _GA_FORMATS[kind]


def _beta_overrides(request: ResponseRequest, raw: JsonDict) -> None:
    if "modalities" in raw:
        mods = raw["modalities"]
        if not isinstance(mods, list) or sorted(mods) not in (["text"], ["audio", "text"]):
            raise errors.invalid_modalities(mods, "response.modalities")
        request.output_modalities = ["text"] if mods == ["text"] else ["audio"]
    if "voice" in raw:
        if raw["voice"] not in VOICES:
            raise errors.invalid_value("response.voice", raw["voice"], VOICES)
        request.voice = raw["voice"]
    if "output_audio_format" in raw:
        if raw["output_audio_format"] not in _BETA_FORMATS:
            raise errors.invalid_value("response.output_audio_format", raw["output_audio_format"], list(_BETA_FORMATS))
        request.output_format = _BETA_FORMATS[raw["output_audio_format"]]
    if "temperature" in raw:
        value = raw["temperature"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise errors.invalid_type("response.temperature", value, "a number")
        request.temperature = float(value)


def _metadata(value: Any) -> JsonDict | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > 16:
        raise errors.invalid_type("response.metadata", value, "an object with at most 16 keys")
    for k, v in value.items():
        if not isinstance(v, str):
            raise errors.invalid_type(f"response.metadata.{k}", v, "a string")
    return dict(value)


def _input(
    value: Any, *, conversation: Conversation, dialect: Dialect, ids: IdMaker, config: SessionConfig
) -> list[StoredItem]:
    """Out-of-band context: inline items and references to items already in the conversation."""
    if not isinstance(value, list):
        raise errors.invalid_type("response.input", value, "an array")
    context: list[StoredItem] = []
    for i, raw in enumerate(value):
        param = f"response.input[{i}]"
        if isinstance(raw, dict) and raw.get("type") == "item_reference":
            ref = raw.get("id")
            found = conversation.get(ref) if isinstance(ref, str) else None
            if found is None:
                raise errors.item_not_found(str(ref), action="retrieve", param=f"{param}.id")
            context.append(found)
            continue
        context.append(
            parse_client_item(
                raw,
                dialect=dialect,
                ids=ids,
                conversation=conversation,
                input_format=config.input_format,
                param=param,
                check_calls=False,
            )
        )
    return context
