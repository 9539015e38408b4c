"""The talk bar: the large talk / mute button and Interrupt, and the keys that go with them.

Push-to-talk: press and hold the talk button, or hold Space while no text field has the focus (turn
detection ``none``). In the voice-detection modes the same button mutes and unmutes the microphone.
Interrupt (also Esc) is enabled only while the assistant is answering. The button always says what a
press does now and which key does the same. The widget only reports what the person did; the window
decides what that means for the session.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QTextEdit,
    QWidget,
)

from voicedesk.ui.view_model import SessionViewModel

TALK_KEY = "Space"
INTERRUPT_KEY = "Esc"
MUTE_KEY = "Ctrl+M"
CONNECT_KEY = "Ctrl+K"


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

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.talk_button = QPushButton()
        self.talk_button.setObjectName("talk_button")
        self.talk_button.setAccessibleName("Talk")
        self.talk_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.talk_button.setMinimumWidth(220)
        self.talk_button.setMaximumWidth(520)  # a big target, not a bar across a 2560-pixel window
        self.interrupt_button = QPushButton(f"Interrupt\n{INTERRUPT_KEY}")
        self.interrupt_button.setObjectName("interrupt_button")
        self.interrupt_button.setAccessibleName("Interrupt")
        self.interrupt_button.setAccessibleDescription("Stop the assistant at once (Esc)")
        self.interrupt_button.setToolTip("Stop the assistant at once (Esc)")
        self._scale_fonts()
        layout = self.row = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addStretch(1)
        layout.addWidget(self.talk_button, 4)
        layout.addWidget(self.interrupt_button)
        layout.addStretch(1)
        self.push_to_talk = True
        self.has_microphone = True
        self.holding = False
        self.global_key = ""  # the desktop-wide shortcut, when one is caught
        self.action_text = ""  # what a press of the talk button does now
        self._shown: tuple[str, str, bool, bool] = ("disconnected", "idle", True, False)
        self._held_since = 0.0
        self.interrupt_button.clicked.connect(self.interrupt_requested)
        self.talk_button.pressed.connect(self._press)
        self.talk_button.released.connect(self._release)
        self.talk_button.toggled.connect(self._toggled)
        self.apply_state("disconnected", "idle", push_to_talk=True, muted=False)

    def _scale_fonts(self) -> None:
        """Larger than the text around them, in points from the system font (so it follows its size)."""
        base = QApplication.font()
        size = base.pointSizeF() if base.pointSizeF() > 0 else 10.0
        talk = QFont(base)
        talk.setPointSizeF(size * 1.3)
        talk.setBold(True)
        self.talk_button.setFont(talk)
        interrupt = QFont(base)
        interrupt.setPointSizeF(size * 1.1)
        self.interrupt_button.setFont(interrupt)
        self.talk_button.setMinimumHeight(int(self.talk_button.fontMetrics().height() * 3.2))
        self.interrupt_button.setMinimumHeight(self.talk_button.minimumHeight())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.ApplicationFontChange, QEvent.Type.FontChange):
            self._scale_fonts()
        super().changeEvent(event)

    # ------------------------------------------------------------------ from the person

    def _press(self) -> None:
        if self.push_to_talk and not self.holding:
            self.holding = True
            self._held_since = time.monotonic()
            self._show_talk("Release to send", "Listening while you hold it")
            self.talk_button.setProperty("active", True)
            self._repolish(self.talk_button)
            self.talk_pressed.emit()

    def _release(self) -> None:
        if self.push_to_talk and self.holding:
            self.holding = False
            self.talk_button.setProperty("active", False)
            self._repolish(self.talk_button)
            self.talk_released.emit(time.monotonic() - self._held_since)
            self._reshow()

    def _toggled(self, checked: bool) -> None:
        if not self.push_to_talk:
            self.mute_toggled.emit(checked)

    def toggle_mute(self) -> None:
        """The mute shortcut (Ctrl+M): with voice detection, as a click on the button; nothing otherwise."""
        if not self.push_to_talk and self.talk_button.isEnabled() and self.talk_button.isCheckable():
            self.talk_button.toggle()

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
        focused = target if target is not None else QApplication.focusWidget()
        if _is_text_input(focused):
            return False
        if isinstance(focused, QAbstractButton) and focused is not self.talk_button:
            return False  # a button reached with Tab: Space presses it, as everywhere on the desktop
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
        self._reshow()

    def set_global_key(self, key: str) -> None:
        """The desktop-wide shortcut the button also answers to ("" when none is caught)."""
        self.global_key = key
        self._reshow()

    def _reshow(self) -> None:
        connection, activity, push_to_talk, muted = self._shown
        self.apply_state(connection, activity, push_to_talk=push_to_talk, muted=muted)

    def apply_state(self, connection: str, activity: str, *, push_to_talk: bool, muted: bool) -> None:
        self._shown = (connection, activity, push_to_talk, muted)
        connected = connection == "connected"
        if push_to_talk != self.push_to_talk:
            if self.holding:
                self._release()
            self.push_to_talk = push_to_talk
        self.talk_button.blockSignals(True)
        self.talk_button.setCheckable(not push_to_talk and connected and self.has_microphone)
        if not self.has_microphone:
            self._show_talk("No microphone — type below", "No microphone is available: type your messages", key="")
        elif not connected:
            self._show_talk("Connect to talk", "Press Connect to start a conversation", key=CONNECT_KEY)
        elif not push_to_talk:
            self.talk_button.setChecked(muted)
            if muted:
                self._show_talk("Unmute microphone", "The microphone is muted; press to let the assistant hear you")
            else:
                self._show_talk("Mute microphone", "The assistant hears you when you speak; press to mute")
        elif not self.holding:
            self._show_talk("Hold to talk", "Hold while you speak; release to send")
        self.talk_button.blockSignals(False)
        self.talk_button.setEnabled(connected and self.has_microphone)
        self.interrupt_button.setEnabled(connected and activity in ("speaking", "thinking"))

    def _show_talk(self, action: str, description: str, *, key: str | None = None) -> None:
        """The button's two lines: what a press does now, and the keys that do the same."""
        if key is None:
            key = TALK_KEY if self.push_to_talk else MUTE_KEY
            if self.global_key:
                key = f"{key} · {self.global_key} anywhere"
        self.action_text = action
        self.talk_button.setText(f"{action}\n{key}" if key else action)
        self.talk_button.setToolTip(f"{description} ({key})" if key else description)
        self.talk_button.setAccessibleDescription(f"{description}. Shortcut: {key}." if key else description)

    @staticmethod
    def _repolish(widget: QWidget) -> None:
        widget.style().unpolish(widget)
        widget.style().polish(widget)


class KeyForwarder(QObject):
    """Space and Esc for the controls wherever the focus is in the window (Space not in text fields).

    Installed on the main window's QWindow, which sees each key event before the focused widget does, and
    nothing else of the application's traffic (an application-wide filter would run Python for every event of
    every object). The window's buttons take the focus from Tab only (a click leaves it where it was), so
    Space talks unless the person tabbed to a button, which Space then presses.
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
