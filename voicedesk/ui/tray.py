"""The tray icon: what the session is doing at a glance (idle, listening, thinking, speaking, error), and a
menu to show or hide the window, mute, interrupt, pick the assistant and quit. Errors raise a desktop
notification while the window is hidden.

It drives the same paths as the window: Mute is the talk button's mute toggle (voice detection), Interrupt
the window's interrupt, the assistants the profile picker's choice, Quit the window's quit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from PySide6.QtCore import QObject, QRectF, Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from voicedesk.ui.banner import Banner
from voicedesk.ui.controls import TalkControls
from voicedesk.ui.profile_picker import ProfilesUi
from voicedesk.ui.view_model import SessionViewModel

TrayState = Literal["idle", "listening", "thinking", "speaking", "error"]
GLYPH = "#ffffff"
COLORS: dict[TrayState, str] = {  # each at least 3:1 against the white glyph (WCAG's bar for non-text parts)
    "idle": "#7a7f87",
    "listening": "#2e9d4f",
    "thinking": "#bb891b",
    "speaking": "#2f6fd6",
    "error": "#d2362f",
}
LABELS: dict[TrayState, str] = {
    "idle": "idle",
    "listening": "listening",
    "thinking": "thinking",
    "speaking": "speaking",
    "error": "a problem needs you",
}


def tray_state(*, connected: bool, activity: str, mic_open: bool, error: bool) -> TrayState:
    if error:
        return "error"
    if not connected:
        return "idle"
    if activity == "speaking" or activity == "thinking":
        return activity  # type: ignore[return-value]
    return "listening" if mic_open else "idle"


def state_icon(state: TrayState, size: int = 64) -> QIcon:
    """A disc in the state's colour with a microphone on it (an exclamation mark for an error), drawn now:
    no image files to ship or to lose."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(COLORS[state]))
    painter.drawEllipse(QRectF(2, 2, size - 4, size - 4))
    white = QColor(GLYPH)
    unit = size / 64
    if state == "error":
        painter.setBrush(white)
        painter.drawRoundedRect(QRectF(28 * unit, 13 * unit, 8 * unit, 26 * unit), 3 * unit, 3 * unit)
        painter.drawEllipse(QRectF(28 * unit, 43 * unit, 8 * unit, 8 * unit))
    else:
        painter.setBrush(white)
        painter.drawRoundedRect(QRectF(24 * unit, 12 * unit, 16 * unit, 26 * unit), 8 * unit, 8 * unit)
        pen = QPen(white, 4 * unit)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        arc = QPainterPath()
        arc.arcMoveTo(QRectF(17 * unit, 16 * unit, 30 * unit, 28 * unit), 180)
        arc.arcTo(QRectF(17 * unit, 16 * unit, 30 * unit, 28 * unit), 180, 180)
        painter.drawPath(arc)
        painter.drawLine(int(32 * unit), int(44 * unit), int(32 * unit), int(52 * unit))
    painter.end()
    return QIcon(pixmap)


class TrayIcon(QObject):
    def __init__(
        self,
        window: QWidget,
        view_model: SessionViewModel,
        controls: TalkControls,
        banner: Banner,
        profiles: ProfilesUi,
        *,
        interrupt: Callable[[], None],
        quit_app: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self._window = window
        self._vm = view_model
        self._controls = controls
        self._profiles = profiles
        self._error = False
        self._was_connected = False
        self.state: TrayState = "idle"
        self._icons = {state: state_icon(state) for state in COLORS}
        self.icon = QSystemTrayIcon(self._icons["idle"], self)
        self.icon.setToolTip("voicedesk: idle")
        self.menu = QMenu(window)
        self.menu.setObjectName("tray_menu")
        self.show_action = self._add("Show voicedesk", self.toggle_window)
        self.menu.addSeparator()
        self.mute_action = self._add("Mute the microphone", self._toggle_mute)
        self.mute_action.setCheckable(True)
        self.interrupt_action = self._add("Interrupt", interrupt)
        self.profiles_menu = self.menu.addMenu("Assistant")
        self._profile_group = QActionGroup(self)
        self.menu.addSeparator()
        self.quit_action = self._add("Quit voicedesk", quit_app)
        self.menu.aboutToShow.connect(self.refresh_menu)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        view_model.state_changed.connect(self._follow_state)
        banner.shown.connect(self._banner_shown)
        banner.dismissed.connect(self._problem_gone)
        self.refresh_menu()
        self._follow_state()

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def _add(self, text: str, slot: Callable[[], object]) -> QAction:
        action = self.menu.addAction(text)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    # ------------------------------------------------------------------ state

    def _follow_state(self) -> None:
        vm = self._vm
        if vm.connected and not self._was_connected:
            self._error = False  # connected (again): whatever stopped it is behind
        self._was_connected = vm.connected
        state = tray_state(connected=vm.connected, activity=vm.activity, mic_open=vm.mic_open, error=self._error)
        if state != self.state:
            self.state = state
            self.icon.setIcon(self._icons[state])
        self.icon.setToolTip(f"voicedesk: {LABELS[state]}" + (" (muted)" if vm.muted else ""))
        self.refresh_menu()

    def _banner_shown(self, level: str, message: str) -> None:
        if level != "error":
            return
        self._error = True
        self._follow_state()
        if not self._window.isVisible() and self.icon.isVisible():
            self.icon.showMessage("voicedesk", message, QSystemTrayIcon.MessageIcon.Critical, 8000)

    def _problem_gone(self) -> None:
        self._error = False
        self._follow_state()

    # ------------------------------------------------------------------ the menu

    def refresh_menu(self) -> None:
        vm = self._vm
        self.show_action.setText("Hide voicedesk" if self._window.isVisible() else "Show voicedesk")
        mutable = vm.connected and not vm.push_to_talk and self._controls.talk_button.isEnabled()
        self.mute_action.setEnabled(mutable)
        self.mute_action.setChecked(vm.muted)
        self.mute_action.setToolTip("" if mutable else "Mute works with voice detection, while connected")
        self.interrupt_action.setEnabled(vm.can_interrupt)
        self._refresh_profiles()

    def _refresh_profiles(self) -> None:
        profiles = self._profiles.runtime.profiles
        names, current = list(profiles.names), profiles.current
        shown = [action.text() for action in self.profiles_menu.actions()]
        self.profiles_menu.menuAction().setVisible(len(names) > 1)
        if shown != names:
            self.profiles_menu.clear()
            for name in names:
                action = self.profiles_menu.addAction(name)
                action.setCheckable(True)
                self._profile_group.addAction(action)
                action.triggered.connect(lambda _checked=False, chosen=name: self._choose_profile(chosen))
        for action in self.profiles_menu.actions():
            action.setChecked(action.text() == current)

    def _choose_profile(self, name: str) -> None:
        self._profiles.choose(name)
        self._profiles.picker.show_current(name)
        self._refresh_profiles()

    def _toggle_mute(self) -> None:
        button = self._controls.talk_button
        if button.isCheckable() and button.isEnabled():
            button.toggle()  # the talk button's own mute path (mute_toggled → the controller)

    def toggle_window(self) -> None:
        if self._window.isVisible() and not self._window.isMinimized():
            self._window.hide()
        else:
            self._window.showNormal()
            self._window.raise_()
            self._window.activateWindow()
        self.refresh_menu()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.toggle_window()
