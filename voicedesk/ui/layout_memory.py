"""The window's layout kept between runs (in settings.ui): its geometry, where the panes split, the side tab
shown, the event inspector's filter and whether the History sidebar is open. A damaged saved layout is
ignored, never an error."""

from __future__ import annotations

import base64
import logging
from typing import Any

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QDockWidget, QMainWindow, QSplitter, QTabWidget

from voicedesk.ui.event_inspector import EventInspector

log = logging.getLogger(__name__)


class LayoutMemory:
    def __init__(
        self,
        window: QMainWindow,
        splitter: QSplitter,
        side_tabs: QTabWidget,
        inspector: EventInspector,
        history: QDockWidget | None = None,
    ) -> None:
        self._window = window
        self._history = history
        self._splitter = splitter
        self._side_tabs = side_tabs
        self._inspector = inspector
        self._saved_splitter: list[int] | None = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "geometry": base64.b64encode(bytes(self._window.saveGeometry().data())).decode("ascii"),
            "splitter": self._splitter.sizes(),
            "side_tab": self._side_tabs.currentIndex(),
            "event_filter": self._inspector.filter_box.text(),
            "hide_audio_events": self._inspector.hide_audio_box.isChecked(),
            "history_shown": self._history is not None and not self._history.isHidden(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        try:
            if isinstance(state.get("geometry"), str):
                self._window.restoreGeometry(QByteArray(base64.b64decode(state["geometry"])))
            sizes = state.get("splitter")
            if isinstance(sizes, list) and len(sizes) == 2 and all(isinstance(s, int) and s >= 0 for s in sizes):
                self._splitter.setSizes(sizes)
                self._saved_splitter = sizes  # again once shown: showing rescales the panes
            if isinstance(state.get("side_tab"), int):
                self._side_tabs.setCurrentIndex(state["side_tab"])
            if isinstance(state.get("event_filter"), str):
                self._inspector.filter_box.setText(state["event_filter"])
            if isinstance(state.get("hide_audio_events"), bool):
                self._inspector.hide_audio_box.setChecked(state["hide_audio_events"])
            if self._history is not None and state.get("history_shown") is True:
                self._history.show()
        except (ValueError, TypeError):
            log.info("ignored a damaged window layout")

    def reapply_splitter(self) -> None:
        """Set the saved pane sizes again, once the window is shown and has rescaled them."""
        if self._saved_splitter is not None:
            self._splitter.setSizes(self._saved_splitter)
