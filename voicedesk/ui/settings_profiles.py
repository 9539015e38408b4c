"""Settings → Assistants: the profiles of profiles.toml, one at a time: name, instructions, voice, tools,
handoffs (and when others should hand off to it), guardrails. OK saves the file (checked first, 0600); the
session takes the change at once. A field left empty takes the Settings' value."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from voicedesk.app import VOICES, AppRuntime
from voicedesk.app.profiles import GuardrailSpec, Profile, ProfileError
from voicedesk.session.guardrails import MAX_DEBOUNCE_CHARS
from voicedesk.ui.accessibility import name_form_fields

FROM_SETTINGS = ""


@dataclass
class ProfilesHooks:
    profiles: list[Profile] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    """Every tool the session could offer (built-in, tools folder, ready MCP servers)."""
    save: Callable[[list[Profile]], None] | None = None
    """Saves and applies them; raises ProfileError (one line) when they cannot be."""
    path: Path | None = None
    problem: str | None = None
    """Why the file could not be read: then it is not edited here (it is never overwritten)."""


def profiles_hooks(runtime: AppRuntime, saved: Callable[[], None] = lambda: None) -> ProfilesHooks:
    def save(profiles: list[Profile]) -> None:
        runtime.set_profiles(profiles)
        saved()

    profiles = runtime.profiles
    tools = [entry.name for entry in runtime.tools.catalogue()]
    return ProfilesHooks(list(profiles.profiles), tools, save, profiles.path, profiles.problem)


def _checkable(names: list[str], checked: set[str]) -> list[QListWidgetItem]:
    items = []
    for name in names:
        item = QListWidgetItem(name)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if name in checked else Qt.CheckState.Unchecked)
        items.append(item)
    return items


def _checked(box: QListWidget) -> tuple[str, ...]:
    items = (box.item(row) for row in range(box.count()))
    return tuple(item.text() for item in items if item.checkState() == Qt.CheckState.Checked)


class ProfilesTab(QWidget):
    def __init__(self, hooks: ProfilesHooks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hooks = hooks
        self.profiles: list[Profile] = list(hooks.profiles)
        self._shown = -1
        self.list = QListWidget()
        self.list.setObjectName("profile_list")
        self.list.setAccessibleName("Profiles")
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("profile_name")
        self.instructions_edit = QPlainTextEdit()
        self.instructions_edit.setObjectName("profile_instructions")
        self.instructions_edit.setPlaceholderText("From Settings")
        self.instructions_edit.setMaximumHeight(90)
        self.voice_box = QComboBox()
        self.voice_box.setObjectName("profile_voice")
        self.voice_box.setEditable(True)
        self.voice_box.addItems([FROM_SETTINGS, *VOICES])
        self.voice_box.setToolTip("Empty: the voice chosen in Settings")
        self.own_tools = QCheckBox("Its own tools (else the ones chosen in Settings)")
        self.own_tools.setObjectName("profile_own_tools")
        self.tools_list = QListWidget()
        self.tools_list.setObjectName("profile_tools")
        self.tools_list.setMaximumHeight(90)
        self.handoffs_list = QListWidget()
        self.handoffs_list.setObjectName("profile_handoffs")
        self.handoffs_list.setMaximumHeight(70)
        self.description_edit = QLineEdit()
        self.description_edit.setPlaceholderText("When others should hand off to this one")
        self.patterns_edit = QPlainTextEdit()
        self.patterns_edit.setObjectName("profile_blocked_patterns")
        self.patterns_edit.setPlaceholderText(r"One regular expression a line, e.g. \b(?:\d[ -]?){13,16}\b")
        self.patterns_edit.setMaximumHeight(60)
        self.debounce_spin = QSpinBox()
        self.debounce_spin.setRange(1, MAX_DEBOUNCE_CHARS)
        self.debounce_spin.setSuffix(" characters")
        self.max_seconds_spin = QDoubleSpinBox()
        self.max_seconds_spin.setRange(0.0, 3600.0)
        self.max_seconds_spin.setSpecialValueText("no limit")
        self.max_seconds_spin.setSuffix(" s")
        self.hook_edit = QLineEdit()
        self.hook_edit.setPlaceholderText("module:function (takes the text, returns (tripped, reason))")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setProperty("muted", True)
        self._build_layout()
        self.list.currentRowChanged.connect(self._select)
        self.own_tools.toggled.connect(self.tools_list.setEnabled)
        self.add_button.clicked.connect(self.add_profile)
        self.remove_button.clicked.connect(self.remove_profile)
        if hooks.problem is not None:  # never overwrite a file that could not be read: it is fixed by hand
            self.note.setText(f"profiles.toml cannot be used: {hooks.problem}")
            self.setEnabled(False)
        else:
            self.note.setText(f"Saved to {hooks.path} when you press OK." if hooks.path else "")
        self.list.addItems([p.name for p in self.profiles])
        self.list.setCurrentRow(0 if self.profiles else -1)

    def _build_layout(self) -> None:
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Instructions", self.instructions_edit)
        form.addRow("Voice", self.voice_box)
        form.addRow("", self.own_tools)
        form.addRow("Tools", self.tools_list)
        form.addRow("Hands off to", self.handoffs_list)
        form.addRow("Handoff description", self.description_edit)
        form.addRow("Blocked patterns", self.patterns_edit)
        form.addRow("Check every", self.debounce_spin)
        form.addRow("Longest answer", self.max_seconds_spin)
        form.addRow("Guardrail hook", self.hook_edit)
        name_form_fields(form)
        self.voice_box.setAccessibleDescription("Empty: the voice chosen in Settings")
        self.add_button.setAccessibleName("Add an assistant")
        self.remove_button.setAccessibleName("Remove this assistant")
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        left.addLayout(buttons)
        row = QHBoxLayout()
        row.addLayout(left, 1)
        row.addLayout(form, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(self.note)

    # ------------------------------------------------------------------ one profile in the form

    def _select(self, row: int) -> None:
        if 0 <= self._shown < len(self.profiles):
            self._store(self._shown)
        self._shown = row
        if 0 <= row < len(self.profiles):
            self._load(self.profiles[row])
        self.remove_button.setEnabled(len(self.profiles) > 1)

    def _load(self, profile: Profile) -> None:
        self.name_edit.setText(profile.name)
        self.instructions_edit.setPlainText(profile.instructions or "")
        self.voice_box.setCurrentText(profile.voice or FROM_SETTINGS)
        self.own_tools.setChecked(profile.tools is not None)
        self.tools_list.setEnabled(profile.tools is not None)
        self.tools_list.clear()
        names = list(dict.fromkeys([*self.hooks.tools, *(profile.tools or ())]))
        for item in _checkable(names, set(profile.tools or ())):
            self.tools_list.addItem(item)
        self.handoffs_list.clear()
        others = [p.name for p in self.profiles if p.name != profile.name]
        for item in _checkable(others, set(profile.handoffs)):
            self.handoffs_list.addItem(item)
        self.description_edit.setText(profile.handoff_description)
        guardrails = profile.guardrails
        self.patterns_edit.setPlainText("\n".join(guardrails.blocked_patterns))
        self.debounce_spin.setValue(guardrails.debounce_chars)
        self.max_seconds_spin.setValue(guardrails.max_answer_seconds or 0.0)
        self.hook_edit.setText(guardrails.hook or "")

    def _store(self, row: int) -> None:
        old = self.profiles[row]
        name = self.name_edit.text().strip() or old.name
        guardrails = dataclasses.replace(
            old.guardrails,
            blocked_patterns=tuple(p for p in self.patterns_edit.toPlainText().splitlines() if p.strip()),
            debounce_chars=self.debounce_spin.value(),
            max_answer_seconds=self.max_seconds_spin.value() or None,
            hook=self.hook_edit.text().strip() or None,
        )
        self.profiles[row] = dataclasses.replace(
            old,
            name=name,
            instructions=self.instructions_edit.toPlainText().strip() or None,
            voice=self.voice_box.currentText().strip() or None,
            tools=_checked(self.tools_list) if self.own_tools.isChecked() else None,
            handoffs=_checked(self.handoffs_list),
            handoff_description=self.description_edit.text().strip(),
            guardrails=guardrails if guardrails != GuardrailSpec() else GuardrailSpec(),
        )
        if name != old.name:  # who handed off to the old name hands off to the new one
            self.profiles = [
                dataclasses.replace(p, handoffs=tuple(name if h == old.name else h for h in p.handoffs))
                for p in self.profiles
            ]
            self.list.item(row).setText(name)

    # ------------------------------------------------------------------ the list

    def add_profile(self) -> None:
        taken = {p.name for p in self.profiles}
        number = 2
        while f"Assistant {number}" in taken:
            number += 1
        self.profiles.append(Profile(f"Assistant {number}"))
        self.list.addItem(self.profiles[-1].name)
        self.list.setCurrentRow(len(self.profiles) - 1)

    def remove_profile(self) -> None:
        row = self.list.currentRow()
        if len(self.profiles) <= 1 or not 0 <= row < len(self.profiles):
            return
        gone = self.profiles.pop(row).name
        self.profiles = [
            dataclasses.replace(p, handoffs=tuple(h for h in p.handoffs if h != gone)) for p in self.profiles
        ]
        self._shown = -1
        self.list.takeItem(row)
        self._select(self.list.currentRow())

    # ------------------------------------------------------------------ result

    def edited(self) -> list[Profile]:
        if 0 <= self._shown < len(self.profiles):
            self._store(self._shown)
        return list(self.profiles)

    def save(self) -> str | None:
        """Save when anything changed; the one-line problem when the profiles cannot be saved, else None."""
        profiles = self.edited()
        if self.hooks.save is None or self.hooks.problem is not None or profiles == self.hooks.profiles:
            return None
        try:
            self.hooks.save(profiles)
        except ProfileError as exc:
            return str(exc)
        self.hooks.profiles = profiles
        return None
