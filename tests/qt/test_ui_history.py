"""The History sidebar over a real history file: grouped by day, search as you type with the matches
highlighted, one conversation opened read-only, resume, rename, delete, export."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from tests.qt.uikit import WAIT_MS, AppHarness, ptt_settings
from voicedesk.history import HistoryStore
from voicedesk.ui.history_panel import HistoryPanel, day_label, highlighted_html

MakeApp = Callable[..., AppHarness]


def _say(store: HistoryStore, conversation: str, item_id: str, role: str, text: str) -> None:
    record: dict[str, Any] = {"id": item_id, "type": "message", "role": role, "status": "completed"}
    store.add_item(conversation, record | {"text": text, "transcript": "", "created_at": time.time()})


@pytest.fixture
def history_file(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite3"
    now = time.time()
    with HistoryStore(path) as store:
        old = store.begin(started_at=now - 86400, conversation_id="a" * 32)
        _say(store, old, "o1", "user", "Send the invoice to Marie.")
        _say(store, old, "o2", "assistant", "Sent <b>now</b> & done.")
        new = store.begin(started_at=now, conversation_id="b" * 32)
        _say(store, new, "n1", "user", "What is the weather in Lyon?")
        _say(store, new, "n2", "assistant", "Sunny.")
    return path


@pytest.fixture
def panel(qtbot: QtBot, history_file: Path) -> Iterator[HistoryPanel]:
    widget = HistoryPanel(history_file)
    qtbot.addWidget(widget)
    widget.show()
    widget.refresh()
    yield widget
    widget.close_store()


def test_conversations_are_grouped_by_day_newest_first(panel: HistoryPanel) -> None:
    rows = panel.result_texts()
    assert rows[0] == "Today" and rows[2] == "Yesterday"
    assert rows[1].endswith("What is the weather in Lyon?") and rows[3].endswith("Send the invoice to Marie.")


def test_search_highlights_as_you_type_and_opens_the_match(qtbot: QtBot, panel: HistoryPanel) -> None:
    qtbot.keyClicks(panel.search, "invo")
    qtbot.waitUntil(lambda: len(panel.result_texts()) == 1 and "<b>" in panel.result_texts()[0], timeout=5000)
    assert "<b>invoice</b>" in panel.result_texts()[0]
    qtbot.mouseClick(
        panel.list.viewport(), Qt.MouseButton.LeftButton, pos=panel.list.visualItemRect(panel.list.item(0)).center()
    )
    assert panel.open_id == "a" * 32
    text = panel.viewer.toPlainText()
    assert "Send the invoice to Marie." in text and "Sent <b>now</b> & done." in text  # shown, not interpreted
    qtbot.mouseClick(panel.back, Qt.MouseButton.LeftButton)
    panel.search.clear()
    qtbot.keyClicks(panel.search, "kangaroo")
    qtbot.waitUntil(lambda: panel.notice.isVisible() and "Nothing found" in panel.notice.text(), timeout=5000)


def test_resume_asks_for_the_open_conversation(qtbot: QtBot, panel: HistoryPanel) -> None:
    panel.open_conversation("bbbb")
    with qtbot.waitSignal(panel.resume_requested, timeout=2000) as signal:
        qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    assert signal.args == ["b" * 32]


def test_rename_and_delete(qtbot: QtBot, panel: HistoryPanel, monkeypatch: pytest.MonkeyPatch) -> None:
    panel.open_conversation("a" * 32)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Invoices for Marie", True))
    qtbot.mouseClick(panel.rename_button, Qt.MouseButton.LeftButton)
    assert "Invoices for Marie" in panel.title.text()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    assert panel.open_id is None
    assert not any("Invoices" in row or "Marie" in row for row in panel.result_texts())
    qtbot.keyClicks(panel.search, "invoice")
    qtbot.waitUntil(lambda: "Nothing found" in panel.notice.text(), timeout=5000)


def test_export_writes_a_private_file(panel: HistoryPanel, tmp_path: Path, history_file: Path) -> None:
    with HistoryStore(history_file) as store:
        stored = store.conversation("b" * 32)
    panel.export_to(tmp_path / "lyon.json", stored)
    panel.export_to(tmp_path / "lyon.md", stored)
    assert json.loads((tmp_path / "lyon.json").read_text())["conversation"]["title"] == "What is the weather in Lyon?"
    assert (tmp_path / "lyon.md").read_text().startswith("# What is the weather in Lyon?")
    assert stat.S_IMODE((tmp_path / "lyon.md").stat().st_mode) == 0o600


def test_labels_and_highlights() -> None:
    now = time.mktime((2026, 12, 4, 12, 0, 0, 0, 0, -1))
    assert day_label(now - 3600, now) == "Today" and day_label(now - 86400, now) == "Yesterday"
    assert day_label(now - 3 * 86400, now) == "Tuesday 01 December 2026"
    assert highlighted_html("a <x> \u27e6b\u27e7") == "a &lt;x&gt; <b>b</b>"


# --- the sidebar in the window, over a real session on the embedded server --------------------------------


def _type(qtbot: QtBot, app: AppHarness, text: str) -> None:
    qtbot.keyClicks(app.window.conversation.message_box, text)
    qtbot.keyClick(app.window.conversation.message_box, Qt.Key.Key_Return)


def test_the_window_stores_lists_and_resumes_a_conversation(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app(history=True)
    w = app.window
    assert w.history_dock is not None and w.history_dock.isHidden()  # closed until asked for
    _type(qtbot, app, "Remember the blue umbrella")
    qtbot.waitUntil(lambda: "You said: Remember the blue umbrella" in w.conversation.plain_text(), timeout=WAIT_MS)
    w.history_dock.toggle_action.trigger()
    panel = w.history_dock.panel
    qtbot.waitUntil(lambda: any("Remember the blue umbrella" in row for row in panel.result_texts()), timeout=WAIT_MS)
    # Found by a word, opened, and resumed: a new session that carries it.
    first_controller = app.runtime.controller
    assert first_controller is not None
    qtbot.keyClicks(panel.search, "umbrel")
    qtbot.waitUntil(lambda: any("<b>umbrella</b>" in row for row in panel.result_texts()), timeout=WAIT_MS)
    panel.open_conversation(panel.list.item(0).data(Qt.ItemDataRole.UserRole))
    stored_id = panel.open_id
    qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: app.runtime.controller is not first_controller and w.view_model.connection == "connected",
        timeout=WAIT_MS,
    )
    qtbot.waitUntil(lambda: "Remember the blue umbrella" in w.conversation.plain_text(), timeout=WAIT_MS)
    _type(qtbot, app, "what was my first message")
    qtbot.waitUntil(
        lambda: "Your first message was: Remember the blue umbrella" in w.conversation.plain_text(), timeout=WAIT_MS
    )
    assert not app.contract_errors
    # The conversation went on in the same stored conversation.
    qtbot.waitUntil(lambda: _stored_count(stored_id) == 4, timeout=WAIT_MS)


def _stored_count(conversation_id: str | None) -> int:
    assert conversation_id is not None
    with HistoryStore(Path(os.environ["VOICEDESK_DATA_DIR"]) / "history.sqlite3") as store:
        return len(store.conversation(conversation_id).records)


def test_kept_audio_is_played_from_the_sidebar(qtbot: QtBot, make_app: MakeApp, run: Callable[..., Any]) -> None:
    app = make_app(settings=dataclasses.replace(ptt_settings(), keep_audio=True), history=True)
    w = app.window
    _type(qtbot, app, "Play me back later")
    qtbot.waitUntil(lambda: "You said: Play me back later" in w.conversation.plain_text(), timeout=WAIT_MS)
    run(app.runtime.disconnect())
    run(app.runtime.prepare())  # a new conversation: the last one's audio is archived
    assert w.history_dock is not None
    panel = w.history_dock.panel
    w.history_dock.show()
    qtbot.waitUntil(lambda: _stored_count(_last_id()) == 2 and _audio_folders(_last_id()) != [], timeout=WAIT_MS)
    panel.open_conversation(_last_id())
    buttons = [b for b in panel.audio_row.findChildren(QPushButton) if b.text().startswith("▶")]
    assert [b.text() for b in buttons][-1] == "▶ Assistant"  # "▶ You" too when the microphone sent audio
    before = app.sink.played_samples
    qtbot.mouseClick(buttons[-1], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.sink.played_samples > before + 24000, timeout=WAIT_MS)  # over a second of answer


def _last_id() -> str:
    with HistoryStore(Path(os.environ["VOICEDESK_DATA_DIR"]) / "history.sqlite3") as store:
        return store.resolve("last")


def _audio_folders(conversation_id: str) -> list[Path]:
    with HistoryStore(Path(os.environ["VOICEDESK_DATA_DIR"]) / "history.sqlite3") as store:
        return store.audio_folders(conversation_id)
