"""The main window: composes the views, forwards what the person does to the session controller, and
shows what the session reports through the view model (its properties and signals). Views never talk to
each other and never read the controller. One display clock drives everything redrawn on a schedule."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Coroutine
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QShowEvent
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QDialog, QMainWindow, QVBoxLayout, QWidget

from voicedesk.app import AppRuntime, ConnectFailed, Item, SettingsError, available_devices
from voicedesk.audio.base import Levels
from voicedesk.config import load_settings, save_settings
from voicedesk.ui import theme
from voicedesk.ui.approval_cards import ApprovalCards, remember_policy
from voicedesk.ui.banner import Banner
from voicedesk.ui.controls import KeyForwarder, TalkControls
from voicedesk.ui.conversation_view import ConversationView
from voicedesk.ui.desktop import install_desktop
from voicedesk.ui.developer_drawer import DeveloperDrawer
from voicedesk.ui.display_clock import DisplayClock
from voicedesk.ui.event_inspector import EventInspector
from voicedesk.ui.export_actions import ExportActions
from voicedesk.ui.history_dock import HistoryDock
from voicedesk.ui.image_input import install_image_input
from voicedesk.ui.layout_memory import LayoutMemory
from voicedesk.ui.profile_picker import ProfilesUi
from voicedesk.ui.qtasync import async_slot
from voicedesk.ui.session_notices import SessionNotices, has_microphone
from voicedesk.ui.settings_dialog import AudioHooks, SettingsDialog
from voicedesk.ui.settings_profiles import profiles_hooks
from voicedesk.ui.settings_tools import tools_hooks
from voicedesk.ui.shortcuts_sheet import KeyboardShortcutsSheet
from voicedesk.ui.status_panel import StatusPanel
from voicedesk.ui.tool_log import ToolLogView
from voicedesk.ui.top_bar import TopBar, action_button
from voicedesk.ui.view_model import SessionViewModel
from voicedesk.ui.voice_visual import VoiceVisual
from voicedesk.ui.window_actions import WindowActions

log = logging.getLogger(__name__)
SHUTDOWN_TIMEOUT_S = 5.0


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(self, runtime: AppRuntime, *, persist: bool = True) -> None:
        super().__init__()
        self.runtime = runtime
        self.persist = persist
        self.setWindowTitle("voicedesk")
        self.setWindowIcon(theme.app_icon())
        self.view_model = SessionViewModel(self)
        runtime.subscribe(self.view_model.on_event)
        self.clock = DisplayClock(self)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._closed = False
        self._keys_installed = False
        self.settings_dialog: SettingsDialog | None = None
        self.shortcuts_sheet: QDialog | None = None

        # The conversation is the main area; the voice (its visual and the talk button) under it; the tool log
        # and the raw events in a drawer on the right, shown on demand; the History sidebar on the left.
        self.top_bar = TopBar()
        self.local_notice = Banner(dismissable=False, name="local_notice")  # which endpoint, and why
        self.audio_notice = Banner(name="audio_notice")  # the sound devices
        self.banner = Banner(name="banner")  # the session: errors, renewals, what the person asked for
        self.conversation = ConversationView()
        self.approvals = ApprovalCards()  # the questions before a tool runs, under the conversation
        self.voice_visual = VoiceVisual(self._levels, clock=self.clock)  # the state, over both voices
        self.waveform = self.voice_visual.waveform
        self.controls = TalkControls()
        self.tool_log = ToolLogView()
        self.inspector = EventInspector()
        self.drawer = DeveloperDrawer(self, self.tool_log, self.inspector)
        self.side_tabs = self.drawer.tabs
        self.status = StatusPanel()
        self.statusBar().addPermanentWidget(self.status, 1)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(10, 6, 10, 4)
        layout.setSpacing(6)
        above: tuple[QWidget, ...] = (self.top_bar, self.local_notice, self.audio_notice, self.banner)
        for widget in above:
            layout.addWidget(widget)
        layout.addWidget(self.conversation, 4)
        layout.addWidget(self.approvals)
        layout.addWidget(self.voice_visual, 1)  # grows a little with the window, up to its maximum
        layout.addWidget(self.controls)
        runtime.tools.use_approver(self.approvals, remember_policy(lambda: runtime.settings, persist))
        self.setCentralWidget(central)
        self.exports = ExportActions(self, runtime, self.banner)
        self.notices = SessionNotices(
            banner=self.banner,
            local_notice=self.local_notice,
            audio_notice=self.audio_notice,
            status=self.status,
            status_bar=self.statusBar(),
            open_settings=self.open_settings,
            reconnect=self.toggle_connection,
        )
        self.menus = WindowActions(self)
        self.export_all_action = self.menus.export_all
        self._add_pane(self.drawer.toggle_action, "drawer_button", "Show or hide the tool log and the raw events")
        self.history_dock = HistoryDock(self) if runtime.options.history is not None else None
        if self.history_dock is not None:
            self._add_pane(self.history_dock.toggle_action, "history_button", "Show or hide past conversations")
        self.settings_button = action_button(self.menus.settings, "settings_button", "Open the settings")
        self.top_bar.add_right(self.settings_button)
        self._wire()
        vm, row = self.view_model, self.top_bar.row  # the profile picker goes beside Connect
        self.profiles_ui = ProfilesUi(runtime, vm, row, self.banner, self.tool_log, self.inspector)
        self._keys = KeyForwarder(self, self.controls)
        self.images, self.share_screen = install_image_input(self)  # paste, drop, Share screen
        self.desktop = install_desktop(self)  # the global shortcut, the tray, closing to the tray
        self.desktop.shortcut.status_changed.connect(lambda _status: self._show_global_key())
        self.setMinimumSize(640, 480)
        self.resize(1100, 760)
        self.layout_memory = LayoutMemory(self, self.drawer, self.history_dock)
        self.layout_memory.restore(runtime.settings.ui)
        for button in self.findChildren(QAbstractButton):  # focus from Tab, not from a click: Space keeps talking
            if button.focusPolicy() == Qt.FocusPolicy.StrongFocus:
                button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        for view in self.findChildren(QAbstractItemView):  # Tab leaves a table; the arrow keys move inside it
            view.setTabKeyNavigation(False)

    # ------------------------------------------------------------------ construction

    def _add_pane(self, toggle: QAction, name: str, description: str) -> None:
        """A side pane's switch: in the View menu and as a button in the top bar (one action for both)."""
        self.menus.add_view(toggle)
        self.top_bar.add_right(action_button(toggle, name, description))

    def _wire(self) -> None:
        vm = self.view_model
        self.controls.follow(vm)
        self.voice_visual.follow(vm)
        self.top_bar.follow(vm)
        self.status.follow(vm)
        vm.state_changed.connect(self._show_state)
        vm.item_added.connect(lambda item: self.conversation.apply_items([item], complete=False))
        vm.history_updated.connect(lambda items: self.conversation.apply_items(items, complete=True))
        vm.transcript_updated.connect(lambda item_id, _role, text: self.conversation.apply_transcript(item_id, text))
        vm.tool_started.connect(self.tool_log.apply_event)
        vm.tool_started.connect(lambda _event: self.drawer.tool_started())
        vm.tool_finished.connect(self.tool_log.apply_event)
        vm.tool_finished.connect(lambda e: self.conversation.apply_tool_result(e.call_id, e.output, e.ok))
        vm.raw_event_received.connect(self.inspector.add)
        vm.latency_measured.connect(self.status.apply_event)
        vm.usage_reported.connect(self.status.apply_event)
        self.notices.follow(vm)
        self.status.attach(self.clock)
        self.conversation.attach(self.clock)
        self.inspector.attach(self.clock)
        self.top_bar.connect_button.clicked.connect(self.toggle_connection)
        c = self.controls
        c.talk_pressed.connect(self.start_talking)
        c.talk_released.connect(self.stop_talking)
        c.mute_toggled.connect(self.set_muted)
        c.interrupt_requested.connect(self.interrupt)
        self.conversation.text_submitted.connect(self._send_typed)
        vm.push_to_talk_changed.connect(lambda _ptt: self._show_input_hint())
        vm.state_changed.connect(lambda: self.menus.mute.setEnabled(vm.connected and not vm.push_to_talk))
        self.menus.mute.setEnabled(False)  # until a session in a voice-detection mode says otherwise

    def _levels(self) -> tuple[Levels, Levels]:
        audio = self.runtime.audio
        if audio is None:
            return Levels(), Levels()
        return audio.source.levels(), audio.sink.levels()

    # ------------------------------------------------------------------ tasks

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "ui-task") -> asyncio.Task[Any]:
        """Run a coroutine on the loop; an unexpected exception becomes a banner, never a crash."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                exc = t.exception()
                log.error("%s failed", name, exc_info=exc)
                self.show_unexpected(exc)

        task.add_done_callback(done)
        return task

    def show_unexpected(self, exc: BaseException | None) -> None:
        what = f"{type(exc).__name__}: {exc}" if exc is not None else "an unknown error"
        self.banner.show_message(
            f"Something went wrong inside voicedesk ({what}).",
            "The app keeps running. If it happens again, save a debug bundle (File menu) and report it.",
            "error",
        )

    # ------------------------------------------------------------------ start, connect, close

    async def start(self, connect: bool = False) -> None:
        """Prepare the session (local server, audio, controller) and connect if asked."""
        self.layout_memory.reapply()
        await self.runtime.prepare()
        self.desktop.apply(self.runtime.settings)  # the shortcut's grab (and its imports) after the first paint
        self._show_setup()
        self.conversation.set_input_enabled(True)
        self.voice_visual.start()
        self.clock.start()
        if connect:
            await self.connect_session()

    @async_slot()
    async def toggle_connection(self) -> None:
        if self.view_model.connection != "disconnected":
            await self.runtime.disconnect()
        else:
            await self.connect_session()

    async def connect_session(self) -> bool:
        self.top_bar.connect_button.setEnabled(False)
        try:
            await self.runtime.connect()
            self.banner.dismiss() if self.banner.level in ("error", "warning") else None
            return True
        except ConnectFailed as exc:
            self.notices.connect_failed(exc)
            self.voice_visual.show_error()
        finally:
            self.top_bar.connect_button.setEnabled(True)
        return False

    def showEvent(self, event: QShowEvent) -> None:
        handle = self.windowHandle()
        if handle is not None and not self._keys_installed:
            handle.installEventFilter(self._keys)
            self._keys_installed = True
        super().showEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        # The system switched between light and dark (theme.follow_system_theme set a new palette).
        if event.type() == QEvent.Type.ApplicationPaletteChange:
            self.voice_visual.apply_theme()
            self.conversation.apply_theme()
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closed:
            event.accept()
            return
        event.ignore()
        if not self._closing and not self.desktop.hide_instead_of_closing():
            self._closing = True
            self.spawn(self.shutdown(), "shutdown")

    async def shutdown(self) -> None:
        """Clean async shutdown: disconnect, stop the audio, close the journal and WAVs, save the layout."""
        self.clock.stop()
        self.voice_visual.stop()
        try:
            await asyncio.wait_for(self.runtime.shutdown(), SHUTDOWN_TIMEOUT_S)
        except (TimeoutError, Exception):
            log.exception("the session did not shut down cleanly")
        if self.history_dock is not None:
            self.history_dock.close_store()
        if self.persist:
            with contextlib.suppress(OSError):
                saved = load_settings()
                saved.ui = self.layout_memory.snapshot()
                save_settings(saved)
        self._closed = True
        self.close()
        self.closed.emit()

    # ------------------------------------------------------------------ talking

    def start_talking(self) -> None:
        controller = self.runtime.controller
        if controller is None or not self.view_model.connected:
            return
        controller.start_push_to_talk()

    def stop_talking(self, held_s: float) -> None:
        controller = self.runtime.controller
        if controller is None:
            return
        if not controller.stop_push_to_talk():
            if held_s < 0.1:
                hint = "Hold the Talk button (or Space) while you speak: presses under 0.1 s are not sent."
            elif self.runtime.audio is not None and not self.runtime.audio.has_devices:
                hint = "No microphone audio was captured (no sound device); type your message instead."
            else:
                hint = "Too little audio to send (under 0.1 s); hold the button a little longer."
            self.statusBar().showMessage(hint, 5000)

    def set_muted(self, muted: bool) -> None:
        if self.runtime.controller is not None:
            self.runtime.controller.set_mic_muted(muted)

    def interrupt(self) -> None:
        if self.runtime.controller is not None:
            self.runtime.controller.interrupt()

    def send_text(self, text: str) -> bool:
        """Send a typed message; False (and a word on why) when there is no session to send it to."""
        controller = self.runtime.controller
        if controller is not None and self.view_model.connected:
            controller.send_text(text)
            return True
        if self.view_model.connection == "disconnected":
            self.banner.show_message("Not connected: your message was not sent; it is kept in the box.",
                                     "Connect and send it, or press Connect and then Enter.", "warning",
                                     ("Connect and send", self.connect_and_send))  # fmt: skip
        else:
            self.banner.show_message("Not sent yet: the session is still connecting; your message is kept in the box.",
                                     "Press Enter again once it is connected.", "warning")  # fmt: skip
        return False

    def _send_typed(self, text: str) -> None:
        if self.send_text(text):
            self.conversation.message_sent()

    @async_slot()
    async def connect_and_send(self) -> None:
        if self.view_model.connection == "disconnected" and not await self.connect_session():
            return
        if self.view_model.connected:
            self.conversation.submit()

    # ------------------------------------------------------------------ session reports

    def _show_state(self) -> None:
        self.status.apply_state(self.view_model.connection, self.view_model.activity)

    def _show_setup(self) -> None:
        """What this session was set up with: its notices, and controls that offer only what it can do."""
        self.notices.show_setup(self.runtime)
        self.controls.set_microphone(has_microphone(self.runtime))
        self._show_input_hint()

    def _show_global_key(self) -> None:
        """The talk button names the desktop-wide shortcut too, while one is caught."""
        settings = self.runtime.settings
        active = self.desktop.shortcut.active and settings.global_shortcut_enabled
        self.controls.set_global_key(settings.global_shortcut if active else "")

    def focus_message_box(self) -> None:
        self.conversation.message_box.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def show_shortcuts(self) -> QDialog:
        """Help → Keyboard shortcuts: every menu action's keys, and the keys of the talk bar."""
        if self.shortcuts_sheet is not None:
            self.shortcuts_sheet.close()
        self.shortcuts_sheet = sheet = KeyboardShortcutsSheet(self.menus.shortcut_rows(self.controls.global_key), self)
        sheet.show()
        return sheet

    def _show_input_hint(self) -> None:
        microphone = has_microphone(self.runtime)
        self.conversation.show_input_hint(push_to_talk=self.view_model.push_to_talk, microphone=microphone)

    # ------------------------------------------------------------------ settings

    def open_settings(self, page: str | None = None, *, focus_key: bool = False) -> SettingsDialog:
        """The one Settings dialog, on ``page`` ("connection", "audio", …) when given."""
        if self.settings_dialog is not None and self.settings_dialog.isVisible():
            self.settings_dialog.raise_()
            self._show_settings_page(self.settings_dialog, page, focus_key)
            return self.settings_dialog
        audio = self.runtime.audio
        inputs, outputs = available_devices() if audio is not None and audio.has_devices else ([], [])
        hooks = AudioHooks(
            inputs=inputs,
            outputs=outputs,
            play_tone=(lambda: self._play_tone()) if audio else None,
            # the level the waveform sampled on this tick of the display clock (no second reading of the device)
            mic_level=(lambda: self.waveform.history.latest()[0]) if audio else None,
            unavailable_reason=audio.fallback_reason if audio else None,
        )
        restart = lambda name: self.spawn(self.runtime.tools.restart(name), "mcp-restart")  # noqa: E731
        tools = tools_hooks(self.runtime.tools, restart, self.runtime.tools.choice.mcp_config)
        profiles = profiles_hooks(self.runtime, saved=self.profiles_ui.refresh)
        dialog = SettingsDialog(self.runtime.settings, hooks, self, clock=self.clock, tools=tools, profiles=profiles,
                                desktop=self.desktop.settings_hooks())  # fmt: skip
        dialog.accepted.connect(partial(self._settings_accepted, dialog))
        self.settings_dialog = dialog
        dialog.open()
        self._show_settings_page(dialog, page, focus_key)
        return dialog

    @staticmethod
    def _show_settings_page(dialog: SettingsDialog, page: str | None, focus_key: bool) -> None:
        if page is not None:
            dialog.show_page(page)
        if focus_key:
            dialog.focus_key()

    def _play_tone(self) -> None:
        self.spawn(self.runtime.play_test_tone(), "test-tone")

    def _settings_accepted(self, dialog: SettingsDialog) -> None:
        if dialog.result_settings is not None:
            self.spawn(self.apply_settings(dialog.result_settings), "apply-settings")

    async def apply_settings(self, new: Any) -> None:
        try:
            rebuilt = await self.runtime.apply_settings(new)
        except SettingsError as exc:
            self.banner.show_message(f"Settings not applied: {exc}.", "Correct the value in Settings.", "error")
            return
        except ConnectFailed as exc:
            self.notices.connect_failed(exc)
            rebuilt = True
        self.desktop.apply(self.runtime.settings)
        if self.persist:
            try:
                save_settings(dataclasses.replace(self.runtime.settings, ui=self.layout_memory.snapshot()))
            except OSError as exc:
                self.banner.show_message(f"Settings not saved: {exc}.", "They apply to this run only.", "warning")
        if rebuilt:
            self.clear_views()
            self._show_setup()
            if self.runtime.config_problem is None:  # else the local-server notice says what is wrong
                self.banner.show_message(f"Settings applied: now using {self.runtime.endpoint_reason}.", "", "info")
        else:
            self.status.model = self.runtime.settings.session.model
            self.statusBar().showMessage("Settings applied.", 3000)

    def clear_views(self) -> None:
        for view in (self.conversation, self.tool_log, self.inspector, self.voice_visual, self.status):
            view.clear()

    # ------------------------------------------------------------------ exports (File menu)

    def history(self) -> tuple[Item, ...]:
        return self.exports.history()

    def export_all_to(self, directory: Path) -> list[Path]:
        return self.exports.export_all_to(directory)
