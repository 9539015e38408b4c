"""The global push-to-talk shortcut: picks the backend this desktop allows, follows the settings, and
drives the talk controls exactly as Space does (hold to talk, release to send; with voice detection a
press mutes or unmutes). Backends: an X11 key grab, the desktop portal's GlobalShortcuts on Wayland,
pynput on Windows and macOS; elsewhere ``status`` explains that there is none."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication

from voicedesk.app.shortcut_keys import Backend, ShortcutError, choose_backend, parse_shortcut
from voicedesk.config import AppSettings
from voicedesk.ui.controls import TalkControls
from voicedesk.ui.shortcut_backend import NoShortcut, ShortcutBackend

log = logging.getLogger(__name__)


def make_backend(kind: Backend, parent: QObject | None = None) -> ShortcutBackend:
    """The backend of ``kind``; one whose library is missing explains itself in its status instead."""
    try:
        if kind == "x11":
            from voicedesk.ui.shortcut_x11 import X11Shortcut

            return X11Shortcut(parent)
        if kind == "portal":
            from voicedesk.ui.shortcut_portal import PortalShortcut

            return PortalShortcut(parent)
        if kind == "pynput":
            from voicedesk.ui.shortcut_pynput import PynputShortcut

            return PynputShortcut(parent)
    except ImportError as exc:
        return NoShortcut(f"The global shortcut needs {exc.name or 'a library'}, which is not installed.", parent)
    return NoShortcut(
        "This desktop offers programs no global shortcuts: use Hold to talk or Space in the window.", parent
    )


def backend_for_this_desktop(
    parent: QObject | None = None, environ: Mapping[str, str] | None = None
) -> ShortcutBackend:
    kind = choose_backend(QGuiApplication.platformName(), os.environ if environ is None else environ)
    return make_backend(kind, parent)


class GlobalShortcut(QObject):
    status_changed = Signal(str)

    def __init__(self, controls: TalkControls, backend: ShortcutBackend, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controls = controls
        self.backend = backend
        backend.setParent(self)
        backend.pressed.connect(controls.shortcut_pressed)
        backend.released.connect(controls.shortcut_released)
        backend.status_changed.connect(self._say)
        self.status = ""

    @property
    def active(self) -> bool:
        return self.backend.active

    def apply(self, settings: AppSettings) -> None:
        """Catch the shortcut the settings name (again, if it changed), or let it go when switched off."""
        if not settings.global_shortcut_enabled:
            self.backend.stop()
            self._say("The global shortcut is off.")
            return
        try:
            shortcut = parse_shortcut(settings.global_shortcut)
        except ShortcutError as exc:
            self.backend.stop()
            self._say(f"The global shortcut is not used: {exc}.")
            return
        if self.backend.active and self.backend.shortcut == shortcut:
            return
        self.backend.start(shortcut)  # its status comes through status_changed (later, for the portal)

    def stop(self) -> None:
        self.backend.stop()

    def _say(self, status: str) -> None:
        if status != self.status:
            log.info("global shortcut: %s", status)
        self.status = status
        self.status_changed.emit(status)
