"""The conversation as it streams: user and assistant turns, tool calls inline, interruptions marked.

Each rendered item owns one QTextFrame of a QTextBrowser document, so a late user transcript rewrites only
its own frame (frames keep their place as the text before them grows), text stays selectable across turns,
and a long conversation costs one small edit per update. A streamed answer that only grew since it was last
written gets just the new words appended (rewriting the whole turn re-lays out all of its text). Updates
are coalesced and written on the window's display clock, about every 100 ms (or by ``refresh()``). Only
the last ``max_items`` turns are shown; exports read the whole history from the controller.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QTextCursor, QTextFrame, QTextFrameFormat
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from voicedesk.session import events as se
from voicedesk.session.conversation import Item
from voicedesk.ui import theme
from voicedesk.ui.display_clock import DisplayClock
from voicedesk.ui.thumbnails import thumbnails_html

FLUSH_MS = 100
LINE_SEPARATOR = "\u2028"  # what <br> becomes in a QTextDocument: a line break inside the paragraph


def _escape(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


class ConversationView(QWidget):
    text_submitted = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, max_items: int = 400) -> None:
        super().__init__(parent)
        self.max_items = max_items
        self.browser = QTextBrowser()
        self.browser.setObjectName("conversation")
        self.browser.setOpenLinks(False)
        self.browser.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.show_input_hint(push_to_talk=True, microphone=True)
        self.message_box = QLineEdit()
        self.message_box.setObjectName("message_box")
        self.message_box.setPlaceholderText("Type a message and press Enter")
        self.message_box.setClearButtonEnabled(True)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("send_button")
        self.message_box.returnPressed.connect(self.submit)
        self.send_button.clicked.connect(self.submit)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.message_box, 1)
        row.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.browser, 1)
        layout.addLayout(row)
        self._frame_format = QTextFrameFormat()
        self._frame_format.setBottomMargin(8)
        self._items: dict[str, Item] = {}
        self._text: dict[str, str] = {}
        self._frames: dict[str, QTextFrame] = {}
        self._order: list[str] = []  # rendered item ids, in document order
        self._outputs: dict[str, str] = {}  # call_id -> tool output
        self._failed_calls: set[str] = set()
        self._dirty: set[str] = set()
        self._rebuild = False
        self._written: dict[str, tuple[Item, str]] = {}  # item id -> (snapshot, text) last written to its frame
        self._unsubscribe: Callable[[], None] | None = None

    def attach(self, clock: DisplayClock) -> None:
        """Write pending changes on ``clock``'s ticks, about every ``FLUSH_MS``."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = clock.every(FLUSH_MS, self._flush_pending)

    def _flush_pending(self) -> None:
        if self._dirty or self._rebuild:
            self.refresh()

    # ------------------------------------------------------------------ input

    def show_input_hint(self, *, push_to_talk: bool, microphone: bool) -> None:
        """The empty conversation says how to talk in the turn mode in use (or that only typing works)."""
        # One short line: the browser draws only the first line of its placeholder.
        if not microphone:
            how = "No microphone: type a message below."
        elif push_to_talk:
            how = "Hold “Talk” (or Space) and speak, or type below."
        else:
            how = "Just speak (voicedesk hears you), or type below."
        self.browser.setPlaceholderText(how)

    def submit(self) -> None:
        """Offer the typed message; it stays in the box until the window has sent it (``message_sent``)."""
        text = self.message_box.text().strip()
        if text:
            self.text_submitted.emit(text)

    def message_sent(self) -> None:
        self.message_box.clear()

    def set_input_enabled(self, enabled: bool) -> None:
        self.message_box.setEnabled(enabled)
        self.send_button.setEnabled(enabled)

    # ------------------------------------------------------------------ the common view interface

    def clear(self) -> None:
        self._items.clear()
        self._text.clear()
        self._frames.clear()
        self._order.clear()
        self._outputs.clear()
        self._failed_calls.clear()
        self._dirty.clear()
        self._written.clear()
        self._rebuild = False
        self.browser.clear()

    def apply_event(self, event: se.SessionEvent) -> None:
        match event:
            case se.HistoryAdded(item=item):
                self.apply_items([item], complete=False)
            case se.HistoryUpdated(items=items):
                self.apply_items(items, complete=True)
            case se.TranscriptDelta(item_id=item_id, text=text):
                self.apply_transcript(item_id, text)
            case se.ToolEnd(call_id=call_id, output=output, ok=ok):
                self.apply_tool_result(call_id, output, ok)
            case _:
                pass

    def refresh(self) -> None:
        """Write pending changes into the document."""
        bar = self.browser.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 8
        if self._rebuild:
            self._render_all()
        else:
            for item_id in [i for i in self._order if i in self._dirty]:
                self._write(item_id)
            for item_id in [i for i in self._items if i in self._dirty and i not in self._frames]:
                if self._renders(self._items[item_id]):
                    self._append(item_id)
            self._trim()
        self._dirty.clear()
        if at_bottom:
            bar.setValue(bar.maximum())

    def apply_theme(self) -> None:
        self._rebuild = True
        self._schedule()

    # ------------------------------------------------------------------ incoming changes

    def apply_items(self, items: Iterable[Item], *, complete: bool) -> None:
        """New snapshots; with ``complete`` the list is the whole ordered conversation (removals too)."""
        seen: list[str] = []
        for item in items:
            seen.append(item.id)
            if self._items.get(item.id) != item:
                self._items[item.id] = item
                if item.display_text:
                    self._text[item.id] = item.display_text
                self._dirty.add(item.id)
                if item.type == "function_call_output" and item.call_id and item.output is not None:
                    self._outputs[item.call_id] = item.output
                    self._mark_call(item.call_id)
        if complete:
            gone = [i for i in self._items if i not in set(seen)]
            for item_id in gone:
                del self._items[item_id]
                self._text.pop(item_id, None)
            rendered = [i for i in seen if i in self._frames]
            if gone or rendered != [i for i in self._order if i in set(seen)]:
                self._rebuild = True
            # Keep our item order equal to the conversation's.
            self._items = {i: self._items[i] for i in seen if i in self._items} | {
                i: v for i, v in self._items.items() if i not in set(seen)
            }
        self._schedule()

    def apply_transcript(self, item_id: str, text: str) -> None:
        self._text[item_id] = text
        if item_id in self._items:
            self._dirty.add(item_id)
            self._schedule()

    def apply_tool_result(self, call_id: str, output: str, ok: bool) -> None:
        self._outputs[call_id] = output
        if not ok:
            self._failed_calls.add(call_id)
        self._mark_call(call_id)
        self._schedule()

    def _mark_call(self, call_id: str) -> None:
        for item in self._items.values():
            if item.type == "function_call" and item.call_id == call_id:
                self._dirty.add(item.id)

    def _schedule(self) -> None:
        """Nothing to do: the display clock writes what is dirty (kept as the one place that could)."""

    # ------------------------------------------------------------------ the document

    @staticmethod
    def _renders(item: Item) -> bool:
        shown_message = item.type == "message" and item.role in ("user", "assistant")
        return shown_message or item.type == "function_call" or item.is_note

    def _render_all(self) -> None:
        self.browser.clear()
        self._frames.clear()
        self._written.clear()
        self._order.clear()
        self._rebuild = False
        shown = [i for i, item in self._items.items() if self._renders(item)][-self.max_items :]
        for item_id in shown:
            self._append(item_id)

    def _append(self, item_id: str) -> None:
        cursor = QTextCursor(self.browser.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        self._frames[item_id] = cursor.insertFrame(self._frame_format)
        self._order.append(item_id)
        self._write(item_id)

    def _write(self, item_id: str) -> None:
        frame = self._frames.get(item_id)
        item = self._items.get(item_id)
        if frame is None or item is None:
            return
        text = self._text.get(item.id) or item.display_text
        if self._append_growth(frame, item, text):
            return
        cursor = QTextCursor(self.browser.document())
        cursor.setPosition(frame.firstPosition())
        cursor.setPosition(frame.lastPosition(), QTextCursor.MoveMode.KeepAnchor)
        cursor.insertHtml(self.item_html(item))
        self._written[item_id] = (item, text)

    def _append_growth(self, frame: QTextFrame, item: Item, text: str) -> bool:
        """Append only the new words when nothing but the streamed text grew since the last write."""
        written = self._written.get(item.id)
        if written is None or item.type != "message" or item.truncated_ms is not None:
            return False
        written_item, written_text = written
        if written_item is not item and written_item != item:
            return False
        if not written_text or len(text) <= len(written_text) or not text.startswith(written_text):
            return False
        cursor = QTextCursor(self.browser.document())
        cursor.setPosition(frame.lastPosition())
        cursor.insertText(text[len(written_text) :].replace("\n", LINE_SEPARATOR))
        self._written[item.id] = (item, text)
        return True

    def _trim(self) -> None:
        while len(self._order) > self.max_items:
            item_id = self._order.pop(0)
            frame = self._frames.pop(item_id)
            self._written.pop(item_id, None)
            cursor = QTextCursor(self.browser.document())
            cursor.setPosition(max(0, frame.firstPosition() - 1))
            cursor.setPosition(frame.lastPosition() + 1, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()

    def item_html(self, item: Item) -> str:
        c = theme.colors()
        muted = f"color:{c['muted']}"
        stamp = time.strftime("%H:%M:%S", time.localtime(item.created_at)) if item.created_at else ""
        if item.is_note:  # a handoff ("Concierge → Billing") or a guardrail that cut an answer
            color, mark = (c["tool"], "⇄") if item.type == "handoff" else (c["cut"], "⛔")
            extra = str((item.note or {}).get("voice_note") or "")
            aside = f"<br><span style='{muted}'>{_escape(extra)}</span>" if extra else ""
            head = f"<span style='color:{color}'>{mark} {_escape(item.text)}</span>"
            return f"{head} <span style='{muted}'>{stamp}</span>{aside}"
        if item.type == "function_call":
            output = self._outputs.get(item.call_id or "")
            call = f"{html.escape(item.name or '?')}({html.escape(_compact(item.arguments))})"
            if output is None:
                result = f"<span style='{muted}'>… running</span>"
            else:
                color = c["cut"] if (item.call_id in self._failed_calls) else c["tool"]
                result = f"→ <span style='color:{color}'>{html.escape(_compact(output, 160))}</span>"
            return f"<span style='color:{c['tool']}'>⚙ tool</span> <code>{call}</code> {result}"
        user = item.role == "user"
        who = "You" if user else "Assistant"
        color = c["user"] if user else c["assistant"]
        kind = ("spoken · " if item.has_audio else "shared · " if item.images else "typed · ") if user else ""
        head = f"<b style='color:{color}'>{who}</b> <span style='{muted}'>{kind}{stamp}</span>"
        text = self._text.get(item.id) or item.display_text
        if item.truncated_ms is not None:
            heard = item.heard_text if item.display_text else text
            rest = text[len(heard) :].strip() if text.startswith(heard) else ""
            cut = f"<span style='color:{c['cut']}'>✂ interrupted at {item.truncated_ms / 1000:.1f} s</span>"
            unheard = f" <span style='{muted}'><s>{_escape(rest)}</s></span>" if rest else ""
            body = f"{_escape(heard)} {cut}{unheard}"
        elif text:
            body = _escape(text)
        elif user and item.has_audio:
            body = f"<span style='{muted}'>(speech; the transcript follows)</span>"
        elif item.images:
            body = ""
        else:
            body = f"<span style='{muted}'>…</span>"
        if item.cut_off is not None:
            body += f" <span style='color:{c['cut']}'>— {_escape(item.cut_off)}</span>"
        if item.images:  # thumbnails first, the text typed with them under
            shown = thumbnails_html(self.browser.document(), item.images, muted)
            body = f"{shown}<br>{body}" if body else shown
        return f"{head}<br>{body}"

    # ------------------------------------------------------------------ for tests and exports

    def plain_text(self) -> str:
        return self.browser.document().toPlainText()

    def shown_ids(self) -> Sequence[str]:
        return list(self._order)


def _compact(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
