"""The window's layout kept between runs (in settings.ui): its geometry, its docks (where they are, how wide,
whether shown: the developer drawer and the History sidebar), the drawer's tab, whether it opens when a tool
runs, and the event inspector's filter. A damaged saved layout is ignored, never an error."""

from __future__ import annotations

import base64
import logging
from typing import Any

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QDockWidget, QMainWindow

from voicedesk.ui.developer_drawer import DeveloperDrawer

log = logging.getLogger(__name__)
LAYOUT_VERSION = 2  # the drawer replaced the side splitter: saveState() of older layouts has no docks to restore


def _encode(data: QByteArray) -> str:
    return base64.b64encode(bytes(data.data())).decode("ascii")


class LayoutMemory:
    def __init__(self, window: QMainWindow, drawer: DeveloperDrawer, history: QDockWidget | None = None) -> None:
        self._window = window
        self._drawer = drawer
        self._history = history
        self._saved_state: QByteArray | None = None

    def snapshot(self) -> dict[str, Any]:
        inspector = self._drawer.inspector
        return {
            "geometry": _encode(self._window.saveGeometry()),
            "docks": _encode(self._window.saveState(LAYOUT_VERSION)),
            "drawer_shown": not self._drawer.isHidden(),
            "drawer_opens_on_tool": self._drawer.open_on_tool.isChecked(),
            "side_tab": self._drawer.tabs.currentIndex(),
            "event_filter": inspector.filter_box.text(),
            "hide_audio_events": inspector.hide_audio_box.isChecked(),
            "history_shown": self._history is not None and not self._history.isHidden(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        inspector = self._drawer.inspector
        try:
            if isinstance(state.get("geometry"), str):
                self._window.restoreGeometry(QByteArray(base64.b64decode(state["geometry"])))
            if isinstance(state.get("docks"), str):
                self._saved_state = QByteArray(base64.b64decode(state["docks"]))
                self._drawer.sized = self._window.restoreState(self._saved_state, LAYOUT_VERSION)
            if isinstance(state.get("side_tab"), int):
                self._drawer.tabs.setCurrentIndex(state["side_tab"])
            if isinstance(state.get("event_filter"), str):
                inspector.filter_box.setText(state["event_filter"])
            if isinstance(state.get("hide_audio_events"), bool):
                inspector.hide_audio_box.setChecked(state["hide_audio_events"])
            if isinstance(state.get("drawer_opens_on_tool"), bool):
                self._drawer.open_on_tool.setChecked(state["drawer_opens_on_tool"])
            # The explicit flags win over the docks' state (which may be missing or from another version).
            self._drawer.setVisible(state.get("drawer_shown") is True)
            if self._history is not None:
                self._history.setVisible(state.get("history_shown") is True)
        except (ValueError, TypeError):
            log.info("ignored a damaged window layout")

    def reapply(self) -> None:
        """Restore the docks' sizes again once the window is shown (showing lays them out anew)."""
        if self._saved_state is not None:
            drawer_shown = not self._drawer.isHidden()
            history_shown = self._history is not None and not self._history.isHidden()
            self._window.restoreState(self._saved_state, LAYOUT_VERSION)
            self._drawer.setVisible(drawer_shown)
            if self._history is not None:
                self._history.setVisible(history_shown)
