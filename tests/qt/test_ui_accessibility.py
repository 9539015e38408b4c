"""Accessibility of the panes and dialogs: every control Tab reaches has a name a screen reader can say,
Settings opens on a page by name and fits a small screen, and Help → Keyboard shortcuts lists, filters and
closes with the keyboard."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QComboBox, QFormLayout, QLineEdit, QPushButton, QSpinBox, QWidget
from pytestqt.qtbot import QtBot

from tests.qt.uikit import WAIT_MS
from voicedesk.app.profiles import Profile
from voicedesk.config import AppSettings
from voicedesk.history import HistoryStore
from voicedesk.tools.approval import ApprovalRequest, ToolSource
from voicedesk.ui.accessibility import describe_unnamed, name_form_fields, unnamed_focusable
from voicedesk.ui.approval_cards import ApprovalCards
from voicedesk.ui.event_inspector import EventInspector
from voicedesk.ui.history_panel import HistoryPanel
from voicedesk.ui.profile_picker import ProfilePicker
from voicedesk.ui.settings_dialog import PAGES, PageScroll, SettingsDialog
from voicedesk.ui.settings_profiles import ProfilesHooks
from voicedesk.ui.shortcuts_sheet import KeyboardShortcutsSheet, ShortcutRow, rows_from_actions, talking_rows


def assert_all_named(root: QWidget) -> None:
    unnamed = unnamed_focusable(root)
    assert not unnamed, describe_unnamed(unnamed)


def _dialog(qtbot: QtBot, profiles: bool = True) -> SettingsDialog:
    hooks = ProfilesHooks([Profile("Helper"), Profile("Translator")], ["calculator", "get_time"])
    dialog = SettingsDialog(AppSettings(), save_key=lambda _kind, _key: None, profiles=hooks if profiles else None)
    qtbot.addWidget(dialog)
    return dialog


@pytest.fixture
def big_font(qapp: QApplication) -> Iterator[None]:
    before = qapp.font()
    font = qapp.font()
    font.setPointSizeF(before.pointSizeF() * 1.5)
    qapp.setFont(font)
    yield
    qapp.setFont(before)


# ------------------------------------------------------------------ the check itself


def test_the_check_finds_unnamed_fields_and_leaves_named_and_internal_parts_alone(qtbot: QtBot) -> None:
    root = QWidget()
    qtbot.addWidget(root)
    form = QFormLayout(root)
    edit, spin, combo = QLineEdit(), QSpinBox(), QComboBox()
    combo.setEditable(True)
    form.addRow("&Name:", edit)
    form.addRow("Count", spin)
    form.addRow("", combo)  # no label: nothing to name it after
    symbol, worded, hidden = QPushButton("▶"), QPushButton("&Save"), QLineEdit()
    for widget in (symbol, worded, hidden):
        form.addRow(widget)
    hidden.hide()
    assert set(unnamed_focusable(root)) == {edit, spin, combo, symbol}
    assert name_form_fields(form) == [edit, spin]
    assert (edit.accessibleName(), spin.accessibleName()) == ("Name", "Count")
    # Named: the combo's and the spin box's own line edits are parts of them, never reported on their own.
    assert set(unnamed_focusable(root)) == {combo, symbol}
    combo.setAccessibleName("Colour")
    symbol.setAccessibleName("Play")
    assert unnamed_focusable(root) == []


# ------------------------------------------------------------------ Settings


def test_every_settings_page_names_its_controls(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.show()
    for choice in ("azure", "custom", "openai"):  # the rows each endpoint shows
        dialog.endpoint_box.setCurrentIndex(dialog.endpoint_box.findData(choice))
        for page in PAGES:
            dialog.show_page(page)
            assert_all_named(dialog)
    assert dialog.azure_endpoint_edit.accessibleName() == "Azure resource URL"
    assert dialog.key_edit.accessibleName() == "API key" and "keychain" in dialog.key_edit.accessibleDescription()
    assert dialog.tabs.tabBar().accessibleName() == "Settings pages"


def test_settings_opens_on_a_page_by_name_with_the_focus_on_its_first_field(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.show()
    qtbot.waitExposed(dialog)
    for page in reversed(PAGES):
        dialog.show_page(page)
        assert dialog.current_page() == page
        assert dialog.tabs.currentWidget().isAncestorOf(dialog.focusWidget())
    assert dialog.tabs.tabText(dialog.tabs.currentIndex()) == "Connection"
    dialog.show_page("assistants")
    dialog.focus_key()
    assert dialog.current_page() == "connection" and dialog.focusWidget() is dialog.key_edit
    with pytest.raises(ValueError, match="no Settings page 'wifi'"):
        dialog.show_page("wifi")
    without_profiles = _dialog(qtbot, profiles=False)
    with pytest.raises(ValueError, match="assistants"):
        without_profiles.show_page("assistants")


@pytest.mark.parametrize("font", ["system", "large"])
def test_settings_fits_an_800_by_600_screen(qtbot: QtBot, request: pytest.FixtureRequest, font: str) -> None:
    if font == "large":
        request.getfixturevalue("big_font")
    dialog = _dialog(qtbot)
    small = QSize(780, 560)
    assert dialog.minimumSizeHint().boundedTo(small) == dialog.minimumSizeHint()
    size = dialog.initial_size(QSize(800, 600))
    assert size.boundedTo(small) == size
    dialog.resize(size)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.size() == size
    # The tallest page scrolls within the dialog instead of being cut off.
    dialog.show_page("assistants")
    area, page = dialog.tabs.currentWidget(), dialog.profiles_tab
    assert isinstance(area, PageScroll) and page is not None
    qtbot.waitUntil(lambda: page.isVisible() and page.height() >= page.minimumSizeHint().height(), timeout=WAIT_MS)
    bar = area.verticalScrollBar()
    assert bar.maximum() > 0 or area.viewport().height() >= page.minimumSizeHint().height()


# ------------------------------------------------------------------ the panes


def test_the_tool_log_the_inspector_and_the_picker_name_their_controls(qtbot: QtBot) -> None:
    from voicedesk.ui.tool_log import ToolLogView

    for widget in (ToolLogView(), EventInspector(), ProfilePicker()):
        qtbot.addWidget(widget)
        widget.show()
        assert_all_named(widget)


def test_the_history_panel_names_its_controls_in_the_list_and_in_a_conversation(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        conversation = store.begin(started_at=time.time(), conversation_id="c" * 32)
        record = {"id": "i1", "type": "message", "role": "user", "status": "completed"}
        store.add_item(conversation, record | {"text": "Hello", "transcript": "", "created_at": time.time()})
    panel = HistoryPanel(path)
    qtbot.addWidget(panel)
    panel.show()
    panel.refresh()
    assert_all_named(panel)
    panel.open_conversation("c" * 32)
    assert panel.open_id == "c" * 32
    assert_all_named(panel)
    panel.close_store()


def test_an_approval_card_names_its_buttons_after_the_tool(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    cards = ApprovalCards()
    qtbot.addWidget(cards)
    request = ApprovalRequest("send_mail", {"to": "marie@example.org"}, ToolSource.MCP, server="mail")
    asked = qloop.create_task(cards.ask(request))
    qtbot.waitUntil(lambda: len(cards.cards) == 1, timeout=WAIT_MS)
    card = cards.cards[0]
    assert_all_named(cards)
    assert card.deny_button.accessibleName() == "Deny send_mail"
    assert "marie@example.org" in card.accessibleDescription()
    card.deny_button.click()
    qtbot.waitUntil(asked.done, timeout=WAIT_MS)


# ------------------------------------------------------------------ Help → Keyboard shortcuts


def _actions(parent: QWidget) -> list[QAction]:
    export = QAction("&Export…", parent)
    export.setShortcuts([QKeySequence("Ctrl+E"), QKeySequence("Ctrl+Shift+E")])
    history = QAction("&History", parent)
    history.setShortcut(QKeySequence("Ctrl+H"))
    about = QAction("About voicedesk", parent)  # no shortcut: not a row
    hidden = QAction("Hidden", parent)
    hidden.setShortcut(QKeySequence("Ctrl+J"))
    hidden.setVisible(False)
    separator = QAction(parent)
    separator.setSeparator(True)
    return [export, history, about, hidden, separator]


def test_rows_come_from_the_actions_that_have_shortcuts(qtbot: QtBot) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    actions = _actions(owner)
    native = QKeySequence.SequenceFormat.NativeText
    rows = rows_from_actions(actions, lambda action: "View" if "History" in action.text() else "File")
    assert rows == [
        ShortcutRow(
            "Export",
            f"{QKeySequence('Ctrl+E').toString(native)}, {QKeySequence('Ctrl+Shift+E').toString(native)}",
            "File",
        ),
        ShortcutRow("History", QKeySequence("Ctrl+H").toString(native), "View"),
    ]
    assert [row.group for row in rows_from_actions(actions)] == ["", ""]
    assert [row.action for row in talking_rows("Ctrl+Alt+Space")][-1] == "Hold to talk from any application"
    assert len(talking_rows(None)) == 2


def test_the_shortcuts_sheet_filters_and_closes_with_the_keyboard(qtbot: QtBot) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    rows = [*rows_from_actions(_actions(owner), lambda _action: "Window"), *talking_rows("Ctrl+Alt+Space")]
    sheet = KeyboardShortcutsSheet(rows)
    qtbot.addWidget(sheet)
    sheet.show()
    qtbot.waitExposed(sheet)
    assert_all_named(sheet)
    assert sheet.filter_box.placeholderText() == "Type to filter" and sheet.focusWidget() is sheet.filter_box
    assert sheet.visible_rows() == rows
    qtbot.keyClicks(sheet.filter_box, "interrupt")
    assert [row.action for row in sheet.visible_rows()] == ["Interrupt the answer"]
    groups = [sheet.tree.topLevelItem(i) for i in range(sheet.tree.topLevelItemCount())]
    assert [(g.text(0), g.isHidden()) for g in groups if g is not None] == [("Window", True), ("Talking", False)]
    sheet.filter_box.clear()
    qtbot.keyClicks(sheet.filter_box, "WINDOW ctrl+h")  # every word, any case: the action, its keys, its group
    assert [row.action for row in sheet.visible_rows()] == ["History"]
    qtbot.keyClick(sheet.filter_box, Qt.Key.Key_Down)
    current = sheet.tree.currentItem()
    assert current is not None and current.text(0) == "History" and sheet.focusWidget() is sheet.tree
    qtbot.keyClick(sheet.tree, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not sheet.isVisible(), timeout=WAIT_MS)
    sheet.show()
    qtbot.mouseClick(sheet.close_button, Qt.MouseButton.LeftButton)
    assert not sheet.isVisible()
