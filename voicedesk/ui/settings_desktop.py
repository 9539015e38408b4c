"""Settings → Desktop: the global push-to-talk shortcut (which keys, on or off, and whether this desktop
lets it work), keeping the session running in the tray when the window closes, and the microphone ticks."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QCheckBox, QFormLayout, QHBoxLayout, QKeySequenceEdit, QLabel, QPushButton, QWidget

from voicedesk.app import SettingsError
from voicedesk.app.shortcut_keys import DEFAULT_SHORTCUT, ShortcutError, parse_shortcut
from voicedesk.config import AppSettings
from voicedesk.ui.accessibility import describe

MACOS_NOTE = (
    "On macOS the shortcut needs the Accessibility permission: System Settings → Privacy & Security → "
    "Accessibility → allow voicedesk (then restart it)."
)


@dataclass
class DesktopHooks:
    shortcut_status: str = ""
    """One line: the shortcut works, or why not (taken by another program, no support on this desktop)."""
    tray_available: bool = False


class DesktopTab(QWidget):
    def __init__(self, settings: AppSettings, hooks: DesktopHooks | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        hooks = hooks or DesktopHooks()
        self.shortcut_box = QCheckBox("Push to talk from any application with a global shortcut")
        self.shortcut_box.setObjectName("global_shortcut_enabled")
        self.shortcut_box.setChecked(settings.global_shortcut_enabled)
        self.shortcut_edit = QKeySequenceEdit(QKeySequence(settings.global_shortcut))
        self.shortcut_edit.setObjectName("global_shortcut")
        self.shortcut_edit.setMaximumSequenceLength(1)
        self.shortcut_edit.setClearButtonEnabled(True)
        describe(self.shortcut_edit, "Global shortcut", "Press the keys to hold for push to talk")
        reset = describe(QPushButton("Default"), "Default shortcut", f"Use {DEFAULT_SHORTCUT}")
        reset.setToolTip(f"Use {DEFAULT_SHORTCUT}")
        reset.clicked.connect(lambda: self.shortcut_edit.setKeySequence(QKeySequence(DEFAULT_SHORTCUT)))
        row = QHBoxLayout()
        row.addWidget(self.shortcut_edit, 1)
        row.addWidget(reset)
        self.status_label = QLabel(hooks.shortcut_status)
        self.status_label.setObjectName("global_shortcut_status")
        self.status_label.setWordWrap(True)
        self.shortcut_box.setAccessibleDescription(hooks.shortcut_status)
        how = QLabel(
            "Hold the shortcut while you speak and release it to send (under 0.1 s is not sent); with voice "
            "detection it mutes and unmutes the microphone." + (f" {MACOS_NOTE}" if sys.platform == "darwin" else "")
        )
        how.setWordWrap(True)
        how.setProperty("muted", True)
        self.tray_box = QCheckBox("Keep running in the tray when the window is closed")
        self.tray_box.setObjectName("keep_in_tray")
        self.tray_box.setChecked(settings.keep_in_tray)
        tray_note = QLabel(
            "The session stays connected; Quit in the tray menu ends it."
            if hooks.tray_available
            else "This desktop shows no tray icons, so closing the window quits voicedesk."
        )
        tray_note.setWordWrap(True)
        tray_note.setProperty("muted", True)
        self.sounds_box = QCheckBox("A quiet tick when the microphone opens and closes")
        self.sounds_box.setObjectName("mic_sounds")
        self.sounds_box.setChecked(settings.mic_sounds)
        form = QFormLayout(self)
        form.addRow("", self.shortcut_box)
        form.addRow("Shortcut", row)
        form.addRow("", self.status_label)
        form.addRow("", how)
        form.addRow("", self.tray_box)
        form.addRow("", tray_note)
        form.addRow("", self.sounds_box)
        self.shortcut_box.toggled.connect(self.shortcut_edit.setEnabled)
        self.shortcut_edit.setEnabled(settings.global_shortcut_enabled)

    def shortcut_text(self) -> str:
        return self.shortcut_edit.keySequence().toString(QKeySequence.SequenceFormat.PortableText)

    def apply(self, settings: AppSettings) -> AppSettings:
        """The settings with this page's values; SettingsError (one line) for a shortcut that cannot work."""
        text = self.shortcut_text()
        enabled = self.shortcut_box.isChecked()
        if enabled:
            try:
                text = parse_shortcut(text).text
            except ShortcutError as exc:
                raise SettingsError(f"global shortcut: {exc}") from None
        return dataclasses.replace(
            settings,
            global_shortcut=text or settings.global_shortcut,
            global_shortcut_enabled=enabled,
            keep_in_tray=self.tray_box.isChecked(),
            mic_sounds=self.sounds_box.isChecked(),
        )
