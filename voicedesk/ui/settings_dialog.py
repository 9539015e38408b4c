"""Settings: endpoint and API key (kept in the OS keychain, never in the settings file), the model,
turn detection, audio devices (switchable while talking, with a test tone and a mic level meter) and
tools. Values the service would refuse are refused here, with a message, before anything changes. Each page
scrolls when the screen is small; ``show_page`` opens one by name (what a banner's action calls)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from voicedesk.app import VOICES, EndpointError, SessionSettings, SettingsError, TurnDetection, custom_endpoint
from voicedesk.config import ENV_KEYS, AppSettings, KeyStoreError, mask_key, store_key, stored_key
from voicedesk.tools.approval import ToolSource
from voicedesk.tools.builtins import default_registry
from voicedesk.ui.accessibility import describe, name_form_fields
from voicedesk.ui.display_clock import DisplayClock
from voicedesk.ui.settings_audio import AudioHooks as AudioHooks  # where the window has always found it
from voicedesk.ui.settings_audio import AudioTab
from voicedesk.ui.settings_desktop import DesktopHooks, DesktopTab
from voicedesk.ui.settings_privacy import PrivacyTab
from voicedesk.ui.settings_profiles import ProfilesHooks, ProfilesTab
from voicedesk.ui.settings_tools import ToolInfo, ToolsHooks, ToolsTab

MODELS = ("gpt-realtime", "gpt-realtime-mini", "gpt-4o-realtime-preview", "gpt-4o-mini-realtime-preview")
TRANSCRIBERS = ("gpt-4o-mini-transcribe", "gpt-4o-transcribe", "whisper-1")
ENDPOINTS = (
    ("auto", "Automatic (OpenAI when a key is set, else the local server)"),
    ("openai", "OpenAI"),
    ("azure", "Azure OpenAI"),
    ("custom", "Custom URL"),
    ("local", "Embedded local server (offline demo)"),
)
OFF = "off"
PAGES = ("connection", "model", "turns", "audio", "tools", "privacy", "desktop", "assistants")
"""The pages ``show_page`` knows, in the order of the tabs ("assistants" only when profiles are edited here)."""


def _builtin_infos() -> list[ToolInfo]:
    return [ToolInfo(t.name, ToolSource.BUILTIN, t.description) for t in default_registry()]


def key_kind(endpoint: str) -> str:
    return {"azure": "azure", "custom": "custom"}.get(endpoint, "openai")


class PageScroll(QScrollArea):
    """A page that scrolls rather than growing the dialog past a small screen (or a large system font): it
    asks for its page's whole size, and accepts much less."""

    def __init__(self, page: QWidget) -> None:
        super().__init__()
        self.setWidget(page)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the page's fields (scrolled into view)

    def sizeHint(self) -> QSize:
        page = self.widget()
        extra = self.verticalScrollBar().sizeHint().width()
        return page.sizeHint() + QSize(extra, 0) if page is not None else super().sizeHint()

    def minimumSizeHint(self) -> QSize:
        return QSize(0, 0).expandedTo(self.verticalScrollBar().sizeHint() * 2)


