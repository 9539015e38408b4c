"""Carrying a conversation into a new server session (expiry, reconnect, client-side renewal).

The new session gets the finished items re-created (user speech as its transcript, assistant audio as
the text that was actually heard, tool calls with their outputs), reusing the old ids so the echoes
from the server update our copy instead of duplicating it. A long conversation is condensed: a summary
of the older part as one system message, then the most recent items verbatim.
"""

from __future__ import annotations

import secrets

from voicedesk.realtime.events import FunctionCallSpec, FunctionOutputSpec, ItemSpec, MessageSpec
from voicedesk.session.conversation import SUMMARY_ID_PREFIX, Item
from voicedesk.session.intents import input_images

RECENT_ITEMS = 24
SUMMARY_LINE_CHARS = 160
SUMMARY_MAX_CHARS = 4000


def _message_text(item: Item) -> str:
    text = item.heard_text if item.role == "assistant" else item.display_text
    # An image whose bytes are not at hand (a resumed conversation without them) is carried as what it was.
    missing = [f"[an image shared earlier: {image.describe()}]" for image in item.images if not image.data]
    return "\n".join([text, *missing]) if missing and text else "\n".join(missing) or text


def _spec(item: Item) -> ItemSpec | None:
    if item.type == "message" and item.role is not None:
        text = _message_text(item)
        images = input_images(item.images) if item.role == "user" else ()
        if not text.strip() and not images:
            return None  # nothing to carry (e.g. unheard audio, no transcript)
        return MessageSpec(item.role, text, item_id=item.id, images=images)
    if item.type == "function_call" and item.call_id and item.name:
        return FunctionCallSpec(item.call_id, item.name, item.arguments or "{}", item_id=item.id)
    if item.type == "function_call_output" and item.call_id:
        return FunctionOutputSpec(item.call_id, item.output or "", item_id=item.id)
    return None


def _summary_line(item: Item) -> str:
    if item.type == "message":
        shown = [f"[image {image.describe()}]" for image in item.images if image.data]
        text = " ".join([*shown, *_message_text(item).split()])
        if len(text) > SUMMARY_LINE_CHARS:
            text = text[: SUMMARY_LINE_CHARS - 1] + "…"
        return f"{item.role}: {text}" if text else ""
    if item.type == "function_call":
        return f"tool call {item.name}({item.arguments})"
    if item.type == "function_call_output":
        return f"tool result: {(item.output or '')[:SUMMARY_LINE_CHARS]}"
    return ""


def _drop_orphan_calls(specs: list[ItemSpec], running: frozenset[str]) -> list[ItemSpec]:
    """A function call without its output (or the reverse) would be refused: keep complete pairs, and the
    calls still running here (their output follows once the new session knows them)."""
    calls = {s.call_id for s in specs if isinstance(s, FunctionCallSpec)}
    outputs = {s.call_id for s in specs if isinstance(s, FunctionOutputSpec)}
    paired = (calls & outputs) | (calls & running)
    return [s for s in specs if not isinstance(s, FunctionCallSpec | FunctionOutputSpec) or s.call_id in paired]


def carry_over(
    items: list[Item], recent: int = RECENT_ITEMS, running_calls: frozenset[str] = frozenset()
) -> tuple[list[ItemSpec], int]:
    """The items to create in a new session, and how many older items went into the summary."""
    specs = _drop_orphan_calls([s for s in (_spec(i) for i in items) if s is not None], running_calls)
    if len(specs) <= recent:
        return specs, 0
    older, latest = specs[:-recent], specs[-recent:]
    # A tool output whose call went into the summary would be refused: summarize it too.
    latest_calls = {s.call_id for s in latest if isinstance(s, FunctionCallSpec)}
    orphaned = [isinstance(s, FunctionOutputSpec) and s.call_id not in latest_calls for s in latest]
    older.extend(s for s, orphan in zip(latest, orphaned, strict=True) if orphan)
    latest = [s for s, orphan in zip(latest, orphaned, strict=True) if not orphan]
    older_ids = {s.item_id for s in older}
    lines = [line for line in (_summary_line(i) for i in items if i.id in older_ids) if line]
    summary = "\n".join(lines)
    if len(summary) > SUMMARY_MAX_CHARS:
        summary = "…" + summary[-SUMMARY_MAX_CHARS:]
    note = MessageSpec(
        "system",
        "Summary of the earlier part of this conversation (it continues below):\n" + summary,
        item_id=SUMMARY_ID_PREFIX + secrets.token_hex(8),
    )
    return [note, *latest], len(older)
