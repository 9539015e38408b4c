"""The History sidebar: past conversations grouped by day, a search that highlights as you type, one
conversation opened read-only with Resume, Rename, Delete and Export.

It reads the history file on its own connection (WAL: the session's writer thread never blocks it);
every query is a few milliseconds even with a million items, so it runs on the loop.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from voicedesk.app.history import delete_conversation, export_text, stored_items
from voicedesk.history import ConversationSummary, HistoryError, HistoryStore, StoredConversation
from voicedesk.history.store import HIGHLIGHT
from voicedesk.private_files import write_private_text
from voicedesk.session.conversation import Item
from voicedesk.ui import theme
from voicedesk.ui.accessibility import describe

LIST_LIMIT = 500
SEARCH_LIMIT = 50
SEARCH_DELAY_MS = 120  # typing pauses shorter than this do not search


def day_label(started_at: float, now: float | None = None) -> str:
    day = time.localtime(started_at)
    today = time.localtime(now if now is not None else time.time())
    yesterday = time.localtime((now if now is not None else time.time()) - 86400)
    if day[:3] == today[:3]:
        return "Today"
    if day[:3] == yesterday[:3]:
        return "Yesterday"
    return time.strftime("%A %d %B %Y", day)


def highlighted_html(snippet: str) -> str:
    """A search snippet with its matches in bold, everything else escaped."""
    escaped = html.escape(" ".join(snippet.split()))
    opening, closing = html.escape(HIGHLIGHT[0]), html.escape(HIGHLIGHT[1])
    return escaped.replace(opening, "<b>").replace(closing, "</b>")


def conversation_html(items: list[Item]) -> str:
    """A stored conversation to read: each turn with who and when, tool calls with their results; every
    text escaped (what was said is shown, never interpreted)."""
    outputs = {item.call_id: item.output for item in items if item.type == "function_call_output"}
    speakers = {"user": "You", "assistant": "Assistant", "system": "System"}
    muted = theme.colors()["muted"]  # grey that still reads as text (WCAG AA) in either look
    parts = []
    for item in items:
        stamp = time.strftime("%H:%M", time.localtime(item.created_at)) if item.created_at else ""
        if item.type == "message":
            text = item.heard_text if item.truncated_ms is not None else item.display_text
            note = " <i>(interrupted)</i>" if item.truncated_ms is not None else ""
            who = speakers.get(item.role or "", "Item")
            parts.append(
                f"<p><b>{who}</b> <span style='color:{muted}'>{stamp}</span>{note}<br>"
                + "".join(f"[image {html.escape(image.describe())}] " for image in item.images)
                + f"{html.escape(text or ('' if item.images else '(audio, no transcript)'))}</p>"
            )
        elif item.is_note:  # a handoff, a guardrail that cut an answer
            parts.append(f"<p style='color:{muted}'>{html.escape(item.text)} {stamp}</p>")
        elif item.type == "function_call":
            result = outputs.get(item.call_id)
            call = html.escape(f"{item.name}({item.arguments})")
            shown = f" → {html.escape(result)}" if result is not None else ""
            parts.append(f"<p style='color:{muted}'>tool <code>{call}</code>{shown}</p>")
    return "".join(parts)


class HistoryPanel(QWidget):
    """The sidebar. ``resume_requested`` carries the id of the conversation to go on with."""

    resume_requested = Signal(str)
    play_requested = Signal(object)  # the Path of a kept recording
    stop_requested = Signal()

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyPanel")
        self.setAccessibleName("History")
        self._path = path
        self._store: HistoryStore | None = None
        self._open_id: str | None = None
        self._pages = QStackedWidget(self)

        self.search = QLineEdit(placeholderText="Search conversations")
        describe(self.search, "Search conversations", "Matches are listed as you type")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        describe(self.list, "Conversations", "Grouped by day, newest first; Enter opens one")
        self.list.setWordWrap(True)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.hide()
        listing = QWidget()
        column = QVBoxLayout(listing)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.search)
        column.addWidget(self.notice)
        column.addWidget(self.list, 1)

        self.back = describe(QPushButton("← All conversations"), "Back to all conversations")
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Go on with this conversation in a new session")
        self.resume_button.setAccessibleDescription(self.resume_button.toolTip())
        self.rename_button = QPushButton("Rename…")
        self.export_button = QPushButton("Export…")
        self.delete_button = QPushButton("Delete…")
        self.audio_row = QWidget()
        self.audio_buttons = QHBoxLayout(self.audio_row)
        self.audio_buttons.setContentsMargins(0, 0, 0, 0)
        self.viewer = QTextBrowser()
        describe(self.viewer, "Conversation", "The opened conversation, read-only")
        self.viewer.setOpenExternalLinks(False)
        detail = QWidget()
        detail_column = QVBoxLayout(detail)
        detail_column.setContentsMargins(0, 0, 0, 0)
        detail_column.addWidget(self.back)
        detail_column.addWidget(self.title)
        buttons = QHBoxLayout()
        for button in (self.resume_button, self.rename_button, self.export_button, self.delete_button):
            buttons.addWidget(button)
        detail_column.addLayout(buttons)
        detail_column.addWidget(self.audio_row)
        detail_column.addWidget(self.viewer, 1)

        self._pages.addWidget(listing)
        self._pages.addWidget(detail)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._pages)

        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        self.back.clicked.connect(self.show_list)
        self.resume_button.clicked.connect(self._resume)
        self.rename_button.clicked.connect(self._rename)
        self.export_button.clicked.connect(self._export)
        self.delete_button.clicked.connect(self._delete)

    # ------------------------------------------------------------------ the store

    def _open_store(self) -> HistoryStore | None:
        if self._store is None:
            try:
                self._store = HistoryStore(self._path)
            except Exception as exc:
                self._say(f"The history cannot be opened: {exc}")
                return None
        return self._store

    def close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _say(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    # ------------------------------------------------------------------ the list

    def refresh(self) -> None:
        """List the conversations (or the search results for what is typed)."""
        store = self._open_store()
        if store is None:
            return
        query = self.search.text()
        self.list.clear()
        self._say("")
        if query.strip():
            self._list_results(store, query)
        else:
            self._list_days(store.conversations(limit=LIST_LIMIT))

    def _list_days(self, summaries: list[ConversationSummary]) -> None:
        if not summaries:
            self._say("Nothing yet: conversations appear here as you talk.")
        current_day = None
        for summary in summaries:
            day = day_label(summary.started_at)
            if day != current_day:
                current_day = day
                header = QListWidgetItem(day)
                header.setFlags(Qt.ItemFlag.NoItemFlags)
                font = header.font()
                font.setBold(True)
                header.setFont(font)
                self.list.addItem(header)
            stamp = time.strftime("%H:%M", time.localtime(summary.started_at))
            entry = QListWidgetItem(f"{stamp}  {summary.title}")
            entry.setData(Qt.ItemDataRole.UserRole, summary.id)
            entry.setToolTip(f"{summary.item_count} items")
            self.list.addItem(entry)

    def _list_results(self, store: HistoryStore, query: str) -> None:
        try:
            hits = store.search(query, limit=SEARCH_LIMIT)
        except HistoryError as exc:
            self._say(str(exc))
            return
        if not hits:
            self._say(f"Nothing found for “{query.strip()}”.")
        for hit in hits:
            entry = QListWidgetItem()
            entry.setData(Qt.ItemDataRole.UserRole, hit.conversation.id)
            label = QLabel(
                f"<b>{html.escape(hit.conversation.title)}</b> "
                f"<span style='color:{theme.colors()['muted']}'>{day_label(hit.conversation.started_at)}</span><br>"
                f"{highlighted_html(hit.snippet)}"
            )
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setAccessibleName(f"{hit.conversation.title}: {hit.snippet}")
            entry.setSizeHint(label.sizeHint())
            self.list.addItem(entry)
            self.list.setItemWidget(entry, label)

    def result_texts(self) -> list[str]:
        """What the list shows, row by row (the rich text of search results as HTML)."""
        texts = []
        for row in range(self.list.count()):
            entry = self.list.item(row)
            widget = self.list.itemWidget(entry)
            texts.append(widget.text() if isinstance(widget, QLabel) else entry.text())
        return texts

    # ------------------------------------------------------------------ one conversation

    def _activated(self, entry: QListWidgetItem) -> None:
        conversation_id = entry.data(Qt.ItemDataRole.UserRole)
        if isinstance(conversation_id, str):
            self.open_conversation(conversation_id)

    def open_conversation(self, conversation_id: str) -> None:
        stored = self._load(conversation_id)
        if stored is None:
            return
        self._open_id = stored.summary.id
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(stored.summary.started_at))
        self.title.setText(f"<b>{html.escape(stored.summary.title)}</b><br>{started}")
        self.viewer.setHtml(conversation_html(stored_items(stored)))
        self._show_audio(stored.summary.id)
        self._pages.setCurrentIndex(1)

    def _show_audio(self, conversation_id: str) -> None:
        """A button per kept recording (both sides of each session the conversation went on in)."""
        while (entry := self.audio_buttons.takeAt(0)) is not None:
            widget = entry.widget()
            if widget is not None:
                widget.deleteLater()
        store = self._open_store()
        files = [
            path
            for folder in (store.audio_folders(conversation_id) if store is not None else [])
            for side in ("you", "assistant")
            for path in (folder / f"{side}.flac", folder / f"{side}.wav")  # WAV: kept where no FLAC codec was
            if path.exists()
        ]
        for number, path in enumerate(files):
            session = f" ({number // 2 + 1})" if len(files) > 2 else ""
            side = "You" if path.stem == "you" else "Assistant"
            button = describe(QPushButton(f"▶ {side}{session}"), f"Play {side.lower()}{session}", str(path))
            button.setToolTip(f"Play {path}")
            button.clicked.connect(lambda _checked=False, p=path: self.play_requested.emit(p))
            self.audio_buttons.addWidget(button)
        if files:
            stop = describe(QPushButton("■ Stop"), "Stop playing")
            stop.clicked.connect(self.stop_requested.emit)
            self.audio_buttons.addWidget(stop)
        self.audio_row.setVisible(bool(files))

    def _load(self, conversation_id: str) -> StoredConversation | None:
        store = self._open_store()
        if store is None:
            return None
        try:
            return store.conversation(conversation_id)
        except HistoryError as exc:
            self._say(str(exc))
            self.show_list()
            return None

    def show_list(self) -> None:
        self._open_id = None
        self._pages.setCurrentIndex(0)
        self.refresh()

    @property
    def open_id(self) -> str | None:
        return self._open_id

    def _resume(self) -> None:
        if self._open_id is not None:
            self.resume_requested.emit(self._open_id)

    def _rename(self) -> None:
        store = self._open_store()
        if self._open_id is None or store is None:
            return
        current = store.conversation(self._open_id).summary.title
        title, accepted = QInputDialog.getText(self, "Rename conversation", "Title:", text=current)
        if accepted and title.strip():
            store.rename(self._open_id, title)
            self.open_conversation(self._open_id)

    def _delete(self) -> None:
        store = self._open_store()
        if self._open_id is None or store is None:
            return
        answer = QMessageBox.question(
            self, "Delete conversation", "Delete this conversation for good? This cannot be undone."
        )
        if answer == QMessageBox.StandardButton.Yes:
            delete_conversation(store, self._open_id)
            self.show_list()

    def _export(self) -> None:
        stored = self._load(self._open_id) if self._open_id else None
        if stored is None:
            return
        name, _filter = QFileDialog.getSaveFileName(
            self, "Export conversation", f"{stored.summary.title[:40]}.md", "Markdown (*.md);;JSON (*.json)"
        )
        if name:
            self.export_to(Path(name), stored)

    def export_to(self, path: Path, stored: StoredConversation) -> None:
        store, markdown = self._open_store(), path.suffix.lower() != ".json"
        images = store.images(stored.summary.id) if store is not None and markdown else None
        text = export_text(stored, "md" if markdown else "json", images)
        try:
            write_private_text(path, text)
        except OSError as exc:
            self._say(f"Could not export: {exc}")
