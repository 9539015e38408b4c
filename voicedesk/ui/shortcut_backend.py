"""What every global-shortcut backend is to the window: ``pressed`` and ``released`` of the whole hold
(repeats filtered), and one line of ``status`` for Settings (working, or why not)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from voicedesk.app.shortcut_keys import HoldState, Shortcut


class ShortcutBackend(QObject):
    pressed = Signal()
    released = Signal()
    status_changed = Signal(str)

    name = "none"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.status = ""
        self.active = False
        self.shortcut: Shortcut | None = None
        self._hold = HoldState()

    def start(self, shortcut: Shortcut) -> None:
        """Catch ``shortcut`` from now on (replacing any earlier one); the outcome is ``status``."""
        raise NotImplementedError

    def stop(self) -> None:
        """Let the key go (a hold in progress ends with a release, so the microphone never stays open)."""
        self.key(False)
        self.active = False
        self.shortcut = None

    # ------------------------------------------------------------------ for the backends

    def activate(self, shortcut: Shortcut, status: str) -> None:
        self.active = True
        self.shortcut = shortcut
        self._set_status(status)

    def fail(self, status: str) -> None:
        self.active = False
        self._set_status(status)

    def key(self, pressed: bool) -> None:
        if pressed and self._hold.press():
            self.pressed.emit()
        elif not pressed and self._hold.release():
            self.released.emit()

    def _set_status(self, status: str) -> None:
        self.status = status
        self.status_changed.emit(status)


class NoShortcut(ShortcutBackend):
    """A desktop that offers no way to catch keys for a program in the background."""

    def __init__(self, reason: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reason = reason

    def start(self, shortcut: Shortcut) -> None:
        self.fail(self._reason)
