"""The window's menus and their actions, each with a shortcut or a menu path the keyboard reaches, so the
Help → Keyboard shortcuts sheet can list every one of them from here and never go stale."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from voicedesk.ui.accessibility import plain_label
from voicedesk.ui.controls import CONNECT_KEY, MUTE_KEY
from voicedesk.ui.shortcuts_sheet import ShortcutRow, action_name, native_keys, talking_rows

if TYPE_CHECKING:
    from voicedesk.ui.main_window import MainWindow

SETTINGS_KEY = "Ctrl+,"
SHORTCUTS_KEYS = ("Ctrl+/", "F1")


@dataclass(frozen=True, slots=True)
class MenuEntry:
    menu: str  # the menu's title as shown ("File")
    action: QAction

    @property
    def keys(self) -> str:
        """The action's shortcuts, or the menu path (Alt+F, M) when it has none."""
        shown = [native_keys(s) for s in self.action.shortcuts()]
        if shown:
            return ", ".join(shown)
        return f"Alt+{_mnemonic(self.menu)}, {_mnemonic(self.action.text())}"


def _mnemonic(text: str) -> str:
    i = text.find("&")
    return text[i + 1].upper() if 0 <= i < len(text) - 1 else ""


class WindowActions:
    def __init__(self, window: MainWindow) -> None:
        self._window = window
        self.entries: list[MenuEntry] = []
        bar = window.menuBar()
        exports = window.exports
        file_menu = bar.addMenu("&File")
        self.export_all = self._add(file_menu, "&Export everything…", exports.export_all, "Ctrl+E")
        file_menu.addSeparator()
        self._add(file_menu, "Export conversation as &Markdown…", partial(exports.export_one, "md"))
        self._add(file_menu, "Export conversation as &JSON…", partial(exports.export_one, "json"))
        self._add(file_menu, "Export &audio (WAV)…", partial(exports.export_one, "wav"))
        self._add(file_menu, "Save &debug bundle…", partial(exports.export_one, "bundle"))
        file_menu.addSeparator()
        self._add(file_menu, "&Quit", lambda: window.desktop.quit(), "Ctrl+Q")
        session = bar.addMenu("&Session")
        self.connect = self._add(session, "&Connect / disconnect", window.toggle_connection, CONNECT_KEY)
        self.mute = self._add(session, "&Mute / unmute the microphone", window.controls.toggle_mute, MUTE_KEY)
        self.type_message = self._add(session, "&Type a message", window.focus_message_box, "Ctrl+L")
        self.clear = self._add(session, "C&lear conversation view", window.clear_views, "Ctrl+Shift+L")
        session.addSeparator()
        self.settings = self._add(session, "&Settings…", window.open_settings, SETTINGS_KEY)
        self.view_menu = bar.addMenu("&View")
        self.help_menu = bar.addMenu("&Help")
        self.shortcuts = self._add(self.help_menu, "&Keyboard shortcuts", window.show_shortcuts, *SHORTCUTS_KEYS)

    def add_view(self, action: QAction) -> None:
        """A dock's toggle (it keeps its own checked state and shortcut)."""
        self.view_menu.addAction(action)
        self.entries.append(MenuEntry("&View", action))

    def _add(self, menu: QMenu, text: str, slot: Callable[[], object], *shortcuts: str) -> QAction:
        action = QAction(text, self._window)
        if shortcuts:
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.entries.append(MenuEntry(menu.title(), action))
        return action

    def shortcut_rows(self, global_key: str) -> list[ShortcutRow]:
        """What the Keyboard shortcuts sheet lists: every menu action (its shortcut, or its menu path), then the
        keys of the talk bar."""
        rows = [ShortcutRow(action_name(e.action), e.keys, plain_label(e.menu)) for e in self.entries]
        rows += talking_rows(global_key or None)
        rows.append(ShortcutRow("Paste an image to share it", native_keys("Ctrl+V"), rows[-1].group))
        return rows
