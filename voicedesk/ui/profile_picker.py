"""The profile picker beside Connect, and where the window shows handoffs and guardrail trips besides the
conversation (which shows them as notes): the tool log, the event inspector, and a banner for a voice that
had to stay as it was.

Picking a profile makes it the assistant that talks; while connected the session is updated at once (a
``session.update``). When the model hands off, the picker follows.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QWidget

from voicedesk.app import AppRuntime
from voicedesk.session import events as se
from voicedesk.ui.banner import Banner
from voicedesk.ui.event_inspector import EventInspector
from voicedesk.ui.tool_log import ToolLogView
from voicedesk.ui.view_model import SessionViewModel


class ProfilePicker(QComboBox):
    chosen = Signal(str)
    """The person picked a profile (not emitted when the window follows a handoff)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("profile_picker")
        self.setAccessibleName("Assistant")
        self.setAccessibleDescription("The assistant that talks; edit them in Settings, Assistants")
        self.setToolTip("The assistant that talks (a profile from profiles.toml; edit them in Settings)")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.activated.connect(lambda index: self.chosen.emit(self.itemText(index)))

    def show_profiles(self, names: list[str], current: str | None) -> None:
        self.blockSignals(True)
        self.clear()
        self.addItems(names)
        if current is not None:
            self.setCurrentText(current)
        self.blockSignals(False)
        self.setVisible(bool(names))

    def show_current(self, name: str) -> None:
        if self.findText(name) >= 0:
            self.blockSignals(True)
            self.setCurrentText(name)
            self.blockSignals(False)


class ProfilesUi:
    """Puts the picker beside Connect and shows the session's handoffs and guardrail trips."""

    def __init__(
        self,
        runtime: AppRuntime,
        view_model: SessionViewModel,
        connect_row: QHBoxLayout,
        banner: Banner,
        tool_log: ToolLogView,
        inspector: EventInspector,
    ) -> None:
        self.runtime = runtime
        self.banner = banner
        self.picker = ProfilePicker()
        connect_row.insertWidget(1, self.picker)
        self.picker.chosen.connect(self.choose)
        for signal in (view_model.handoff, view_model.guardrail_tripped):
            signal.connect(tool_log.apply_event)
            signal.connect(inspector.apply_event)
        view_model.handoff.connect(self._handed_off)
        self.refresh()

    def refresh(self) -> None:
        """The profiles as they are now (at start, after Settings saved them)."""
        profiles = self.runtime.profiles
        self.picker.show_profiles(profiles.names, profiles.current)

    def choose(self, name: str) -> None:
        try:
            self.runtime.select_profile(name)
        except KeyError:
            self.refresh()

    def _handed_off(self, event: se.Handoff) -> None:
        self.picker.show_current(event.to_agent)
        if event.voice_note:
            self.banner.show_message(event.voice_note, "Its own voice applies from the next connection.", "info")
