"""The client-side copy of the conversation: ordered items, streamed text merged per content part,
late user transcripts put on their own item, and what was cut when the person interrupted.

Items are kept as mutable private state and handed out as frozen ``Item`` snapshots, so the GUI can
hold them without seeing them change underneath.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from voicedesk.audio.base import ms_to_samples, samples_to_ms
from voicedesk.realtime.events import JsonDict
from voicedesk.session.items import NOTE_ID_PREFIX, ImagePart, ItemType
from voicedesk.session.items import Item as Item
from voicedesk.session.items import Role as Role
from voicedesk.session.items import item_from_record as item_from_record

SUMMARY_ID_PREFIX = "item_vdsum"
"""Ids of the summary items we create when carrying a long conversation over; kept out of the history."""

# Tuples, not sets: a server may send any JSON value as a type, and a dict is not hashable.
_TEXT_TYPES = ("input_text", "output_text", "text")
_AUDIO_TYPES = ("input_audio", "output_audio", "audio")


@dataclass(slots=True)
class _ItemState:
    id: str
    type: ItemType
    role: Role | None
    status: str = "in_progress"
    text_parts: dict[int, str] = field(default_factory=dict)
    transcript_parts: dict[int, str] = field(default_factory=dict)
    has_audio: bool = False
    audio_samples: int = 0
    truncated_ms: int | None = None
    name: str | None = None
    call_id: str | None = None
    arguments: str = ""
    output: str | None = None
    cut_off: str | None = None
    note: dict[str, Any] | None = None
    images: tuple[ImagePart, ...] = ()
    created_at: float = field(default_factory=time.time)
    server_done: bool = False
    transcript_settled: bool = True
    finished: bool = False
    heard_only: bool = False
    """A guardrail cut it: only the words heard are kept, and nothing more of it is taken."""

    def display_text(self) -> str:
        """``Item.display_text`` without building a whole snapshot (asked for every streamed word)."""
        return _joined(self.transcript_parts) or _joined(self.text_parts)

    def snapshot(self) -> Item:
        return Item(
            id=self.id,
            type=self.type,
            role=self.role,
            status=self.status,
            text=_joined(self.text_parts),
            transcript=_joined(self.transcript_parts),
            has_audio=self.has_audio,
            audio_ms=samples_to_ms(self.audio_samples),
            truncated_ms=self.truncated_ms,
            name=self.name,
            call_id=self.call_id,
            arguments=self.arguments,
            output=self.output,
            created_at=self.created_at,
            cut_off=self.cut_off,
            note=self.note,
            images=self.images,
        )


def _joined(parts: dict[int, str]) -> str:
    """Content parts in content_index order."""
    return "".join(parts[k] for k in sorted(parts))


FinishedListener = Callable[[Item], None]


class Conversation:
    def __init__(self, *, transcription_enabled: bool = True) -> None:
        self._order: list[str] = []
        self._items: dict[str, _ItemState] = {}
        self._pending_input_transcripts: dict[str, str] = {}
        self._settled_pending: set[str] = set()
        """Ids in ``_pending_input_transcripts`` whose transcript is final (``.completed`` came first)."""
        self._finished_listeners: list[FinishedListener] = []
        self._expected_images: dict[str, tuple[ImagePart, ...]] = {}
        """Images of user messages we created, by item id, until the server adds the item."""
        self.transcription_enabled = transcription_enabled

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def items(self) -> tuple[Item, ...]:
        return tuple(self._items[i].snapshot() for i in self._order)

    def get(self, item_id: str) -> Item | None:
        state = self._items.get(item_id)
        return state.snapshot() if state else None

    def last_id(self) -> str | None:
        return self._order[-1] if self._order else None

    def finished_items(self) -> list[Item]:
        """Items the server has finished with, in conversation order: what a new session can re-create."""
        return [self._items[i].snapshot() for i in self._order if self._items[i].server_done]

    def on_finished(self, listener: FinishedListener) -> None:
        """Call ``listener`` once for each item when it is complete (transcript included)."""
        self._finished_listeners.append(listener)

    def add_note(self, note: Item) -> None:
        """One of our notes (a handoff, a guardrail trip) at the end: finished at once, so it is journaled."""
        self.restore([note])
        for listener in self._finished_listeners:
            listener(note)

    def restore(self, items: list[Item]) -> None:
        """Finished items of an earlier conversation (a resume): carried into the next server session as a
        renewal carries its own, and not announced as finished again (they are stored already)."""
        for item in items:
            if item.id in self._items:
                continue
            state = _ItemState(item.id, item.type, item.role, status=item.status, created_at=item.created_at)
            state.text_parts = {0: item.text} if item.text else {}
            state.transcript_parts = {0: item.transcript} if item.transcript else {}
            state.has_audio, state.audio_samples = item.has_audio, ms_to_samples(item.audio_ms)
            state.truncated_ms, state.cut_off, state.note = item.truncated_ms, item.cut_off, item.note
            state.images = item.images
            state.name, state.call_id, state.arguments, state.output = (
                item.name,
                item.call_id,
                item.arguments,
                item.output,
            )
            state.server_done = state.finished = True
            self._items[item.id] = state
            self._order.append(item.id)

    def expect_images(self, item_id: str, images: tuple[ImagePart, ...]) -> None:
        """The user message ``item_id`` we are creating holds these images: the item gets them when the server
        adds it (its echo may not repeat the bytes)."""
        self._expected_images[item_id] = images

    # ------------------------------------------------------------------ server-driven changes

    def add(self, wire_item: JsonDict, previous_item_id: str | None = None) -> Item | None:
        """An item the server added; returns its snapshot, or None for hidden (summary) items.
        Adding an id we already have (a carried-over item echoed by the new session) updates it."""
        item_id = str(wire_item["id"])
        if item_id.startswith(SUMMARY_ID_PREFIX):
            return None
        state = self._items.get(item_id)
        if state is None:
            state = self._new_state(wire_item)
            if previous_item_id in self._items and previous_item_id != self._order[-1]:
                at = self._order.index(previous_item_id) + 1
                while at < len(self._order) and self._order[at].startswith(NOTE_ID_PREFIX):
                    at += 1  # the server knows nothing of our notes: the item follows those after its previous
                self._order.insert(at, item_id)
            else:
                self._order.append(item_id)
            self._items[item_id] = state
            state.images = self._expected_images.pop(item_id, ())
            if item_id in self._pending_input_transcripts:
                state.transcript_parts = {0: self._pending_input_transcripts.pop(item_id)}
                if item_id in self._settled_pending:
                    state.transcript_settled = True  # the final transcript came before the item
            self._settled_pending.discard(item_id)
        self._merge_content(state, wire_item)
        if wire_item.get("status") == "completed" and not state.server_done:
            # Beta has no conversation.item.done: an item that arrives complete (the person's committed
            # audio, an item the client created) is done on the server as soon as it is added.
            state.server_done = True
            self._maybe_finish(state)
        return state.snapshot()

    def mark_done(self, wire_item: JsonDict) -> Item | None:
        """``conversation.item.done`` / ``response.output_item.done``: the item is complete on the server."""
        item_id = str(wire_item["id"])
        if item_id.startswith(SUMMARY_ID_PREFIX):
            return None
        state = self._items.get(item_id)
        if state is None:
            self.add(wire_item)
            state = self._items[item_id]
        self._merge_content(state, wire_item)
        status = wire_item.get("status")
        state.status = status if isinstance(status, str) else "completed"
        state.server_done = True
        self._maybe_finish(state)
        return state.snapshot()

    def remove(self, item_id: str) -> bool:
        if item_id not in self._items:
            return False
        del self._items[item_id]
        self._order.remove(item_id)
        return True

    def clear(self) -> None:
        self._order.clear()
        self._items.clear()
        self._pending_input_transcripts.clear()
        self._settled_pending.clear()
        self._expected_images.clear()

    def append_assistant_text(self, item_id: str, content_index: int, delta: str) -> Item | None:
        state = self._append_assistant_text(item_id, content_index, delta)
        return state.snapshot() if state is not None else None

    def append_assistant_delta(self, item_id: str, content_index: int, delta: str) -> str | None:
        """``append_assistant_text`` for the receive path: returns only the item's display text."""
        state = self._append_assistant_text(item_id, content_index, delta)
        return state.display_text() if state is not None else None

    def _append_assistant_text(self, item_id: str, content_index: int, delta: str) -> _ItemState | None:
        state = self._items.get(item_id)
        if state is None or state.heard_only:
            return None
        state.transcript_parts[content_index] = state.transcript_parts.get(content_index, "") + delta
        return state

    def set_assistant_text(self, item_id: str, content_index: int, text: str) -> None:
        state = self._items.get(item_id)
        if state is not None and state.truncated_ms is None:
            state.transcript_parts[content_index] = text

    def add_audio(self, item_id: str, samples: int) -> None:
        state = self._items.get(item_id)
        if state is not None:
            state.has_audio = True
            state.audio_samples += samples

    def set_input_audio_ms(self, item_id: str, ms: int) -> None:
        """How long the person spoke for a user audio item (from the VAD's marks or the committed length)."""
        state = self._items.get(item_id)
        if state is not None and ms > 0:
            state.audio_samples = ms_to_samples(ms)

    def audio_ms(self, item_id: str) -> int:
        state = self._items.get(item_id)
        return samples_to_ms(state.audio_samples) if state else 0

    def append_input_transcript(self, item_id: str, delta: str) -> Item | None:
        state = self._items.get(item_id)
        if state is None:
            self._pending_input_transcripts[item_id] = self._pending_input_transcripts.get(item_id, "") + delta
            return None
        state.transcript_parts[0] = state.transcript_parts.get(0, "") + delta
        return state.snapshot()

    def set_input_transcript(self, item_id: str, transcript: str) -> Item | None:
        """The final user transcript; it may arrive long after the assistant started answering."""
        state = self._items.get(item_id)
        if state is None:
            self._pending_input_transcripts[item_id] = transcript
            self._settled_pending.add(item_id)
            return None
        state.transcript_parts = {0: transcript}
        state.transcript_settled = True
        self._maybe_finish(state)
        return state.snapshot()

    def input_transcript_failed(self, item_id: str) -> None:
        state = self._items.get(item_id)
        if state is not None:
            state.transcript_settled = True
            self._maybe_finish(state)

    def set_function_arguments(self, item_id: str, arguments: str, *, append: bool) -> None:
        state = self._items.get(item_id)
        if state is not None:
            state.arguments = state.arguments + arguments if append else arguments

    def mark_cut_off(self, item_id: str, why: str) -> bool:
        """An answer the service stopped short (``incomplete``): say why with the item."""
        state = self._items.get(item_id)
        if state is None:
            return False
        state.cut_off = why
        return True

    def truncate(self, item_id: str, audio_end_ms: int) -> Item | None:
        state = self._items.get(item_id)
        if state is None:
            return None
        state.truncated_ms = audio_end_ms
        if not state.server_done:
            state.status = "incomplete"
        return state.snapshot()

    def keep_heard_only(self, item_id: str) -> None:
        """A guardrail cut this answer: forget the words that were not heard (they may be what it caught), and
        whatever more of it arrives. Its audio length becomes what was heard."""
        state = self._items.get(item_id)
        if state is None or state.truncated_ms is None:
            return
        heard = state.snapshot().heard_text
        state.transcript_parts = {0: heard} if heard else {}
        state.audio_samples = min(state.audio_samples, ms_to_samples(state.truncated_ms))
        state.heard_only = True

    def settle_waiting_transcripts(self) -> None:
        """A response finished: stop waiting for user transcripts that never came, so the items are
        journaled rather than kept in memory forever."""
        for state in self._items.values():
            if state.server_done and not state.finished:
                state.transcript_settled = True
                self._maybe_finish(state)

    # ------------------------------------------------------------------ internals

    def _new_state(self, wire_item: JsonDict) -> _ItemState:
        kind = wire_item.get("type")
        item_type: ItemType = kind if kind in ("message", "function_call", "function_call_output") else "other"
        role = wire_item.get("role")
        state = _ItemState(
            id=str(wire_item["id"]),
            type=item_type,
            role=role if role in ("user", "assistant", "system") else None,
        )
        content = wire_item.get("content")
        if (
            state.role == "user"
            and self.transcription_enabled
            and isinstance(content, list)
            and any(isinstance(c, dict) and c.get("type") in _AUDIO_TYPES for c in content)
        ):
            state.transcript_settled = False  # wait for input_audio_transcription.completed
        return state

    def _merge_content(self, state: _ItemState, wire_item: JsonDict) -> None:
        status = wire_item.get("status")
        if isinstance(status, str) and not state.server_done:
            state.status = status
        for key in ("name", "call_id", "output"):
            value = wire_item.get(key)
            if isinstance(value, str) and value:
                setattr(state, key, value)
        arguments = wire_item.get("arguments")
        if isinstance(arguments, str) and arguments:
            state.arguments = arguments
        if state.type == "function_call_output" and state.name is None and state.call_id:
            # The output item does not repeat the tool's name; take it from the call, for people reading logs.
            state.name = next(
                (s.name for s in self._items.values() if s.type == "function_call" and s.call_id == state.call_id),
                None,
            )
        content = wire_item.get("content")
        if not isinstance(content, list):
            return
        for index, part in enumerate(content):
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            if kind in _TEXT_TYPES and isinstance(part.get("text"), str) and part["text"]:
                state.text_parts[index] = part["text"]
            elif kind in _AUDIO_TYPES:
                state.has_audio = True
                transcript = part.get("transcript")
                if isinstance(transcript, str) and transcript and state.truncated_ms is None:
                    state.transcript_parts[index] = transcript

    def _maybe_finish(self, state: _ItemState) -> None:
        if state.finished or not state.server_done or not state.transcript_settled:
            return
        state.finished = True
        snapshot = state.snapshot()
        for listener in self._finished_listeners:
            listener(snapshot)
