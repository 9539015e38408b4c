"""One conversation item as the rest of voicedesk sees it: a frozen snapshot, its JSON record (journals,
``conversation.jsonl``, the history) and back.

Besides the server's items there are *notes*: what happened between items that the person should see and
the journal should keep, but the server never hears of (a handoff between assistants, a guardrail that
cut an answer). Their ids start with ``NOTE_ID_PREFIX``; they are never sent or carried over.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Literal

ItemType = Literal["message", "function_call", "function_call_output", "handoff", "guardrail_tripped", "other"]
Role = Literal["user", "assistant", "system"]
NOTE_TYPES: tuple[ItemType, ...] = ("handoff", "guardrail_tripped")
NOTE_ID_PREFIX = "item_vdnote_"
_RECORD_TYPES = ("message", "function_call", "function_call_output", *NOTE_TYPES)


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
    )
