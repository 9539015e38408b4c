"""Settings → Tools: every tool with where it comes from, an on/off switch and its approval policy; the MCP
servers with their state (starting, ready with N tools, failed with the last lines of its stderr), a Restart
button each, and mcp.json to edit (checked before it is saved)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from voicedesk.app.tools import SessionTools
from voicedesk.config import AppSettings
from voicedesk.private_files import write_private_text
from voicedesk.tools.approval import Policy, ToolSource, default_policy
from voicedesk.tools.mcp_config import parse_mcp_config
from voicedesk.ui.accessibility import describe

SERVER_REFRESH_MS = 1000
PLACEHOLDER = '{"mcpServers": {"time": {"command": "python", "args": ["-m", "mcp_server_time"]}}}'


@dataclass(frozen=True)
class ToolInfo:
    name: str
    source: ToolSource
    description: str = ""
    server: str | None = None


def tools_hooks(tools: SessionTools, restart: Callable[[str], object] | None, mcp_path: Path | None) -> ToolsHooks:
    """What the tab shows of the running app's tools."""
    return ToolsHooks(
        tools=[ToolInfo(e.name, e.source, e.description, e.server) for e in tools.catalogue()],
        server_lines=lambda: [(s.name, s.summary(), "\n".join(s.stderr_tail)) for s in tools.states()],
        restart=restart,
        mcp_path=mcp_path,
    )


@dataclass
class ToolsHooks:
    """What the tab may ask of the running app; all optional (nothing running: the built-ins only)."""

    tools: list[ToolInfo] = field(default_factory=list)
    server_lines: Callable[[], list[tuple[str, str, str]]] = lambda: []
    """(server name, one line about its state, the last lines of its stderr) for each MCP server."""
    restart: Callable[[str], object] | None = None
    mcp_path: Path | None = None


def _source_label(info: ToolInfo) -> str:
    if info.source is ToolSource.MCP:
        return f"MCP: {info.server}"
    return "your tools folder" if info.source is ToolSource.FILE else "built in"


class ToolsTab(QWidget):
    def __init__(self, settings: AppSettings, hooks: ToolsHooks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._hooks = hooks
        self._settings = settings
        self.table = QTableWidget(len(hooks.tools), 4)
        describe(self.table, "Tools", "Each tool the model may call: where it comes from, on or off, its approval")
        self.table.setHorizontalHeaderLabels(["Tool", "From", "On", "Approval"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.policy_boxes: dict[str, QComboBox] = {}
        self.on_items: dict[str, QTableWidgetItem] = {}
        for row, info in enumerate(hooks.tools):
            name = QTableWidgetItem(info.name)
            name.setToolTip(info.description)
            name.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            source = QTableWidgetItem(_source_label(info))
            source.setFlags(Qt.ItemFlag.ItemIsEnabled)
            on = QTableWidgetItem()
            on.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            enabled = (
                info.name in settings.tools
                if info.source is ToolSource.BUILTIN
                else (info.name not in settings.disabled_tools)
            )
            on.setCheckState(Qt.CheckState.Checked if enabled else Qt.CheckState.Unchecked)
            on.setData(Qt.ItemDataRole.AccessibleTextRole, f"{info.name} on")
            policy = QComboBox()
            policy.setAccessibleName(f"Approval of {info.name}")
            policy.addItems([p.value for p in Policy])
            policy.setCurrentText(settings.tool_policies.get(info.name, default_policy(info.source).value))
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, source)
            self.table.setItem(row, 2, on)
            self.table.setCellWidget(row, 3, policy)
            self.policy_boxes[info.name] = policy
            self.on_items[info.name] = on

        self.servers = QVBoxLayout()
        self.server_labels: dict[str, QLabel] = {}
        self.editor = QPlainTextEdit()
        describe(self.editor, "mcp.json", "The MCP servers to start, as JSON; checked before it is saved")
        self.editor.setPlaceholderText(
            '{"mcpServers": {"time": {"command": "python", "args": ["-m", "mcp_server_time"]}}}'
        )
        self.save_button = QPushButton("Save mcp.json")
        self.config_note = QLabel()
        self.config_note.setWordWrap(True)
        if hooks.mcp_path is not None and hooks.mcp_path.exists():
            try:
                self.editor.setPlainText(hooks.mcp_path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                self.config_note.setText(f"Cannot read {hooks.mcp_path}: {exc}")
        self.save_button.setEnabled(hooks.mcp_path is not None)
        self.save_button.clicked.connect(self.save_mcp_config)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Tools the model may call, and whether you are asked first:"))
        layout.addWidget(self.table, 2)
        layout.addWidget(QLabel("MCP servers:"))
        layout.addLayout(self.servers)
        layout.addWidget(self.editor, 1)
        save_row = QHBoxLayout()
        save_row.addWidget(self.save_button)
        save_row.addWidget(self.config_note, 1)
        layout.addLayout(save_row)
        self._refresh_servers()
        self._timer = QTimer(self, interval=SERVER_REFRESH_MS)
        self._timer.timeout.connect(self._refresh_servers)
        self._timer.start()

    def _refresh_servers(self) -> None:
        for name, line, stderr in self._hooks.server_lines():
            label = self.server_labels.get(name)
            if label is None:
                label = QLabel()
                label.setWordWrap(True)
                label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                restart = QPushButton("Restart")
                restart.setAccessibleName(f"Restart {name}")
                restart.setEnabled(self._hooks.restart is not None)
                restart.clicked.connect(lambda _checked=False, n=name: self._restart(n))
                row = QHBoxLayout()
                row.addWidget(label, 1)
                row.addWidget(restart)
                self.servers.addLayout(row)
                self.server_labels[name] = label
            label.setText(line)
            label.setToolTip(f"Its last words on stderr:\n{stderr}" if stderr else "")

    def _restart(self, name: str) -> None:
        if self._hooks.restart is not None:
            self._hooks.restart(name)

    def save_mcp_config(self) -> bool:
        """Check the text as mcp.json and save it (0600: it may hold tokens); False with the problems shown."""
        path = self._hooks.mcp_path
        if path is None:
            return False
        text = self.editor.toPlainText()
        config = parse_mcp_config(text or '{"mcpServers": {}}', str(path))
        if config.problems:
            self.config_note.setText("Not saved: " + "; ".join(config.problems))
            return False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_private_text(path, text)
        except OSError as exc:
            self.config_note.setText(f"Not saved: {exc}")
            return False
        count = len(config.servers)
        self.config_note.setText(f"Saved: {count} server{'s' if count != 1 else ''}; they start with the next session.")
        return True

    def apply(self, settings: AppSettings) -> AppSettings:
        builtins, disabled, policies = [], [], {}
        for info in self._hooks.tools:
            on = self.on_items[info.name].checkState() == Qt.CheckState.Checked
            if info.source is ToolSource.BUILTIN:
                if on:
                    builtins.append(info.name)
            elif not on:
                disabled.append(info.name)
            policy = self.policy_boxes[info.name].currentText()
            if policy != default_policy(info.source).value:
                policies[info.name] = policy
        keep_disabled = [n for n in settings.disabled_tools if n not in self.on_items]  # tools not running now
        keep_policies = {n: p for n, p in settings.tool_policies.items() if n not in self.on_items}
        return dataclasses.replace(
            settings,
            tools=builtins,
            disabled_tools=sorted({*keep_disabled, *disabled}),
            tool_policies={**keep_policies, **policies},
        )
