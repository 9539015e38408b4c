"""The window's life on the desktop: the global push-to-talk shortcut, the tray icon, keeping the session
running in the tray when the window is closed, and the microphone's ticks. ``install_desktop(window)`` is
the one call the main window makes; the settings reach it through ``apply`` and ``settings_hooks``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QSystemTrayIcon

from voicedesk.app.mic_cues import MicCues
from voicedesk.audio.base import AudioSink
from voicedesk.config import AppSettings
from voicedesk.ui.global_shortcut import GlobalShortcut, backend_for_this_desktop
from voicedesk.ui.settings_desktop import DesktopHooks
from voicedesk.ui.shortcut_backend import ShortcutBackend
from voicedesk.ui.tray import TrayIcon

if TYPE_CHECKING:
    from voicedesk.ui.main_window import MainWindow


class Desktop(QObject):
    def __init__(self, window: MainWindow, backend: ShortcutBackend | None = None) -> None:
        super().__init__(window)
        self.window = window
        runtime = window.runtime
        self.quitting = False
        self.told_about_tray = False
        self.shortcut = GlobalShortcut(window.controls, backend or backend_for_this_desktop(), self)
        self.tray = TrayIcon(
            window,
            window.view_model,
            window.controls,
            window.banner,
            window.profiles_ui,
            interrupt=window.interrupt,
            quit_app=self.quit,
        )
        self.cues = MicCues(self._sink, lambda: runtime.settings.mic_sounds)
        runtime.subscribe(self.cues.on_event)
        window.closed.connect(self._closed)
        self.tray.show()  # the shortcut is caught when the window starts the session (MainWindow.start)

    def _sink(self) -> AudioSink | None:
        audio = self.window.runtime.audio
        return audio.sink if audio is not None else None

    def apply(self, settings: AppSettings) -> None:
        """New settings: catch the shortcut they name (or let it go)."""
        self.shortcut.apply(settings)

    def settings_hooks(self) -> DesktopHooks:
        return DesktopHooks(shortcut_status=self.shortcut.status, tray_available=self.tray_available)

    @property
    def tray_available(self) -> bool:
        return TrayIcon.available()

    def hide_instead_of_closing(self) -> bool:
        """The window was closed: with "keep running in the tray" on and a tray to come back from, hide it
        and keep the session; else False (the window shuts down)."""
        if self.quitting or not self.window.runtime.settings.keep_in_tray or not self.tray_available:
            return False
        self.window.hide()
        if not self.told_about_tray:
            self.told_about_tray = True
            self.tray.icon.showMessage(
                "voicedesk keeps running",
                "The session stays connected in the tray. Quit from the tray menu to end it.",
                QSystemTrayIcon.MessageIcon.Information,
                5000,
            )
        self.tray.refresh_menu()
        return True

    def quit(self) -> None:
        """End everything: the window shuts the session down cleanly, then the app exits."""
        self.quitting = True
        self.window.close()

    def _closed(self) -> None:
        self.shortcut.stop()
        self.tray.hide()


def install_desktop(window: MainWindow) -> Desktop:
    return Desktop(window)
