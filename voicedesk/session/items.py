"""One conversation item as the rest of voicedesk sees it: a frozen snapshot, its JSON record (journals,
``conversation.jsonl``, the history) and back.

Besides the server's items there are *notes*: what happened between items that the person should see and
the journal should keep, but the server never hears of (a handoff between assistants, a guardrail that
cut an answer). Their ids start with ``NOTE_ID_PREFIX``; they are never sent or carried over.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from voicedesk.image_formats import describe_size

ItemType = Literal["message", "function_call", "function_call_output", "handoff", "guardrail_tripped", "other"]
Role = Literal["user", "assistant", "system"]
NOTE_TYPES: tuple[ItemType, ...] = ("handoff", "guardrail_tripped")
NOTE_ID_PREFIX = "item_vdnote_"
_RECORD_TYPES = ("message", "function_call", "function_call_output", *NOTE_TYPES)


IMAGE_ITEM_PREFIX = "item_vdimg"
"""Ids of the user messages with images we create (the image parts are ours to keep: the server's echo
need not repeat megabytes of them)."""


class ImagesNotSupported(ValueError):
    """The endpoint speaks a protocol without image content (beta / Azure preview)."""


IMAGES_NEED_GA = (
    "this endpoint speaks the beta (preview) Realtime protocol, which takes no images: "
    "use a GA endpoint (gpt-realtime) to share images"
)


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image in a user message: PNG or JPEG bytes ready to send, and what records keep of it (no bytes:
    the history keeps those, by ``sha256``)."""

    mime: str
    width: int
    height: int
    size: int
    sha256: str
    source: str = ""
    """What it shows, for people: "screen", "window: Title", "region", "clipboard", a file name."""
    data: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def of(cls, mime: str, width: int, height: int, data: bytes, source: str = "") -> ImagePart:
        return cls(mime, width, height, len(data), hashlib.sha256(data).hexdigest(), source, data)

    @property
    def kind(self) -> str:
        return self.mime.rsplit("/", 1)[-1].upper()

    @property
    def extension(self) -> str:
        return "png" if self.mime == "image/png" else "jpg"

    def describe(self) -> str:
        """2048×1152 JPEG, 412 KB"""
        return f"{self.width}×{self.height} {self.kind}, {describe_size(self.size)}"

    def with_data(self, data: bytes) -> ImagePart:
        return replace(self, data=data)

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"mime": self.mime, "width": self.width, "height": self.height}
        record |= {"bytes": self.size, "sha256": self.sha256}
        return record | ({"source": self.source} if self.source else {})

    @classmethod
    def from_record(cls, record: Any) -> ImagePart | None:
        if not isinstance(record, dict) or not isinstance(record.get("sha256"), str):
            return None
        try:
            width, height, size = int(record["width"]), int(record["height"]), int(record.get("bytes") or 0)
        except (KeyError, TypeError, ValueError):
            return None
        return cls(
            str(record.get("mime") or ""), width, height, size, record["sha256"], str(record.get("source") or "")
        )


