"""Client events: dataclasses with ``to_wire(protocol)``, so the code that decides *what* to send never
spells out the wire shape, and the contract tests can validate every one of them against the ``openai``
package's models. Also the items we create (messages, function calls and their outputs).

``voicedesk.realtime.events`` re-exports every name here: the wire's one vocabulary stays importable
from one place.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from voicedesk.image_formats import data_url
from voicedesk.realtime.wire_types import JsonDict, ProtocolVersion


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(8)


@dataclass(frozen=True, slots=True)
class SessionUpdate:
    """``session`` is already in the wire shape of the target protocol (see session_config)."""

    session: JsonDict

    def to_wire(self, protocol: ProtocolVersion) -> JsonDict:
        return {"type": "session.update", "session": self.session}


@dataclass(frozen=True, slots=True)
class InputAudioAppend:
    audio: str  # base64, in the session's input format

    def to_wire(self, protocol: ProtocolVersion) -> JsonDict:
        return {"type": "input_audio_buffer.append", "audio": self.audio}


@dataclass(frozen=True, slots=True)
class InputAudioCommit:
    def to_wire(self, protocol: ProtocolVersion) -> JsonDict:
        return {"type": "input_audio_buffer.commit"}


@dataclass(frozen=True, slots=True)
class InputAudioClear:
    def to_wire(self, protocol: ProtocolVersion) -> JsonDict:
        return {"type": "input_audio_buffer.clear"}


@dataclass(frozen=True, slots=True)
class ItemCreate:
    item: ItemSpec
    previous_item_id: str | None = None

    def to_wire(self, protocol: ProtocolVersion) -> JsonDict:
        wire: JsonDict = {"type": "conversation.item.create", "item": self.item.to_wire(protocol)}
        if self.previous_item_id is not None:
            wire["previous_item_id"] = self.previous_item_id
        return wire


@dataclass(frozen=True, slots=True)
class ItemDelete:
    item_id: str

    def to_wire(self, protocol: ProtocolVersion) -> JsonDict:
        return {"type": "conversation.item.delete", "item_id": self.item_id}


@dataclass(frozen=True, slots=True)
class ItemTruncate:
    item_id: str
    content_index: int
    audio_end_ms: int

    def to_wire(self, protocol: ProtocolVersion) -> JsonDict:
        return {
            "type": "conversation.item.truncate",
            "item_id": self.item_id,
            "content_index": self.content_index,
            "audio_end_ms": int(self.audio_end_ms),
        }


@dataclass(frozen=True, slots=True)
class ResponseCreate:
    instructions: str | None = None
    metadata: dict[str, str] | None = None

    def to_wire(self, protocol: ProtocolVersion) -> JsonDict:
        response: JsonDict = {}
        if self.instructions is not None:
            response["instructions"] = self.instructions
        if self.metadata:
            response["metadata"] = self.metadata
        wire: JsonDict = {"type": "response.create"}
        if response:
            wire["response"] = response
        return wire


@dataclass(frozen=True, slots=True)
class ResponseCancel:
    response_id: str | None = None

    def to_wire(self, protocol: ProtocolVersion) -> JsonDict:
        wire: JsonDict = {"type": "response.cancel"}
        if self.response_id is not None:
            wire["response_id"] = self.response_id
        return wire


ClientEvent = (
    SessionUpdate
    | InputAudioAppend
    | InputAudioCommit
    | InputAudioClear
    | ItemCreate
    | ItemDelete
    | ItemTruncate
    | ResponseCreate
    | ResponseCancel
)


# --------------------------------------------------------------------------- items we create


IMAGE_NOT_SENT = "[an image was shared here; this endpoint's protocol takes no images]"


@dataclass(frozen=True, slots=True)
class InputImage:
    """An image for a user message (GA only): PNG or JPEG bytes, sent as a base64 data URL."""

    mime: str
    data: bytes = field(repr=False)
    detail: Literal["auto", "low", "high"] | None = None

    def to_wire(self) -> JsonDict:
        part: JsonDict = {"type": "input_image", "image_url": data_url(self.mime, self.data)}
        if self.detail is not None:
            part["detail"] = self.detail
        return part


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """A message item; ``role`` decides the content type names on the wire. ``images`` (user messages) follow
    the text; the beta protocol has no image content, so there each becomes a line of text saying so."""

    role: Literal["user", "assistant", "system"]
    text: str
    item_id: str | None = None
    images: tuple[InputImage, ...] = ()

    def to_wire(self, protocol: ProtocolVersion) -> JsonDict:
        if self.role == "assistant":
            content_type = "output_text" if protocol == "ga" else "text"
        else:
            content_type = "input_text"
        content: list[JsonDict] = [{"type": content_type, "text": self.text}] if self.text or not self.images else []
        for image in self.images:
            content.append(image.to_wire() if protocol == "ga" else {"type": "input_text", "text": IMAGE_NOT_SENT})
        wire: JsonDict = {"type": "message", "role": self.role, "content": content}
        if self.item_id is not None:
            wire["id"] = self.item_id
        return wire


def without_image_data(wire: dict[str, Any]) -> dict[str, Any]:
    """The event itself when it carries no image; else a copy with each data URL replaced by its size (logs
    and the client's memory of recent events keep no megabytes of base64)."""
    item = wire.get("item")
    if not isinstance(item, dict):
        return wire
    content = item.get("content")
    if not isinstance(content, list) or not any(
        isinstance(p, dict) and isinstance(p.get("image_url"), str) for p in content
    ):
        return wire
    parts = [
        {**p, "image_url": _elided_url(p["image_url"])} if isinstance(p, dict) and "image_url" in p else p
        for p in content
    ]
    return {**wire, "item": {**item, "content": parts}}


def _elided_url(url: Any) -> Any:
    if not isinstance(url, str) or "," not in url:
        return url
    head, payload = url.split(",", 1)
    return f"{head},<{len(payload) * 3 // 4} bytes of image>"


@dataclass(frozen=True, slots=True)
class FunctionCallSpec:
    call_id: str
    name: str
    arguments: str
    item_id: str | None = None

    def to_wire(self, protocol: ProtocolVersion) -> JsonDict:
        wire: JsonDict = {
            "type": "function_call",
            "call_id": self.call_id,
            "name": self.name,
            "arguments": self.arguments,
        }
        if self.item_id is not None:
            wire["id"] = self.item_id
        return wire


@dataclass(frozen=True, slots=True)
class FunctionOutputSpec:
    call_id: str
    output: str
    item_id: str | None = None

    def to_wire(self, protocol: ProtocolVersion) -> JsonDict:
        wire: JsonDict = {"type": "function_call_output", "call_id": self.call_id, "output": self.output}
        if self.item_id is not None:
            wire["id"] = self.item_id
        return wire


ItemSpec = MessageSpec | FunctionCallSpec | FunctionOutputSpec
