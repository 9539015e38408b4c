"""The global shortcut on Windows and macOS: pynput's keyboard listener (a low-level hook on Windows, a
Quartz event tap on macOS) reports every key's press and release on its own thread; the shortcut's
presses and releases cross to the GUI thread as queued Qt signals.

macOS delivers keys to the tap only once the person allows voicedesk under Privacy & Security →
Accessibility (pynput's ``IS_TRUSTED`` says whether it has been allowed): the status says so.
Untested on this Linux machine: the bundles' CI runners are where it runs.
"""

from __future__ import annotations

import sys
from typing import Any

from pynput import keyboard
from PySide6.QtCore import QObject, Qt, Signal

from voicedesk.app.shortcut_keys import Shortcut
from voicedesk.ui.settings_desktop import MACOS_NOTE
from voicedesk.ui.shortcut_backend import ShortcutBackend

_MODIFIER_KEYS: dict[str, tuple[Any, ...]] = {
    "Ctrl": (keyboard.Key.ctrl, keyboard.Key.ctrl_l, keyboard.Key.ctrl_r),
    "Alt": (keyboard.Key.alt, keyboard.Key.alt_l, keyboard.Key.alt_r, keyboard.Key.alt_gr),
    "Shift": (keyboard.Key.shift, keyboard.Key.shift_l, keyboard.Key.shift_r),
    "Meta": (keyboard.Key.cmd, keyboard.Key.cmd_l, keyboard.Key.cmd_r),
}


def _target_key(shortcut: Shortcut) -> Any:
    name = shortcut.key.lower()
    special = getattr(keyboard.Key, {"esc": "esc", "pgup": "page_up", "pgdown": "page_down"}.get(name, name), None)
    if special is not None:
        return special
    return keyboard.KeyCode.from_char(name) if len(name) == 1 else None


class PynputShortcut(ShortcutBackend):
    name = "pynput keyboard listener"
    _key_from_thread = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._listener: Any = None
        self._down: set[str] = set()
        self._wanted: set[str] = set()
        self._target: Any = None
        self._key_from_thread.connect(self.key, Qt.ConnectionType.QueuedConnection)

    def start(self, shortcut: Shortcut) -> None:
        self.stop()
        self._target = _target_key(shortcut)
        if self._target is None:
            self.fail(f"{shortcut.text} cannot be used here: pynput knows no key {shortcut.key}. Choose another.")
            return
        self._wanted = set(shortcut.modifiers)
        self._down = set()
        self._listener = keyboard.Listener(on_press=self._on_press, on_release=self._on_release)
        self._listener.start()
        if sys.platform == "darwin" and not getattr(self._listener, "IS_TRUSTED", True):
            self.fail(f"{shortcut.text} needs a permission first. {MACOS_NOTE}")
            return
        self.activate(shortcut, f"{shortcut.text} works in every application.")

    def stop(self) -> None:
        super().stop()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()

    # On pynput's thread: only set membership and a queued signal.
    def _modifier(self, key: Any) -> str | None:
        for name, keys in _MODIFIER_KEYS.items():
            if key in keys:
                return name
        return None

    def _canonical(self, key: Any) -> Any:
        # With Ctrl held, Windows reports letters as control characters: canonical() undoes that.
        listener = self._listener
        return listener.canonical(key) if listener is not None else key

    def _on_press(self, key: Any) -> None:
        key = self._canonical(key)
        modifier = self._modifier(key)
        if modifier is not None:
            self._down.add(modifier)
        elif key == self._target and self._down == self._wanted:
            self._key_from_thread.emit(True)

    def _on_release(self, key: Any) -> None:
        key = self._canonical(key)
        modifier = self._modifier(key)
        if modifier is not None:
            self._down.discard(modifier)
        elif key == self._target:
            self._key_from_thread.emit(False)
