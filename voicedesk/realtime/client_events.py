"""Client events: dataclasses with ``to_wire(protocol)``, so the code that decides *what* to send never
spells out the wire shape, and the contract tests can validate every one of them against the ``openai``
package's models. Also the items we create (messages, function calls and their outputs).

``voicedesk.realtime.events`` re-exports every name here: the wire's one vocabulary stays importable
from one place.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

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


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """A message item; ``role`` decides the content type names on the wire."""

    role: Literal["user", "assistant", "system"]
    text: str
    item_id: str | None = None

    def to_wire(self, protocol: ProtocolVersion) -> JsonDict:
        if self.role == "assistant":
            content_type = "output_text" if protocol == "ga" else "text"
        else:
            content_type = "input_text"
        wire: JsonDict = {
            "type": "message",
            "role": self.role,
            "content": [{"type": content_type, "text": self.text}],
        }
        if self.item_id is not None:
            wire["id"] = self.item_id
        return wire


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