def new_image_item_id() -> str:
    return IMAGE_ITEM_PREFIX + secrets.token_hex(8)


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    type: ItemType
    role: Role | None
    status: str
    text: str = ""
    transcript: str = ""
    has_audio: bool = False
    audio_ms: int = 0
    truncated_ms: int | None = None
    name: str | None = None
    call_id: str | None = None
    arguments: str = ""
    output: str | None = None
    created_at: float = 0.0
    cut_off: str | None = None
    """Why an answer stopped short (e.g. "cut off: it reached the token limit"), None when it did not."""
    note: dict[str, Any] | None = field(default=None, hash=False)
    """A note's own fields (a handoff's ``from_agent``/``to_agent``, a guardrail's ``reason``); None otherwise."""
    images: tuple[ImagePart, ...] = ()
    """The images of a user message (screen shared, pasted, dropped, ``ask --image``)."""

    @property
    def is_note(self) -> bool:
        return self.type in NOTE_TYPES

    @property
    def display_text(self) -> str:
        """What a person reads for this item: the transcript of audio, else its text."""
        return self.transcript or self.text

    @property
    def heard_text(self) -> str:
        """For an interrupted answer, the part of the transcript that was actually heard (estimated
        by the share of the audio played; the service trims its own copy the same way)."""
        if self.truncated_ms is None or self.audio_ms <= 0:
            return self.display_text
        share = min(1.0, max(0.0, self.truncated_ms / self.audio_ms))
        text = self.display_text
        cut = int(len(text) * share)
        # Do not end mid-word.
        while 0 < cut < len(text) and not text[cut - 1].isspace() and not text[cut].isspace():
            cut -= 1
        return text[:cut].rstrip()

    def to_record(self) -> dict[str, Any]:
        """The JSON line written to journals and ``conversation.jsonl``."""
        record: dict[str, Any] = {"id": self.id, "type": self.type, "role": self.role, "status": self.status}
        if self.type == "message":
            record["text"] = self.text
            record["transcript"] = self.transcript
            record["has_audio"] = self.has_audio
            if self.has_audio:
                record["audio_ms"] = self.audio_ms
            if self.truncated_ms is not None:
                record["truncated_ms"] = self.truncated_ms
                record["heard_transcript"] = self.heard_text
            if self.cut_off is not None:
                record["cut_off"] = self.cut_off
            if self.images:
                record["images"] = [image.to_record() for image in self.images]
        elif self.type == "function_call":
            record |= {"name": self.name, "call_id": self.call_id, "arguments": self.arguments}
        elif self.type == "function_call_output":
            record |= {"call_id": self.call_id, "output": self.output, "name": self.name}
        elif self.is_note:
            record |= {"text": self.text, **(self.note or {})}
        record["created_at"] = round(self.created_at, 3)
        return record


def note_item(kind: Literal["handoff", "guardrail_tripped"], text: str, **fields: Any) -> Item:
    """A new note: ``text`` is what the conversation shows, ``fields`` go into its record as they are."""
    return Item(
        NOTE_ID_PREFIX + secrets.token_hex(6), kind, None, "completed", text=text, created_at=time.time(), note=fields
    )


def item_from_record(record: dict[str, Any]) -> Item | None:
    """An item back from its record (a journal line, the history), or None when the record is not one."""
    item_type, role = record.get("type"), record.get("role")
    if item_type not in _RECORD_TYPES or not isinstance(record.get("id"), str):
        return None
    truncated = record.get("truncated_ms")
    output = record.get("output")
    note_keys = {"from_agent", "to_agent", "requested_by", "voice_note", "guardrails", "reason", "item_id"}
    return Item(
        id=record["id"],
        type=item_type,
        role=role if role in ("user", "assistant", "system") else None,
        status=str(record.get("status") or "completed"),
        text=str(record.get("text") or ""),
        transcript=str(record.get("transcript") or ""),
        has_audio=bool(record.get("has_audio")),
        audio_ms=int(record.get("audio_ms") or 0),
        truncated_ms=int(truncated) if isinstance(truncated, int | float) else None,
        name=record.get("name") if isinstance(record.get("name"), str) else None,
        call_id=record.get("call_id") if isinstance(record.get("call_id"), str) else None,
        arguments=str(record.get("arguments") or ""),
        output=output if isinstance(output, str) else None,
        created_at=float(record.get("created_at") or 0.0),
        cut_off=record.get("cut_off") if isinstance(record.get("cut_off"), str) else None,
        note={k: v for k, v in record.items() if k in note_keys} if item_type in NOTE_TYPES else None,
        images=_images_from(record.get("images")),
    )


def _images_from(records: Any) -> tuple[ImagePart, ...]:
    if not isinstance(records, list):
        return ()
    return tuple(image for image in (ImagePart.from_record(r) for r in records) if image is not None)


def with_image_data(item: Item, lookup: Callable[[str], bytes | None]) -> Item:
    """The item with its images' bytes filled in from ``lookup`` (by sha256), where it has them."""
    if not item.images:
        return item
    filled = tuple(image if image.data else image.with_data(lookup(image.sha256) or b"") for image in item.images)
    return replace(item, images=filled)
