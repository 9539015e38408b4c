"""The developer drawer: the tool log (its table and details) and the raw Events, in a dock on the right.

Hidden by default: a person talking to the assistant rarely needs them, a developer always does. It opens and
closes from the top bar, the View menu and F12; the window remembers whether it was open. It opens by itself
the first time a tool runs only when the person ticked "Open when a tool runs".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QCheckBox, QDockWidget, QTabWidget, QVBoxLayout, QWidget

from voicedesk.ui.event_inspector import EventInspector
from voicedesk.ui.tool_log import ToolLogView

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow

DRAWER_KEY = "F12"


class DeveloperDrawer(QDockWidget):
    def __init__(self, window: QMainWindow, tool_log: ToolLogView, inspector: EventInspector) -> None:
        super().__init__("Tool log and events", window)
        self.setObjectName("developer_drawer")
        self.setAllowedAreas(Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.LeftDockWidgetArea)
        self.tool_log = tool_log
        self.inspector = inspector
        self.tabs = QTabWidget()
        self.tabs.setObjectName("side_tabs")
        self.tabs.setAccessibleName("Developer panes")
        self.tabs.tabBar().setAccessibleName("Developer panes")
        self.tabs.tabBar().setAccessibleDescription("The tool log, or the raw protocol events")
        self.tabs.addTab(tool_log, "Tool calls")
        self.tabs.addTab(inspector, "Events")
        self.open_on_tool = QCheckBox("Open when a tool runs")
        self.open_on_tool.setObjectName("open_on_tool")
        self.open_on_tool.setAccessibleName("Open the tool log when a tool runs")
        self.open_on_tool.setAccessibleDescription("Show this pane by itself the first time a tool runs")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.open_on_tool)
        self.setWidget(body)
        self.setMinimumWidth(260)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self)
        self.toggle_action: QAction = self.toggleViewAction()
        self.toggle_action.setText("&Tool log and events")
        self.toggle_action.setShortcut(QKeySequence(DRAWER_KEY))
        self._opened_for_a_tool = False
        self._window = window
        self.sized = False  # set when a saved layout gave the drawer its width
        self.visibilityChanged.connect(self._first_shown)
        self.hide()

    def _first_shown(self, visible: bool) -> None:
        """A third of the window at most the first time, so the conversation keeps the main area."""
        if visible and not self.sized:
            self.sized = True
            width = max(self.minimumWidth(), min(440, self._window.width() // 3))
            self._window.resizeDocks([self], [width], Qt.Orientation.Horizontal)

    def tool_started(self) -> None:
        """A tool runs: open the drawer on its log the first time, if the person asked for that."""
        if self._opened_for_a_tool or not self.open_on_tool.isChecked():
            return
        self._opened_for_a_tool = True
        if self.isHidden():
            self.tabs.setCurrentWidget(self.tool_log)
            self.show()
