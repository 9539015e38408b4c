"""Settings → History & privacy: whether conversations and their audio are kept, and for how long."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QWidget

from voicedesk.config import AppSettings, data_dir
from voicedesk.ui.accessibility import name_form_fields

RETENTION_CHOICES = ((7, "7 days"), (30, "30 days"), (365, "1 year"), (0, "Forever"))


class PrivacyTab(QWidget):
    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history_box = QCheckBox("Keep conversations in the history (searchable, resumable)")
        self.history_box.setChecked(settings.keep_history)
        self.audio_box = QCheckBox("Keep both sides' audio of each conversation")
        self.audio_box.setChecked(settings.keep_audio)
        self.retention_box = QComboBox()
        for days, label in RETENTION_CHOICES:
            self.retention_box.addItem(label, days)
        if settings.retention_days not in [days for days, _ in RETENTION_CHOICES]:
            self.retention_box.addItem(f"{settings.retention_days} days", settings.retention_days)
        self.retention_box.setCurrentIndex(self.retention_box.findData(settings.retention_days))
        where = QLabel(
            f"Everything is kept on this computer only, readable by you alone, in {data_dir()}. Without "
            "“keep audio”, the audio of a conversation exists only while the window is open (for exports). "
            "Older conversations and audio are deleted when voicedesk starts."
        )
        where.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("", self.history_box)
        form.addRow("", self.audio_box)
        form.addRow("Keep for", self.retention_box)
        form.addRow("", where)
        name_form_fields(form)
        self.retention_box.setAccessibleDescription("Older conversations and audio are deleted when voicedesk starts")

    def apply(self, settings: AppSettings) -> AppSettings:
        return dataclasses.replace(
            settings,
            keep_history=self.history_box.isChecked(),
            keep_audio=self.audio_box.isChecked(),
            retention_days=int(self.retention_box.currentData()),
        )
