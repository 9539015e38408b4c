"""The row at the top of the window: Connect (and the assistant picker beside it), then the switches for the
side panes and the one Settings button on screen. Each button runs the same QAction as its menu entry, so
the two never disagree and the shortcut sheet lists one thing."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QToolButton, QWidget

from voicedesk.ui.controls import CONNECT_KEY
from voicedesk.ui.shortcuts_sheet import action_name
from voicedesk.ui.view_model import SessionViewModel


def action_button(action: QAction, name: str, description: str) -> QToolButton:
    """A button for ``action``: its text, checked state and enabled state follow the action."""
    button = QToolButton()
    button.setDefaultAction(action)
    button.setObjectName(name)
    button.setAccessibleName(action_name(action))
    button.setAccessibleDescription(description)
    shortcut = action.shortcut().toString()
    button.setToolTip(f"{description} ({shortcut})" if shortcut else description)
    return button


class TopBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connect_button = QPushButton("Connect")
        self.connect_button.setObjectName("connect_button")
        self.connect_button.setAccessibleName("Connect")
        self.connect_button.setToolTip(f"Connect to the model, or disconnect ({CONNECT_KEY})")
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.addWidget(self.connect_button)
        self.row.addStretch(1)

    def add_right(self, button: QWidget) -> None:
        self.row.addWidget(button)

    def follow(self, view_model: SessionViewModel) -> None:
        def show() -> None:
            connection = view_model.connection
            text = "Disconnect" if connection != "disconnected" else "Connect"
            self.connect_button.setText(text)
            self.connect_button.setAccessibleName(text)
            self.connect_button.setProperty("connected", connection != "disconnected")
            self.connect_button.style().unpolish(self.connect_button)
            self.connect_button.style().polish(self.connect_button)

        view_model.state_changed.connect(show)
        show()
