"""The conversation's live region: a finished turn is announced to screen readers once, in a short sentence
("Assistant: …", "You: …", "Tool calculator finished: 84"), through Qt's accessibility announcement event.

Never per streamed word (a screen reader would read a stream of fragments), never twice for one item, and a
burst (a conversation opened from the history) becomes one summary instead of a queue of old turns.
"""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QObject
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent

from voicedesk.session.conversation import Item
from voicedesk.ui.conversation_html import compact

SPOKEN_CHARS = 200  # how much of a turn is read out; the rest is in the conversation
KEEP = 50
BURST = 3  # more finished turns than this in one update are summed up in one announcement


def completion_text(item: Item, text: str, output: str | None, failed: bool) -> str | None:
    """What to announce for ``item`` if it is finished now, else None (it may still be streaming)."""
    if item.is_note:
        mark = "Handoff" if item.type == "handoff" else "Guardrail"
        return f"{mark}: {compact(item.text, SPOKEN_CHARS)}" if item.text else None
    if item.type == "function_call":
        if output is None:
            return None
        verb = "failed" if failed else "finished"
        return f"Tool {item.name or 'call'} {verb}: {compact(output, SPOKEN_CHARS)}"
    if item.type != "message" or item.role not in ("user", "assistant"):
        return None
    if item.role == "user":
        # The item's own transcript is the finished one; streamed words arrive only as ``text``.
        said = item.display_text
        if not said and item.images and not item.has_audio:
            return "You shared an image" if len(item.images) == 1 else f"You shared {len(item.images)} images"
        return f"You: {compact(said, SPOKEN_CHARS)}" if said else None
    if item.truncated_ms is not None:
        heard = item.heard_text if item.display_text else text
        return f"Assistant, interrupted: {compact(heard, SPOKEN_CHARS)}" if heard else "Assistant, interrupted"
    if item.status == "in_progress" or not text:
        return None
    cut = f" ({item.cut_off})" if item.cut_off else ""
    return f"Assistant{cut}: {compact(text, SPOKEN_CHARS)}"


class Announcer:
    """Posts announcements for ``target`` (the conversation browser, a banner) and keeps the last ``KEEP``."""

    def __init__(self, target: QObject) -> None:
        self._target = target
        self._recent: deque[str] = deque(maxlen=KEEP)
        self._announced: set[str] = set()
        self._batch: list[str] = []

    @property
    def announcements(self) -> list[str]:
        return list(self._recent)

    def offer(self, item: Item, text: str, output: str | None, failed: bool) -> None:
        """Queue ``item``'s announcement for ``flush`` if it just finished (once per item)."""
        if item.id in self._announced:
            return
        said = completion_text(item, text, output, failed)
        if said is not None:
            self._announced.add(item.id)
            self._batch.append(said)

    def flush(self) -> None:
        batch, self._batch = self._batch, []
        if len(batch) > BURST:
            batch = [f"{len(batch)} messages. The last one: {batch[-1]}"]
        for said in batch:
            self.announce(said)

    def announce(self, text: str, *, urgent: bool = False) -> None:
        """Post ``text``; ``urgent`` interrupts what the screen reader is saying (an error), else it waits its turn."""
        self._recent.append(text)
        event = QAccessibleAnnouncementEvent(self._target, text)
        if urgent:
            event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive)
        QAccessible.updateAccessibility(event)

    def forget(self, item_ids: set[str] | None = None) -> None:
        """Items that left the conversation (all of them with None) may be announced again if they return."""
        if item_ids is None:
            self._announced.clear()
            self._batch.clear()
        else:
            self._announced -= item_ids
