"""The conversation as it streams: your turns and the assistant's as separate boxes, tool calls as inline
chips that open to their arguments and result, interruptions marked, finished turns announced.

Each rendered item owns one QTextFrame of a QTextBrowser document, so a late user transcript rewrites only
its own frame (frames keep their place as the text before them grows), text stays selectable across turns,
and a long conversation costs one small edit per update. A streamed answer that only grew since it was last
written gets just the new words appended (rewriting the whole turn re-lays out all of its text). Updates
are coalesced and written on the window's display clock, about every 100 ms (or by ``refresh()``). Only
the last ``max_items`` turns are shown; exports read the whole history from the controller.

The view stays pinned to the bottom while the person has not scrolled up (also as a streamed answer's
layout grows after a write); once scrolled up, new text does not move it; back at the bottom, it pins again.
How an item reads is in ``conversation_html``; what is announced to screen readers in ``announcer``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QTextCursor, QTextFrame
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from voicedesk.session import events as se
from voicedesk.session.conversation import Item
from voicedesk.ui.announcer import Announcer
from voicedesk.ui.conversation_html import TOOL_SCHEME, ToolState, frame_format, item_html, turn_kind
from voicedesk.ui.display_clock import DisplayClock

FLUSH_MS = 100
LINE_SEPARATOR = "\u2028"  # what <br> becomes in a QTextDocument: a line break inside the paragraph
PIN_SLACK = 8  # pixels from the bottom that still count as "at the bottom"


class ConversationView(QWidget):
    text_submitted = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, max_items: int = 400) -> None:
        super().__init__(parent)
        self.max_items = max_items
        self.browser = QTextBrowser()
        self.browser.setObjectName("conversation")
        self.browser.setOpenLinks(False)
        flags = Qt.TextInteractionFlag
        self.browser.setTextInteractionFlags(
            flags.TextSelectableByMouse
            | flags.TextSelectableByKeyboard
            | flags.LinksAccessibleByMouse
            | flags.LinksAccessibleByKeyboard  # Tab reaches a tool chip, Enter opens it
        )
        self.browser.anchorClicked.connect(self._anchor_clicked)
        self.browser.setAccessibleName("Conversation")
        self.browser.setAccessibleDescription(
            "What you and the assistant said, newest last. Tool calls are links: Enter shows their details."
        )
        bar = self.browser.verticalScrollBar()
        bar.valueChanged.connect(self._scrolled)
        bar.rangeChanged.connect(self._range_changed)
        self._pinned = True
        self.announcer = Announcer(self.browser)
        self.show_input_hint(push_to_talk=True, microphone=True)
        self.message_box = QLineEdit()
        self.message_box.setObjectName("message_box")
        self.message_box.setPlaceholderText("Type a message and press Enter")
        self.message_box.setClearButtonEnabled(True)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("send_button")
        self.message_box.setAccessibleName("Message to the assistant")
        self.message_box.setAccessibleDescription("Type a message and press Enter to send it")
        self.send_button.setAccessibleName("Send message")
        self.send_button.setAccessibleDescription("Sends the typed message to the assistant")
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
        self._items: dict[str, Item] = {}
        self._text: dict[str, str] = {}
        self._frames: dict[str, QTextFrame] = {}
        self._order: list[str] = []  # rendered item ids, in document order
        self._outputs: dict[str, str] = {}  # call_id -> tool output
        self._failed_calls: set[str] = set()
        self._expanded: set[str] = set()  # ids of the tool chips shown open
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
            how = "Hold the talk button (or Space) and speak, or type below."
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
        self.scroll_to_bottom()  # what you just sent is where you look next

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
        self._expanded.clear()
        self._dirty.clear()
        self._written.clear()
        self._rebuild = False
        self.announcer.forget()
        self.browser.clear()
        self._pinned = True

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
        """Write pending changes into the document, and announce the turns that finished."""
        if self._rebuild:
            self._render_all()
        else:
            for item_id in [i for i in self._order if i in self._dirty]:
                self._write(item_id)
            for item_id in [i for i in self._items if i in self._dirty and i not in self._frames]:
                if self._renders(self._items[item_id]):
                    self._append(item_id)
            self._trim()
        for item_id in [i for i in self._items if i in self._dirty]:
            item = self._items[item_id]
            call_id = item.call_id or ""
            text = self._text.get(item_id) or item.display_text
            self.announcer.offer(item, text, self._outputs.get(call_id), call_id in self._failed_calls)
        self._dirty.clear()
        self.announcer.flush()
        if self._pinned:
            self.scroll_to_bottom()

    @property
    def announcements(self) -> list[str]:
        """The last announcements made to screen readers, oldest first."""
        return self.announcer.announcements

    # ------------------------------------------------------------------ scrolling

    @property
    def pinned(self) -> bool:
        """Whether new text keeps the view at the bottom (the person has not scrolled up)."""
        return self._pinned

    def scroll_to_bottom(self) -> None:
        bar = self.browser.verticalScrollBar()
        self._pinned = True
        bar.setValue(bar.maximum())

    def _scrolled(self, value: int) -> None:
        self._pinned = value >= self.browser.verticalScrollBar().maximum() - PIN_SLACK

    def _range_changed(self, _minimum: int, maximum: int) -> None:
        # The document's layout grows after a write (and lazily for long text): follow it while pinned.
        if self._pinned:
            self.browser.verticalScrollBar().setValue(maximum)

    # ------------------------------------------------------------------ tool chips

    def _anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() == TOOL_SCHEME:
            self.toggle_tool(url.path())

    def toggle_tool(self, call_id: str) -> None:
        """Open or close the chip of the call ``call_id``; only its own frame is rewritten."""
        item_id = next((i for i in self._order if self._items[i].call_id == call_id), None)
        if item_id is None:
            return
        self._expanded ^= {item_id}
        keep_focus = self.browser.hasFocus()
        self._write(item_id)
        frame = self._frames[item_id]
        if keep_focus:  # Enter again closes it: the chip's link stays the keyboard's current anchor
            self.browser.setTextCursor(self._link_cursor(frame))

    def _link_cursor(self, frame: QTextFrame) -> QTextCursor:
        """A cursor selecting the link that starts ``frame`` (a chip's first line)."""
        cursor = QTextCursor(self.browser.document())
        cursor.setPosition(frame.firstPosition())
        probe = QTextCursor(self.browser.document())
        end = frame.firstPosition()
        while end < frame.lastPosition():
            probe.setPosition(end + 1)  # the format of the character before the position
            if not probe.charFormat().isAnchor():
                break
            end += 1
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        return cursor

    def expanded_tools(self) -> list[str]:
        """Call ids of the chips shown open."""
        return [self._items[i].call_id or "" for i in self._order if i in self._expanded]

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
                self._expanded.discard(item_id)
            self.announcer.forget(set(gone))
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
        pinned, value = self._pinned, self.browser.verticalScrollBar().value()
        self.browser.clear()
        self._frames.clear()
        self._written.clear()
        self._order.clear()
        self._rebuild = False
        shown = [i for i, item in self._items.items() if self._renders(item)][-self.max_items :]
        for item_id in shown:
            self._append(item_id)
        if not pinned:  # a new look keeps the place the person scrolled to
            self.browser.verticalScrollBar().setValue(value)
            self._pinned = False

    def _append(self, item_id: str) -> None:
        cursor = QTextCursor(self.browser.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        self._frames[item_id] = cursor.insertFrame(frame_format(turn_kind(self._items[item_id])))
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
        if len(self._order) <= self.max_items:
            return
        layout = self.browser.document().documentLayout()
        keep = self._frames[self._order[-self.max_items]]
        top = layout.frameBoundingRect(keep).top()
        while len(self._order) > self.max_items:
            item_id = self._order.pop(0)
            frame = self._frames.pop(item_id)
            self._written.pop(item_id, None)
            self._expanded.discard(item_id)
            cursor = QTextCursor(self.browser.document())
            cursor.setPosition(max(0, frame.firstPosition() - 1))
            cursor.setPosition(frame.lastPosition() + 1, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
        if not self._pinned:  # the turns the person scrolled to stay where they are on screen
            bar = self.browser.verticalScrollBar()
            bar.setValue(bar.value() - round(top - layout.frameBoundingRect(keep).top()))
            self._pinned = False

    def item_html(self, item: Item) -> str:
        text = self._text.get(item.id) or item.display_text
        return item_html(item, text, self._tool_state(item), self.browser.document())

    def _tool_state(self, item: Item) -> ToolState:
        call_id = item.call_id or ""
        return ToolState(self._outputs.get(call_id), call_id in self._failed_calls, item.id in self._expanded)

    # ------------------------------------------------------------------ for tests and exports

    def plain_text(self) -> str:
        return self.browser.document().toPlainText()

    def shown_ids(self) -> Sequence[str]:
        return list(self._order)
