"""The window as a person meets it: the conversation in the main area, the developer drawer on demand, one way
to Settings, one banner of each kind, the talk button's words and keys, every menu action reachable from the
keyboard, and a layout that works from 800x600 to 2560x1440."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from tests.qt.uikit import WAIT_MS, AppHarness
from voicedesk.audio.base import AudioProblem
from voicedesk.session import events as se
from voicedesk.ui.accessibility import describe_unnamed, unnamed_focusable
from voicedesk.ui.main_window import MainWindow
from voicedesk.ui.shortcuts_sheet import KeyboardShortcutsSheet, action_name

MakeApp = Callable[..., AppHarness]


def _inside(window: MainWindow, widget: QWidget) -> bool:
    """Shown whole inside the window (not clipped by it, not squeezed to nothing)."""
    if not widget.isVisible() or widget.width() < 8 or widget.height() < 8:
        return False
    top_left = widget.mapTo(window, widget.rect().topLeft())
    return window.rect().contains(QRect(top_left, widget.size()))


def _shown_labels(window: MainWindow) -> list[QLabel]:
    return [label for label in window.status.findChildren(QLabel) if label.isVisible()]


def _settings_buttons(window: MainWindow) -> list[QAbstractButton]:
    return [b for b in window.findChildren(QAbstractButton) if b.isVisible() and "settings" in b.text().lower()]


def test_the_conversation_has_the_main_area_and_the_drawer_waits_to_be_asked(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    w.resize(1400, 900)
    qtbot.waitUntil(lambda: w.conversation.height() > 400, timeout=WAIT_MS)
    assert w.drawer.isHidden() and not w.tool_log.isVisible(), "the developer panes are hidden by default"
    central = w.centralWidget()
    assert central is not None and w.conversation.width() > 0.9 * central.width()
    assert w.conversation.height() > w.waveform.height() + w.controls.height()
    w.send_text("what is 12 times 7")
    qtbot.waitUntil(lambda: w.tool_log.table.model().rowCount() == 1, timeout=WAIT_MS)
    assert w.drawer.isHidden(), "a tool ran, but the person did not ask for the drawer to open by itself"
    qtbot.waitUntil(lambda: "calculator" in w.conversation.plain_text(), timeout=WAIT_MS)  # inline, as a chip


def test_the_drawer_opens_the_first_time_a_tool_runs_when_asked_to(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    w.drawer.open_on_tool.setChecked(True)
    w.send_text("what is 12 times 7")
    qtbot.waitUntil(w.drawer.isVisible, timeout=WAIT_MS)
    assert w.side_tabs.currentWidget() is w.tool_log and w.drawer.toggle_action.isChecked()
    w.drawer.toggle_action.trigger()  # closed by the person: a second tool does not reopen it
    assert w.drawer.isHidden()
    calls = w.tool_log.table.model().rowCount()
    qtbot.waitUntil(app.seen(se.AgentEnd, lambda e: e.status == "completed"), timeout=WAIT_MS)
    w.send_text("what is 3 times 5")
    qtbot.waitUntil(lambda: w.tool_log.table.model().rowCount() > calls, timeout=WAIT_MS)
    assert w.drawer.isHidden()


def test_one_settings_button_and_one_banner_of_each_kind(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()  # no key: the local-server notice shows
    w = app.window
    assert app.problem is not None
    for n in range(3):
        app.problem(AudioProblem(f"Output device 'Speaker {n}' failed; switching to the default", f"Speaker {n}"))
        w.view_model.on_event(se.ErrorOccurred(f"Rate limited ({n})", "rate_limited", hint="Wait a moment."))
    qtbot.waitUntil(lambda: "Speaker 2" in w.audio_notice.message, timeout=WAIT_MS)
    banners = [b for b in (w.local_notice, w.audio_notice, w.banner) if b.isVisible()]
    assert len(banners) == 3, "setup, sound and session: one each, each with its newest message"
    assert "(2)" in w.banner.message
    assert len(_settings_buttons(w)) == 1, [b.text() for b in _settings_buttons(w)]
    for banner in banners:
        if banner.action_button.isVisible():
            assert "settings" not in banner.action_button.text().lower().replace("audio settings", ""), (
                "a banner offers the specific page, never a second plain Settings"
            )


def test_the_talk_button_is_large_and_follows_the_system_font(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app(connect=False)
    w = app.window
    base = QApplication.font()
    assert w.controls.talk_button.font().pointSizeF() > base.pointSizeF()
    assert w.controls.talk_button.minimumHeight() >= 2.5 * w.fontMetrics().height()
    assert "Ctrl+K" in w.controls.talk_button.text(), "while disconnected it says how to connect"
    bigger = QFont(base)
    bigger.setPointSizeF(base.pointSizeF() * 1.5)
    before = w.controls.talk_button.font().pointSizeF()
    QApplication.setFont(bigger)
    try:
        qtbot.waitUntil(lambda: w.controls.talk_button.font().pointSizeF() > before * 1.3, timeout=WAIT_MS)
    finally:
        QApplication.setFont(base)


def test_usable_at_800x600_and_at_2560x1440(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    essentials: list[QWidget] = [
        w.top_bar.connect_button,
        w.settings_button,
        w.conversation.browser,
        w.conversation.message_box,
        w.conversation.send_button,
        w.waveform,
        w.controls.talk_button,
        w.controls.interrupt_button,
    ]
    assert w.minimumSizeHint().width() <= 800 and w.minimumSizeHint().height() <= 600
    w.resize(800, 600)
    qtbot.waitUntil(lambda: w.size().width() == 800 and w.size().height() == 600, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: all(_inside(w, x) for x in essentials), timeout=WAIT_MS)
    assert w.conversation.browser.height() >= 150, "room to read at 800x600"
    limits = (se.RateLimit("requests", 5000, 4999, 1.0), se.RateLimit("tokens", 40000, 39000, 1.0))
    w.view_model.on_event(se.RateLimitsReported(limits))
    w.status.usage_label.setText("1,234,567 tokens · ≈ $12.3456 (estimate)")
    w.status.latency_label.setText("latency 1,234 ms / 1,456 ms played")
    w.resize(w.minimumWidth(), 600)  # the narrowest the window goes, whatever the status line says
    qtbot.waitUntil(lambda: w.width() == w.minimumWidth(), timeout=WAIT_MS)

    def status_fits() -> bool:
        # whole: inside the window, and as wide as its text (a squeezed label clips its text)
        return all(_inside(w, label) and label.width() >= label.sizeHint().width() for label in _shown_labels(w))

    qtbot.waitUntil(status_fits, timeout=WAIT_MS)
    assert w.status.connection_label.isVisible() and w.status.usage_label.isVisible(), "what matters most stays"
    w.resize(800, 600)
    qtbot.waitUntil(lambda: w.size().width() == 800, timeout=WAIT_MS)
    w.drawer.show()
    qtbot.waitUntil(lambda: w.drawer.width() > 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: all(_inside(w, x) for x in essentials), timeout=WAIT_MS)
    w.drawer.hide()
    w.resize(2560, 1440)
    qtbot.waitUntil(lambda: w.conversation.browser.height() > 900, timeout=WAIT_MS)
    assert all(_inside(w, x) for x in essentials)
    assert w.controls.talk_button.width() <= 520, "a big target, not a bar across the screen"
    assert w.waveform.height() < 0.25 * w.height(), "the conversation keeps the main area"


def test_every_menu_action_has_keys_and_mnemonics_do_not_clash(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app(connect=False, history=True)
    w = app.window
    by_menu: dict[str, list[str]] = {}
    for entry in w.menus.entries:
        assert entry.keys.strip(", ") and "Alt+," not in entry.keys, f"no way to {entry.action.text()} by keyboard"
        if not entry.action.shortcuts():
            by_menu.setdefault(entry.menu, []).append(entry.keys)
    for menu, paths in by_menu.items():
        assert len(paths) == len(set(paths)), f"two entries of {menu} share a mnemonic: {paths}"
    texts = [e.action.text() for e in w.menus.entries]
    assert any("History" in t for t in texts) and any("Tool log" in t for t in texts)


def test_the_global_shortcut_is_named_on_the_talk_button(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()  # push-to-talk
    w = app.window
    assert not w.menus.mute.isEnabled(), "nothing to mute with push-to-talk: the microphone is off unless held"
    w.controls.set_global_key("Ctrl+Alt+Space")
    assert "Ctrl+Alt+Space anywhere" in w.controls.talk_button.text()
    w.controls.set_global_key("")
    assert "anywhere" not in w.controls.talk_button.text()


def _focusable(window: MainWindow) -> set[QWidget]:
    """What Tab should reach: shown, enabled widgets that take the focus from Tab (a widget's focus proxy for it)."""
    found = set()
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or not widget.isEnabled() or widget.focusProxy() is not None:
            continue
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.window() is window:
            found.add(widget)
    return found


def _tab_through(qtbot: QtBot, window: MainWindow, first: QWidget, presses: int) -> list[QWidget]:
    first.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(first.hasFocus, timeout=WAIT_MS)
    visited = [first]
    for _ in range(presses):
        focused = QApplication.focusWidget()
        assert focused is not None, "the focus left the window"
        QTest.keyClick(focused, Qt.Key.Key_Tab)
        now = QApplication.focusWidget()
        assert now is not None
        visited.append(now)
        if now is first:
            break
    return visited


def test_every_control_has_a_name_and_tab_reaches_each_in_a_cycle(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app(history=True)
    w = app.window
    w.resize(1400, 900)
    w.drawer.show()
    if w.history_dock is not None:
        w.history_dock.show()
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=WAIT_MS)
    w.send_text("what is 12 times 7")  # a tool chip in the conversation, a row in the tool log
    qtbot.waitUntil(lambda: w.tool_log.table.model().rowCount() == 1, timeout=WAIT_MS)
    assert not unnamed_focusable(w), describe_unnamed(unnamed_focusable(w))
    expected = _focusable(w)
    assert {w.top_bar.connect_button, w.settings_button, w.controls.talk_button, w.conversation.message_box} <= expected
    visited = _tab_through(qtbot, w, w.top_bar.connect_button, presses=4 * len(expected))
    assert visited[-1] is w.top_bar.connect_button, "Tab comes back round to where it started"
    missed = expected - set(visited)
    assert not missed, describe_unnamed(sorted(missed, key=lambda x: x.objectName()))
    order = [x for x in visited if x in (w.top_bar.connect_button, w.conversation.message_box, w.controls.talk_button)]
    assert order[:3] == [w.top_bar.connect_button, w.conversation.message_box, w.controls.talk_button], (
        "top bar, then the conversation, then the talk bar: the order they are seen in"
    )


def test_space_presses_a_button_reached_with_tab_and_talks_everywhere_else(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=WAIT_MS)
    qtbot.mouseClick(w.top_bar.connect_button, Qt.MouseButton.LeftButton)  # disconnects; the focus stays put
    qtbot.waitUntil(lambda: w.view_model.connection == "disconnected", timeout=WAIT_MS)
    assert not w.top_bar.connect_button.hasFocus(), "a click does not move the focus to a button"
    w.settings_button.setFocus(Qt.FocusReason.TabFocusReason)
    QTest.keyClick(w.windowHandle(), Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: w.settings_dialog is not None and w.settings_dialog.isVisible(), timeout=WAIT_MS)
    assert w.settings_dialog is not None
    w.settings_dialog.reject()


def test_the_shortcuts_sheet_lists_every_menu_action_and_the_talk_keys(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app(connect=False, history=True)
    w = app.window
    w.menus.shortcuts.trigger()  # Help → Keyboard shortcuts
    sheet = w.shortcuts_sheet
    assert isinstance(sheet, KeyboardShortcutsSheet) and sheet.isVisible()
    listed = {(row.action, row.keys) for row in sheet.rows}
    for entry in w.menus.entries:
        assert (action_name(entry.action), entry.keys) in listed, entry.action.text()
    keys = {row.keys for row in sheet.rows}
    assert {"Space", "Esc", "F12", "Ctrl+,", "Ctrl+M", "Ctrl+K"} <= keys, keys
    assert not unnamed_focusable(sheet), describe_unnamed(unnamed_focusable(sheet))
    QTest.keyClick(sheet, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not sheet.isVisible(), timeout=WAIT_MS)
