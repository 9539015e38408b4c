"""A non-blocking message strip at the top of the window: what went wrong and what to do about it.

Never a dialog and never a traceback. Errors and warnings stay until dismissed or replaced; info
messages fade after a few seconds. One optional action button ("Enter API key…", "Connect").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolButton, QWidget

from voicedesk.ui.announcer import Announcer

Level = Literal["error", "warning", "info", "notice"]
ICONS = {"error": "✖", "warning": "⚠", "info": "ℹ", "notice": "ℹ"}  # glyphs every common UI font has
INFO_MS = 8000


class Banner(QFrame):
    dismissed = Signal()
    shown = Signal(str, str)  # level, message (the tray tells of errors while the window is hidden)

    def __init__(self, parent: QWidget | None = None, *, dismissable: bool = True, name: str = "banner") -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.icon = QLabel()
        self.text = QLabel()
        self.text.setObjectName(f"{name}_text")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.action_button = QPushButton()
        self.action_button.setObjectName(f"{name}_action")
        self.action_button.hide()
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAccessibleName("Dismiss")
        self.close_button.setAccessibleDescription("Hide this message")
        self.close_button.setAutoRaise(True)
        self.close_button.setVisible(dismissable)
        self.close_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.icon)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(self.close_button)
        self._action: Callable[[], object] | None = None
        self.action_button.clicked.connect(self._run_action)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.level: Level = "info"
        self.message = ""
        self.history: list[tuple[Level, str]] = []
        self.announcer = Announcer(self)  # a screen reader says what a banner says, as it appears
        self.hide()

    def show_message(
        self,
        message: str,
        hint: str = "",
        level: Level = "error",
        action: tuple[str, Callable[[], object]] | None = None,
    ) -> None:
        # A fresh error is never hidden by a later info message.
        if self.isVisible() and self.level in ("error", "warning") and level == "info":
            return
        self.level = level
        self.message = message
        self.history.append((level, message))
        del self.history[:-50]
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.icon.setText(ICONS[level])
        self.text.setText(f"<b>{_escape(message)}</b>" + (f"<br>{_escape(hint)}" if hint else ""))
        self.setAccessibleName(f"{level.capitalize()}: {message}")
        self.setAccessibleDescription(hint)
        self.announcer.announce(f"{level.capitalize()}: {message} {hint}".strip(), urgent=level == "error")
        self._action = action[1] if action else None
        self.action_button.setVisible(action is not None)
        if action is not None:
            self.action_button.setText(action[0])
        self._timer.stop()
        if level == "info":
            self._timer.start(INFO_MS)
        self.show()
        self.shown.emit(level, message)

    def _run_action(self) -> None:
        if self._action is not None:
            self._action()

    def dismiss(self) -> None:
        self._timer.stop()
        self.hide()
        self.dismissed.emit()

    def clear(self) -> None:
        self.dismiss()
        self.history.clear()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
