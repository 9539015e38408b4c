"""The server's conversation: ordered items, client item validation, truncation, and the responder's view.

Items are stored GA-shaped (``output_audio`` / ``output_text`` content); the dialect renames on the way
out. Each stored item carries what the protocol does not show: what the model "heard" in user audio, the
user's audio itself, and for assistant audio the speech plan and how much of it was actually sent.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from voicedesk.audio.base import SAMPLE_RATE, ms_to_samples, samples_to_ms
from voicedesk.image_formats import DataUrlError, describe_size, parse_data_url, probe
from voicedesk.local import errors
from voicedesk.local.codec import Format, Pcm, decode_b64, encode_b64, to_pcm24
from voicedesk.local.responder import Turn
from voicedesk.local.voice import SpeechPlan
from voicedesk.local.wire import Dialect, IdMaker, JsonDict

MAX_ID_LENGTH = 32
_ITEM_KEYS = {"id", "type", "object", "status", "role", "content", "name", "call_id", "arguments", "output"}
_PART_TYPES = {
    ("user", False): ("input_text", "input_audio", "input_image"),
    ("system", False): ("input_text",),
    ("assistant", False): ("output_text", "output_audio"),
    ("user", True): ("input_text", "input_audio"),
    ("system", True): ("input_text",),
    ("assistant", True): ("text", "audio"),
}


@dataclass(eq=False, slots=True)
class StoredItem:
    item: JsonDict
    heard: str = ""  # what the model understood of user audio (transcript or a description)
    input_audio: Pcm | None = None
    plan: SpeechPlan | None = None  # assistant audio
    sent_samples: int = 0  # assistant audio sent (and, after a truncation, kept)
    images: tuple[str, ...] = ()  # what the model "sees" of each input_image ("a 2560×1440 PNG image, 1.2 MB")

    @property
    def id(self) -> str:
        return str(self.item["id"])


class Truncation(NamedTuple):
    """A truncation the server applied; compares equal to the tuple ``(item_id, audio_end_ms)``."""

    item_id: str
    audio_end_ms: int


def describe_audio(samples: int) -> str:
    return f"({samples / SAMPLE_RATE:.1f} seconds of speech)"


class Conversation:
    def __init__(self) -> None:
        self._items: list[StoredItem] = []

    @property
    def items(self) -> list[StoredItem]:
        return list(self._items)

    def get(self, item_id: str) -> StoredItem | None:
        return next((s for s in self._items if s.id == item_id), None)

    def last_id(self) -> str | None:
        return self._items[-1].id if self._items else None

    def insert(self, stored: StoredItem, after: str | None = None, *, explicit: bool = False) -> str | None:
        """Append, or insert after ``after`` when the client named a previous item; return the previous id."""
        if not explicit:
            previous = self.last_id()
            self._items.append(stored)
            return previous
        if after is None:
            self._items.insert(0, stored)
            return None
        position = next(i for i, s in enumerate(self._items) if s.id == after)
        self._items.insert(position + 1, stored)
        return after

    def delete(self, item_id: str) -> None:
        self._items = [s for s in self._items if s.id != item_id]

    def has_assistant_audio(self) -> bool:
        return any(s.plan is not None and s.sent_samples > 0 for s in self._items)

    def find_call(self, call_id: str) -> StoredItem | None:
        return next(
            (s for s in self._items if s.item.get("type") == "function_call" and s.item.get("call_id") == call_id),
            None,
        )

    def truncate(self, event: JsonDict) -> Truncation:
        item_id = event.get("item_id")
        if not isinstance(item_id, str):
            raise errors.missing_parameter("item_id")
        content_index = _required_int(event, "content_index")
        audio_end_ms = _required_int(event, "audio_end_ms")
        stored = self.get(item_id)
        if stored is None:
            raise errors.item_not_found(item_id, action="truncate")
        content = stored.item.get("content") or []
        if (
            stored.plan is None
            or content_index >= len(content)
            or content[content_index].get("type") != "output_audio"
            or stored.sent_samples == 0
        ):
            raise errors.not_truncatable()
        have_ms = samples_to_ms(stored.sent_samples)
        if audio_end_ms > have_ms:
            raise errors.audio_already_shorter(have_ms, audio_end_ms)
        cut = ms_to_samples(audio_end_ms)
        # The service drops the transcript the listener never heard: keep the words that had begun.
        heard = stored.plan.words[: stored.plan.words_started(cut)]
        content[content_index]["transcript"] = " ".join(heard)
        stored.sent_samples = cut
        return Truncation(item_id, audio_end_ms)

    def with_audio(self, stored: StoredItem, input_format: Format, output_format: Format) -> JsonDict:
        """The item as conversation.item.retrieved shows it: with its audio, base64 in the session format."""
        item = copy.deepcopy(stored.item)
        for part in item.get("content", []):
            if part.get("type") == "input_audio" and stored.input_audio is not None:
                part["audio"] = encode_b64(stored.input_audio, input_format)
            elif part.get("type") == "output_audio" and stored.plan is not None:
                part["audio"] = encode_b64(stored.plan.render(0, stored.sent_samples), output_format)
        return item


def turns_of(items: Sequence[StoredItem]) -> list[Turn]:
    turns: list[Turn] = []
    for stored in items:
        item = stored.item
        kind = item.get("type")
        if kind == "function_call":
            turns.append(Turn("function_call", str(item.get("arguments", "")), name=str(item.get("name"))))
        elif kind == "function_call_output":
            turns.append(Turn("function_call_output", str(item.get("output", ""))))
        elif kind == "message":
            role = item.get("role")
            parts = item.get("content") or []
            audio = any(p.get("type") == "input_audio" for p in parts)
            if role == "user" and audio:
                text = stored.heard
            else:
                text = " ".join(str(p.get("text") or p.get("transcript") or "") for p in parts).strip()
            if role in ("user", "assistant", "system"):
                turns.append(Turn(role, text, audio=audio, images=stored.images))
    return turns


def parse_client_item(
    raw: Any,
    *,
    dialect: Dialect,
    ids: IdMaker,
    conversation: Conversation,
    input_format: Format,
    param: str = "item",
    check_calls: bool = True,
) -> StoredItem:
    """Validate an item from conversation.item.create (or response.create input) into a StoredItem."""
    if not isinstance(raw, dict):
        raise errors.invalid_type(param, raw, "an object")
    for key in raw:
        if key not in _ITEM_KEYS:
            raise errors.unknown_parameter(f"{param}.{key}")
    item_id = raw.get("id")
    if item_id is not None:
        if not isinstance(item_id, str):
            raise errors.invalid_type(f"{param}.id", item_id, "a string")
        if len(item_id) > MAX_ID_LENGTH:
            raise errors.string_too_long(f"{param}.id", item_id, MAX_ID_LENGTH)
        if conversation.get(item_id) is not None:
            raise errors.duplicate_item_id(item_id)
    kind = raw.get("type", "message" if dialect.beta else None)
    if kind is None:
        raise errors.missing_parameter(f"{param}.type")
    base: JsonDict = {"id": item_id or ids.new("item"), "object": "realtime.item", "type": kind, "status": "completed"}
    if kind == "message":
        return _message(raw, base, dialect, input_format, param)
    if kind == "function_call":
        name, arguments = raw.get("name"), raw.get("arguments", "")
        if not isinstance(name, str):
            raise errors.missing_parameter(f"{param}.name")
        if not isinstance(arguments, str):
            raise errors.invalid_type(f"{param}.arguments", arguments, "a string")
        call_id = raw.get("call_id") or ids.new("call")
        return StoredItem({**base, "name": name, "call_id": str(call_id), "arguments": arguments})
    if kind == "function_call_output":
        call_id, output = raw.get("call_id"), raw.get("output")
        if not isinstance(call_id, str):
            raise errors.missing_parameter(f"{param}.call_id")
        if not isinstance(output, str):
            raise (
                errors.missing_parameter(f"{param}.output")
                if output is None
                else errors.invalid_type(f"{param}.output", output, "a string")
            )
        if check_calls and conversation.find_call(call_id) is None:
            raise errors.tool_call_not_found(call_id)
        return StoredItem({**base, "call_id": call_id, "output": output})
    raise errors.invalid_value(f"{param}.type", kind, ["message", "function_call", "function_call_output"])


def _message(raw: JsonDict, base: JsonDict, dialect: Dialect, input_format: Format, param: str) -> StoredItem:
    role = raw.get("role")
    if role is None:
        raise errors.missing_parameter(f"{param}.role")
    if role not in ("user", "assistant", "system"):
        raise errors.invalid_value(f"{param}.role", role, ["user", "assistant", "system"])
    content = raw.get("content")
    if not isinstance(content, list):
        raise (
            errors.missing_parameter(f"{param}.content")
            if content is None
            else errors.invalid_type(f"{param}.content", content, "an array")
        )
    allowed = _PART_TYPES[(role, dialect.beta)]
    parts: list[JsonDict] = []
    heard: list[str] = []
    audio: list[Pcm] = []
    images: list[str] = []
    for i, part in enumerate(content):
        p = f"{param}.content[{i}]"
        if not isinstance(part, dict):
            raise errors.invalid_type(p, part, "an object")
        ptype = part.get("type")
        if ptype not in allowed:
            raise errors.invalid_value(f"{p}.type", ptype, allowed)
        ptype = dialect.ga_content_type(ptype)
        if ptype in ("input_text", "output_text"):
            text = _string(part, "text", p)
            parts.append({"type": ptype, "text": text})
            heard.append(text)
        elif ptype == "input_audio":
            pcm = _audio(part, p, input_format)
            transcript = part.get("transcript")
            parts.append({"type": "input_audio", "transcript": transcript})
            heard.append(transcript if isinstance(transcript, str) else describe_audio(pcm.size))
            audio.append(pcm)
        elif ptype == "output_audio":
            parts.append({"type": "output_audio", "transcript": str(part.get("transcript") or "")})
        elif ptype == "input_image":
            images.append(_image(part, p))
            parts.append({"type": "input_image", **({"detail": part["detail"]} if "detail" in part else {})})
        else:
            parts.append({"type": ptype})
    stored = StoredItem({**base, "role": role, "content": parts}, heard=" ".join(heard), images=tuple(images))
    if audio:
        stored.input_audio = audio[0] if len(audio) == 1 else _concat(audio)
    return stored


def _concat(chunks: list[Pcm]) -> Pcm:
    return np.concatenate(chunks).astype(np.int16)


def _string(part: JsonDict, key: str, param: str) -> str:
    value = part.get(key)
    if not isinstance(value, str):
        if value is None:
            raise errors.missing_parameter(f"{param}.{key}")
        raise errors.invalid_type(f"{param}.{key}", value, "a string")
    return value


def _audio(part: JsonDict, param: str, input_format: Format) -> Pcm:
    data = part.get("audio")
    if data is None:
        return to_pcm24(b"", input_format)
    if not isinstance(data, str):
        raise errors.invalid_type(f"{param}.audio", data, "a string")
    try:
        return to_pcm24(decode_b64(data), input_format)
    except ValueError as exc:
        raise errors.ClientError(
            f"Invalid '{param}.audio': {exc}.", code="invalid_value", param=f"{param}.audio"
        ) from exc


def _image(part: JsonDict, param: str) -> str:
    """What the model sees of an input_image: "a 2560×1440 PNG image, 1.2 MB"; the service's errors otherwise."""
    url = _string(part, "image_url", param)
    detail = part.get("detail")
    if detail is not None and detail not in ("auto", "low", "high"):
        raise errors.invalid_value(f"{param}.detail", detail, ["auto", "low", "high"])
    try:
        data = parse_data_url(url).data
    except DataUrlError as exc:
        raise errors.invalid_image_url(f"{param}.image_url", str(exc)) from None
    info = probe(data)
    if info is None:
        raise errors.unsupported_image(f"{param}.image_url")
    return f"a {info.width}×{info.height} {info.kind} image, {describe_size(len(data))}"


def _required_int(event: JsonDict, key: str) -> int:
    if key not in event:
        raise errors.missing_parameter(key)
    value = event[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.invalid_type(key, value, "an integer")
    if value < 0:
        raise errors.number_out_of_range(key, value, 0, None)
    return value