def _combo(items: tuple[str, ...] | list[str], current: str, editable: bool = True) -> QComboBox:
    box = QComboBox()
    box.setEditable(editable)
    box.addItems(list(items))
    if current and box.findText(current) < 0:
        box.addItem(current)
    box.setCurrentText(current)
    return box


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: AppSettings,
        audio: AudioHooks | None = None,
        parent: QWidget | None = None,
        *,
        save_key: Callable[[str, str | None], None] = store_key,
        clock: DisplayClock | None = None,
        tools: ToolsHooks | None = None,
        profiles: ProfilesHooks | None = None,
        desktop: DesktopHooks | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("voicedesk settings")
        self.setObjectName("settings_dialog")
        self.setMinimumWidth(560)
        self.original = settings
        self.audio = audio or AudioHooks()
        self._save_key = save_key
        self._session_only_offered = False
        self.result_settings: AppSettings | None = None
        self.key_changed = False
        self.tabs = QTabWidget()
        self.tabs.tabBar().setAccessibleName("Settings pages")
        self.audio_tab = AudioTab(settings, self.audio, clock)
        self.tools_tab = ToolsTab(settings, tools or ToolsHooks(tools=_builtin_infos()))
        self.privacy = PrivacyTab(settings)
        self.desktop_tab = DesktopTab(settings, desktop)
        self.profiles_tab = ProfilesTab(profiles) if profiles is not None else None
        self._pages: dict[str, tuple[PageScroll, QWidget]] = {}
        for key, page, title, first in (
            ("connection", self._connection_tab(settings), "Connection", self.endpoint_box),
            ("model", self._model_tab(settings.session), "Model", self.model_box),
            ("turns", self._turns_tab(settings.session.turn_detection), "Turn detection", self.turn_box),
            ("audio", self.audio_tab, "Audio", self.audio_tab.input_box),
            ("tools", self.tools_tab, "Tools", self.tools_tab.table),
            ("privacy", self.privacy, "History && privacy", self.privacy.history_box),
            ("desktop", self.desktop_tab, "Desktop", self.desktop_tab.shortcut_box),
        ):
            self._add_page(key, page, title, first)
        if self.profiles_tab is not None:
            self._add_page("assistants", self.profiles_tab, "Assistants", self.profiles_tab.list)
        self.error_label = QLabel()
        self.error_label.setObjectName("settings_error")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self._update_endpoint_fields()
        self._update_turn_fields()
        screen = self.screen() or QGuiApplication.primaryScreen()
        self.resize(self.initial_size(screen.availableGeometry().size() if screen is not None else self.sizeHint()))

    def initial_size(self, available: QSize) -> QSize:
        """All of every page when the screen has room; else nine tenths of the screen, the pages scrolling."""
        return self.sizeHint().boundedTo(available * 0.9).expandedTo(self.minimumSizeHint())

    # ------------------------------------------------------------------ tabs

    def _add_page(self, key: str, page: QWidget, title: str, first: QWidget) -> None:
        area = PageScroll(page)
        self.tabs.addTab(area, title)
        self._pages[key] = (area, first)

    def show_page(self, page: str) -> None:
        """Bring page ``page`` (one of PAGES) to the front with the focus on its first field; ValueError for a
        page this dialog does not have."""
        if page not in self._pages:
            known = ", ".join(self._pages)
            raise ValueError(f"no Settings page {page!r} here (the pages: {known})")
        area, first = self._pages[page]
        self.tabs.setCurrentWidget(area)
        first.setFocus(Qt.FocusReason.OtherFocusReason)

    def current_page(self) -> str:
        return next(key for key, (area, _first) in self._pages.items() if area is self.tabs.currentWidget())

    def _connection_tab(self, s: AppSettings) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.endpoint_box = QComboBox()
        self.endpoint_box.setObjectName("endpoint")
        for value, label in ENDPOINTS:
            self.endpoint_box.addItem(label, value)
        self.endpoint_box.setCurrentIndex(max(0, self.endpoint_box.findData(s.endpoint)))
        self.endpoint_box.currentIndexChanged.connect(self._update_endpoint_fields)
        self.azure_endpoint_edit = QLineEdit(s.azure_endpoint)
        self.azure_endpoint_edit.setPlaceholderText("https://NAME.openai.azure.com")
        self.azure_deployment_edit = QLineEdit(s.azure_deployment)
        self.azure_deployment_edit.setPlaceholderText("the realtime deployment name")
        self.custom_url_edit = QLineEdit(s.custom_url)
        self.custom_url_edit.setPlaceholderText("wss://HOST/v1/realtime?model=MODEL")
        self.protocol_box = _combo(("auto", "ga", "beta"), s.protocol, editable=False)
        self.key_edit = QLineEdit()
        self.key_edit.setObjectName("api_key")
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.textEdited.connect(lambda _text: setattr(self, "_session_only_offered", False))
        self.key_status = QLabel()
        self.key_status.setObjectName("key_status")
        self.key_status.setWordWrap(True)
        self.forget_key_button = QPushButton("Forget stored key")
        self.forget_key_button.clicked.connect(self._forget_key)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.forget_key_button)
        form.addRow("Endpoint", self.endpoint_box)
        form.addRow("Azure resource URL", self.azure_endpoint_edit)
        form.addRow("Azure deployment", self.azure_deployment_edit)
        form.addRow("Custom URL", self.custom_url_edit)
        form.addRow("Protocol", self.protocol_box)
        form.addRow("API key", key_row)
        form.addRow("", self.key_status)
        note = QLabel("The key is kept in the system keychain, never in the settings file.")
        note.setWordWrap(True)
        note.setProperty("muted", True)
        form.addRow("", note)
        name_form_fields(form)
        describe(self.key_edit, "API key", note.text())
        self._connection_form = form
        return page

    def _model_tab(self, s: SessionSettings) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.model_box = _combo(MODELS, s.model)
        self.model_box.setObjectName("model")
        self.voice_box = _combo(VOICES, s.voice)
        self.voice_box.setObjectName("voice")
        self.instructions_edit = QPlainTextEdit(s.instructions)
        self.instructions_edit.setObjectName("instructions")
        self.instructions_edit.setPlaceholderText("System instructions for the model (optional)")
        self.instructions_edit.setMaximumHeight(110)
        self.transcription_box = _combo((OFF, *TRANSCRIBERS), s.transcription_model or OFF)
        self.transcription_box.setObjectName("transcription")
        self.noise_box = _combo((OFF, "near_field", "far_field"), s.noise_reduction or OFF, editable=False)
        form.addRow("Model", self.model_box)
        form.addRow("Voice", self.voice_box)
        form.addRow("Instructions", self.instructions_edit)
        form.addRow("Transcription", self.transcription_box)
        form.addRow("Noise reduction", self.noise_box)
        name_form_fields(form)
        return page

    def _turns_tab(self, td: TurnDetection) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.turn_box = QComboBox()
        self.turn_box.setObjectName("turn_detection")
        for value, label in (
            ("server_vad", "Server VAD (talk freely; the button mutes)"),
            ("semantic_vad", "Semantic VAD (talk freely; the button mutes)"),
            ("none", "Push to talk (hold the button or Space)"),
        ):
            self.turn_box.addItem(label, value)
        self.turn_box.setCurrentIndex(max(0, self.turn_box.findData(td.type)))
        self.turn_box.currentIndexChanged.connect(self._update_turn_fields)
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setValue(td.threshold)
        self.prefix_spin = QSpinBox()
        self.prefix_spin.setRange(0, 5000)
        self.prefix_spin.setSuffix(" ms")
        self.prefix_spin.setValue(td.prefix_padding_ms)
        self.silence_spin = QSpinBox()
        self.silence_spin.setRange(0, 10000)
        self.silence_spin.setSuffix(" ms")
        self.silence_spin.setValue(td.silence_duration_ms)
        self.eagerness_box = _combo(("auto", "low", "medium", "high"), td.eagerness, editable=False)
        self.create_response_box = QCheckBox("Answer automatically when I stop talking")
        self.create_response_box.setChecked(td.create_response)
        self.interrupt_box = QCheckBox("Let me interrupt by talking (barge-in)")
        self.interrupt_box.setChecked(td.interrupt_response)
        form.addRow("Mode", self.turn_box)
        form.addRow("Threshold", self.threshold_spin)
        form.addRow("Prefix padding", self.prefix_spin)
        form.addRow("Silence to end a turn", self.silence_spin)
        form.addRow("Eagerness", self.eagerness_box)
        form.addRow("", self.create_response_box)
        form.addRow("", self.interrupt_box)
        name_form_fields(form)
        for widget, description in (
            (self.threshold_spin, "How loud sound must be to count as speech, 0 to 1 (server VAD only)"),
            (self.prefix_spin, "Audio kept from before speech was detected (server VAD only)"),
            (self.silence_spin, "How long a pause ends your turn (server VAD only)"),
            (self.eagerness_box, "How soon the model answers (semantic VAD only)"),
        ):
            widget.setAccessibleDescription(description)
        return page

    # ------------------------------------------------------------------ live behaviour

    def _update_endpoint_fields(self) -> None:
        choice = str(self.endpoint_box.currentData())
        form = self._connection_form
        for widget, visible in (
            (self.azure_endpoint_edit, choice == "azure"),
            (self.azure_deployment_edit, choice == "azure"),
            (self.custom_url_edit, choice == "custom"),
        ):
            form.setRowVisible(widget, visible)
        self.key_edit.setEnabled(choice != "local")
        kind = key_kind(choice)
        existing = stored_key(kind) if choice != "local" else None
        env = ENV_KEYS.get(kind, "")
        if choice == "local":
            self.key_status.setText("The local server needs no key.")
            self.key_edit.setPlaceholderText("")
        elif existing and env and os.environ.get(env):
            self.key_status.setText(f"Using {mask_key(existing)} from ${env} (the environment wins over the keychain).")
            self.key_edit.setPlaceholderText(mask_key(existing))
        elif existing:
            self.key_status.setText(f"A key is stored in the keychain: {mask_key(existing)}. Type to replace it.")
            self.key_edit.setPlaceholderText(mask_key(existing))
        else:
            self.key_status.setText("No key stored. Without one, voicedesk talks to its embedded local server.")
            self.key_edit.setPlaceholderText("sk-…")
        self.forget_key_button.setEnabled(bool(existing) and choice != "local")

    def _update_turn_fields(self) -> None:
        mode = str(self.turn_box.currentData())
        for widget in (self.threshold_spin, self.prefix_spin, self.silence_spin):
            widget.setEnabled(mode == "server_vad")
        self.eagerness_box.setEnabled(mode == "semantic_vad")
        self.create_response_box.setEnabled(mode != "none")
        self.interrupt_box.setEnabled(mode != "none")

    def _forget_key(self) -> None:
        kind = key_kind(str(self.endpoint_box.currentData()))
        try:
            self._save_key(kind, None)
        except KeyStoreError as exc:
            self.show_error(f"Could not remove the key: {exc}")
            return
        self.key_changed = True
        self._update_endpoint_fields()

    def focus_key(self) -> None:
        self.show_page("connection")
        self.key_edit.setFocus()

    # ------------------------------------------------------------------ result

    def show_error(self, message: str) -> None:
        self.error_label.setText("⚠ " + message)
        self.error_label.show()

    def build_settings(self) -> AppSettings:
        """The settings as entered; raises SettingsError or EndpointError with a message for the person."""
        choice = str(self.endpoint_box.currentData())
        azure_url = self.azure_endpoint_edit.text().strip()
        deployment = self.azure_deployment_edit.text().strip()
        custom_url = self.custom_url_edit.text().strip()
        if choice == "azure" and (not azure_url or not deployment):
            raise SettingsError("Azure needs both the resource URL and the deployment name")
        if choice == "azure" and not azure_url.startswith(("https://", "wss://")):
            raise SettingsError("the Azure resource URL should start with https://")
        if choice == "custom":
            if not custom_url:
                raise SettingsError("enter the custom endpoint's websocket URL")
            custom_endpoint(custom_url)  # raises EndpointError for a URL that cannot work
        transcription = self.transcription_box.currentText().strip()
        noise = self.noise_box.currentText()
        turn = TurnDetection(
            type=self.turn_box.currentData(),
            threshold=round(self.threshold_spin.value(), 3),
            prefix_padding_ms=self.prefix_spin.value(),
            silence_duration_ms=self.silence_spin.value(),
            eagerness=self.eagerness_box.currentText(),  # type: ignore[arg-type]
            create_response=self.create_response_box.isChecked(),
            interrupt_response=self.interrupt_box.isChecked(),
            idle_timeout_ms=self.original.session.turn_detection.idle_timeout_ms,
        )
        session = dataclasses.replace(
            self.original.session,
            model=self.model_box.currentText().strip(),
            voice=self.voice_box.currentText().strip(),
            instructions=self.instructions_edit.toPlainText().strip(),
            transcription_model=None if transcription in ("", OFF) else transcription,
            noise_reduction=None if noise == OFF else noise,  # type: ignore[arg-type]
            turn_detection=turn,
        )
        session.validate()
        result = dataclasses.replace(
            self.original,
            endpoint=choice,  # type: ignore[arg-type]
            azure_endpoint=azure_url,
            azure_deployment=deployment,
            custom_url=custom_url,
            protocol=self.protocol_box.currentText(),  # type: ignore[arg-type]
            session=session,
            ui=dict(self.original.ui),
        )
        result = self.privacy.apply(self.audio_tab.apply(result))
        return self.desktop_tab.apply(self.tools_tab.apply(result))

    def accept(self) -> None:
        try:
            settings = self.build_settings()
        except (SettingsError, EndpointError) as exc:
            self.show_error(f"Not saved: {exc}.")
            return
        problem = self.profiles_tab.save() if self.profiles_tab is not None else None
        if problem is not None:
            self.show_error(f"Assistants not saved: {problem}")
            return
        key = self.key_edit.text().strip()
        if key and str(self.endpoint_box.currentData()) != "local":
            kind = key_kind(settings.endpoint)
            try:
                self._save_key(kind, key)
            except KeyStoreError as exc:
                if not self._session_only_offered:
                    self._session_only_offered = True
                    self.show_error(f"The key could not be saved: {exc}. Press OK again to use it for this run only.")
                    return
                os.environ[ENV_KEYS.get(kind, "OPENAI_API_KEY")] = key  # this process only; never written
            self.key_changed = True
        self.result_settings = settings
        self.audio_tab.stop_meter()
        super().accept()

    def reject(self) -> None:
        self.audio_tab.stop_meter()
        super().reject()
