"""Settings → Audio: the microphone and the speaker (switchable while talking), echo handling, noise
suppression, a level meter read on the display clock and a test tone."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QProgressBar, QPushButton, QWidget

from voicedesk.config import AppSettings
from voicedesk.ui.accessibility import describe, name_form_fields
from voicedesk.ui.display_clock import DisplayClock

DEFAULT_DEVICE = "System default"
METER_MS = 50


@dataclasses.dataclass
class AudioHooks:
    """What the dialog may ask of the audio side; all optional (no devices: no tone, no meter)."""

    inputs: list[str] = dataclasses.field(default_factory=list)
    outputs: list[str] = dataclasses.field(default_factory=list)
    play_tone: Callable[[], None] | None = None
    mic_level: Callable[[], float] | None = None
    """The microphone's level now, 0..1 as the meter shows it (read on the display clock's ticks)."""
    unavailable_reason: str | None = None


def device_box(devices: list[str], current: str | None) -> QComboBox:
    box = QComboBox()
    box.addItems([DEFAULT_DEVICE, *devices])
    if current and box.findText(current) < 0:
        box.addItem(current)
    box.setCurrentText(current or DEFAULT_DEVICE)
    return box


class AudioTab(QWidget):
    def __init__(
        self, settings: AppSettings, audio: AudioHooks, clock: DisplayClock | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.audio = audio
        self._stop_meter: Callable[[], None] | None = None
        self.input_box = device_box(audio.inputs, settings.input_device)
        self.input_box.setObjectName("input_device")
        self.output_box = device_box(audio.outputs, settings.output_device)
        self.output_box.setObjectName("output_device")
        self.echo_box = QComboBox()
        for value, label in (
            ("aec", "Echo cancellation (speakers)"),
            ("half-duplex", "Half duplex (mute the mic while it speaks)"),
            ("off", "Off (headphones)"),
        ):
            self.echo_box.addItem(label, value)
        self.echo_box.setCurrentIndex(max(0, self.echo_box.findData(settings.echo)))
        self.noise_check = QCheckBox("Take steady noise (fans, hum) out of the microphone")
        self.noise_check.setObjectName("noise_suppression")
        self.noise_check.setChecked(settings.noise_suppression)
        self.tone_button = QPushButton("Play a test tone")
        self.tone_button.setEnabled(audio.play_tone is not None)
        if audio.play_tone is not None:
            self.tone_button.clicked.connect(audio.play_tone)
        self.meter = describe(QProgressBar(), "Microphone level", "How loud the microphone hears you now")
        self.meter.setObjectName("mic_meter")
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setMaximumHeight(10)
        form = QFormLayout(self)
        form.addRow("Microphone", self.input_box)
        form.addRow("Speaker", self.output_box)
        form.addRow("Echo handling", self.echo_box)
        form.addRow("Noise suppression", self.noise_check)
        form.addRow("Microphone level", self.meter)
        form.addRow("", self.tone_button)
        if audio.unavailable_reason:
            note = QLabel(f"Sound: {audio.unavailable_reason}. voicedesk works with text until this is fixed.")
            note.setWordWrap(True)
            form.addRow("", note)
        note = QLabel("Device changes apply at once, even mid-conversation.")
        note.setProperty("muted", True)
        form.addRow("", note)
        name_form_fields(form)
        if audio.mic_level is not None and clock is not None:
            self._stop_meter = clock.every(METER_MS, self._update_meter)

    def _update_meter(self) -> None:
        if self.audio.mic_level is not None:
            self.meter.setValue(int(max(0.0, min(1.0, self.audio.mic_level())) * 100))

    def stop_meter(self) -> None:
        if self._stop_meter is not None:
            self._stop_meter()
            self._stop_meter = None

    def apply(self, settings: AppSettings) -> AppSettings:
        def device(box: QComboBox) -> str | None:
            return None if box.currentText() == DEFAULT_DEVICE else box.currentText()

        return dataclasses.replace(
            settings,
            input_device=device(self.input_box),
            output_device=device(self.output_box),
            echo=self.echo_box.currentData(),
            noise_suppression=self.noise_check.isChecked(),
        )
