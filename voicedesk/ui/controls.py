"""The talk, interrupt, connect and settings buttons, and the keys that go with them.

Push-to-talk: press and hold the Talk button, or hold Space while no text field has the focus (turn
detection ``none``). In the VAD modes the same button mutes and unmutes the microphone. Interrupt
(also Esc) is enabled only while the assistant is answering. The widget only reports what the person
did; the window decides what that means for the session.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QWidget,
)

from voicedesk.ui.view_model import SessionViewModel


def _is_text_input(widget: QWidget | None) -> bool:
    if isinstance(widget, QLineEdit | QAbstractSpinBox):
        return True
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    if isinstance(widget, QPlainTextEdit | QTextEdit):
        return not widget.isReadOnly()
    return False


class TalkControls(QWidget):
    talk_pressed = Signal()
    talk_released = Signal(float)  # seconds held
    mute_toggled = Signal(bool)  # muted
    interrupt_requested = Signal()
    connect_requested = Signal()
    settings_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connect_button = QPushButton("Connect")
        self.connect_button.setObjectName("connect_button")
        self.talk_button = QPushButton("Hold to talk")
        self.talk_button.setObjectName("talk_button")
        self.talk_button.setMinimumWidth(190)
        self.talk_button.setToolTip("Hold to talk (or hold Space); release to send")
        self.interrupt_button = QPushButton("Interrupt")
        self.interrupt_button.setObjectName("interrupt_button")
        self.interrupt_button.setToolTip("Stop the assistant at once (Esc)")
        self.settings_button = QPushButton("Settings…")
        self.settings_button.setObjectName("settings_button")
        layout = self.row = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.connect_button)
        layout.addStretch(1)
        layout.addWidget(self.talk_button)
        layout.addWidget(self.interrupt_button)
        layout.addStretch(1)
        layout.addWidget(self.settings_button)
        self.push_to_talk = True
        self.has_microphone = True
        self.holding = False
        self._shown: tuple[str, str, bool, bool] = ("disconnected", "idle", True, False)
        self._held_since = 0.0
        self.connect_button.clicked.connect(self.connect_requested)
        self.settings_button.clicked.connect(self.settings_requested)
        self.interrupt_button.clicked.connect(self.interrupt_requested)
        self.talk_button.pressed.connect(self._press)
        self.talk_button.released.connect(self._release)
        self.talk_button.toggled.connect(self._toggled)
        self.apply_state("disconnected", "idle", push_to_talk=True, muted=False)

    # ------------------------------------------------------------------ from the person

    def _press(self) -> None:
        if self.push_to_talk and not self.holding:
            self.holding = True
            self._held_since = time.monotonic()
            self.talk_button.setText("Listening… release to send")
            self.talk_button.setProperty("active", True)
            self._repolish(self.talk_button)
            self.talk_pressed.emit()

    def _release(self) -> None:
        if self.push_to_talk and self.holding:
            self.holding = False
            self.talk_button.setText("Hold to talk")
            self.talk_button.setProperty("active", False)
            self._repolish(self.talk_button)
            self.talk_released.emit(time.monotonic() - self._held_since)

    def _toggled(self, checked: bool) -> None:
        if not self.push_to_talk:
            self.mute_toggled.emit(checked)

    def shortcut_pressed(self) -> None:
        """The global shortcut went down: push-to-talk as Space does; with voice detection, mute/unmute."""
        if not self.talk_button.isEnabled():
            return
        if self.push_to_talk:
            self._press()
        elif self.talk_button.isCheckable():
            self.talk_button.toggle()

    def shortcut_released(self) -> None:
        self._release()

    def handle_key(self, event: QKeyEvent, pressed: bool, target: QWidget | None = None) -> bool:
        """Space (push-to-talk) and Esc (interrupt); True when the key was used."""
        if event.isAutoRepeat():
            return event.key() == Qt.Key.Key_Space and self.holding
        if event.key() == Qt.Key.Key_Escape and pressed:
            if self.interrupt_button.isEnabled():
                self.interrupt_requested.emit()
                return True
            return False
        if event.key() != Qt.Key.Key_Space or not self.push_to_talk or not self.talk_button.isEnabled():
            return False
        if _is_text_input(target if target is not None else QApplication.focusWidget()):
            return False
        if pressed:
            self._press()
        else:
            self._release()
        return True

    # ------------------------------------------------------------------ from the session

    def follow(self, view_model: SessionViewModel) -> None:
        """Show ``view_model``'s state now and whenever it changes."""

        def show() -> None:
            self.apply_state(
                view_model.connection, view_model.activity, push_to_talk=view_model.push_to_talk, muted=view_model.muted
            )

        view_model.state_changed.connect(show)
        show()

    def set_microphone(self, available: bool) -> None:
        """Without a microphone the talk button says so and stays off (it never claims to listen)."""
        self.has_microphone = available
        connection, activity, push_to_talk, muted = self._shown
        self.apply_state(connection, activity, push_to_talk=push_to_talk, muted=muted)

    def apply_state(self, connection: str, activity: str, *, push_to_talk: bool, muted: bool) -> None:
        self._shown = (connection, activity, push_to_talk, muted)
        connected = connection == "connected"
        self.connect_button.setText("Disconnect" if connection != "disconnected" else "Connect")
        self.connect_button.setProperty("connected", connection != "disconnected")
        self._repolish(self.connect_button)
        if push_to_talk != self.push_to_talk:
            if self.holding:
                self._release()
            self.push_to_talk = push_to_talk
        self.talk_button.blockSignals(True)
        self.talk_button.setCheckable(not push_to_talk and connected and self.has_microphone)
        if not self.has_microphone:
            self.talk_button.setText("No microphone — type below")
            self.talk_button.setToolTip("No microphone is available: type your messages")
        elif not connected:
            self.talk_button.setText("Talk (connect first)")
            self.talk_button.setToolTip("Press Connect to start a conversation")
        elif not push_to_talk:
            self.talk_button.setChecked(muted)
            self.talk_button.setText("Microphone muted — click to unmute" if muted else "Listening — click to mute")
            self.talk_button.setToolTip("The server detects when you speak; click to mute or unmute the microphone")
        elif not self.holding:
            self.talk_button.setText("Hold to talk")
            self.talk_button.setToolTip("Hold to talk (or hold Space); release to send")
        self.talk_button.blockSignals(False)
        self.talk_button.setEnabled(connected and self.has_microphone)
        self.interrupt_button.setEnabled(connected and activity in ("speaking", "thinking"))

    @staticmethod
    def _repolish(widget: QWidget) -> None:
        widget.style().unpolish(widget)
        widget.style().polish(widget)


class KeyForwarder(QObject):
    """Space and Esc for the controls wherever the focus is in the window (Space not in text fields).

    Installed on the main window's QWindow, which sees each key event before the focused widget does
    (so Space never "clicks" a focused button), and nothing else of the application's traffic (an
    application-wide filter would run Python for every event of every object).
    """

    def __init__(self, window: QWidget, controls: TalkControls) -> None:
        super().__init__(window)
        self._window = window
        self._controls = controls

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(event, QKeyEvent):
            return False
        if event.key() not in (Qt.Key.Key_Space, Qt.Key.Key_Escape):
            return False
        if QApplication.activeModalWidget() is not None:
            return False
        focus = QApplication.focusWidget()
        target = focus if focus is not None and self._window.isAncestorOf(focus) else self._window
        return self._controls.handle_key(event, kind == QEvent.Type.KeyPress, target)
