"""The History sidebar in the window: a dock on the left, toggled from the View menu (Ctrl+H), refreshed
as conversations are stored, and Resume wired to a new session carrying the stored conversation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget

from voicedesk.app.history import history_path
from voicedesk.app.recordings import read_recording
from voicedesk.config import data_dir
from voicedesk.history import HistoryError
from voicedesk.ui.history_panel import HistoryPanel

if TYPE_CHECKING:
    from voicedesk.ui.main_window import MainWindow

REFRESH_DELAY_MS = 400
"""Items are stored by a writer thread a moment after they finish: refresh once the burst is over."""


class HistoryDock(QDockWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__("History", window)
        self.setObjectName("history_dock")
        self.window_ = window
        self.panel = HistoryPanel(history_path(data_dir()), self)
        self.setWidget(self.panel)
        self.setAllowedAreas(Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea)
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self)
        self.toggle_action: QAction = self.toggleViewAction()
        self.toggle_action.setText("History")
        self.toggle_action.setShortcut(QKeySequence("Ctrl+H"))
        self._refresh_timer = QTimer(self, singleShot=True)
        self._refresh_timer.timeout.connect(self._refresh_if_shown)
        # Filled after the window's first paint, not before: an open sidebar never delays the start.
        self.visibilityChanged.connect(lambda shown: self._refresh_timer.start(0) if shown else None)
        window.view_model.item_added.connect(lambda _item: self._refresh_timer.start(REFRESH_DELAY_MS))
        window.view_model.history_updated.connect(lambda _items: self._refresh_timer.start(REFRESH_DELAY_MS))
        self.panel.resume_requested.connect(lambda conversation_id: window.spawn(self.resume(conversation_id)))
        self.panel.play_requested.connect(lambda path: window.spawn(self.play(path)))
        self.panel.stop_requested.connect(lambda: window.spawn(window.runtime.stop_playback()))
        self.hide()

    def _refresh_if_shown(self) -> None:
        if self.isVisible() and self.panel.open_id is None:
            self.panel.refresh()

    async def resume(self, conversation_id: str) -> None:
        """A new session that carries the stored conversation (as a renewal carries its own) and goes on
        storing into it."""
        window, runtime = self.window_, self.window_.runtime
        await runtime.disconnect()
        await runtime.prepare()
        window.clear_views()
        try:
            carried = runtime.resume(conversation_id)
        except HistoryError as exc:
            window.banner.show_message(f"Cannot resume: {exc}", "", "warning")
            return
        window.statusBar().showMessage(f"Resumed a conversation of {carried} items", 5000)
        await window.connect_session()

    async def play(self, path: Path) -> None:
        try:
            pcm = read_recording(path)
        except (OSError, RuntimeError, ValueError) as exc:
            self.window_.banner.show_message(f"Cannot play {path.name}: {exc}", "", "warning")
            return
        if not await self.window_.runtime.play_recording(pcm):
            self.window_.statusBar().showMessage("Disconnect first to play a recording", 5000)

    def close_store(self) -> None:
        self.panel.close_store()
