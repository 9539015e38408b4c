"""Settings → Tools over a real tools folder and a real MCP server: every tool with its source, on/off and
approval policy; the server's state with Restart; mcp.json checked before it is saved."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from voicedesk.app.tools import SessionTools, ToolChoice
from voicedesk.config import AppSettings
from voicedesk.ui.settings_tools import ToolsTab, tools_hooks

TOOLBOX = Path(__file__).parents[1] / "mcp_servers" / "toolbox_server.py"


def test_the_tools_tab_lists_sources_and_keeps_choices(qtbot: QtBot, tmp_path: Path, run: Callable[..., Any]) -> None:
    folder = tmp_path / "tools"
    folder.mkdir()
    (folder / "words.py").write_text("def shout(text: str) -> str:\n    return text.upper()\n")
    mcp = tmp_path / "mcp.json"
    mcp.write_text(json.dumps({"mcpServers": {"toolbox": {"command": sys.executable, "args": [str(TOOLBOX)]}}}))
    settings = AppSettings(tools=["calculator", "get_time", "stop_conversation"])
    tools = SessionTools(ToolChoice.of(settings, folder, mcp))
    tools.start()
    run(tools.settled(30))
    restarted: list[str] = []
    tab = ToolsTab(settings, tools_hooks(tools, restarted.append, mcp))
    qtbot.addWidget(tab)
    rows = {_cell(tab, r, 0): _cell(tab, r, 1) for r in range(tab.table.rowCount())}
    assert rows["calculator"] == "built in" and rows["shout"] == "your tools folder" and rows["echo"] == "MCP: toolbox"
    assert tab.policy_boxes["calculator"].currentText() == "always" and tab.policy_boxes["echo"].currentText() == "ask"
    assert "toolbox: ready with" in tab.server_labels["toolbox"].text()
    # Off and on, a policy changed: kept in the settings.
    tab.on_items["echo"].setCheckState(Qt.CheckState.Unchecked)
    tab.on_items["get_time"].setCheckState(Qt.CheckState.Unchecked)
    tab.policy_boxes["shout"].setCurrentText("always")
    applied = tab.apply(settings)
    assert applied.disabled_tools == ["echo"] and "get_time" not in applied.tools
    assert applied.tool_policies == {"shout": "always"}
    # mcp.json: a mistake is shown and nothing is saved; a good file is saved for the owner only.
    before = mcp.read_text()
    tab.editor.setPlainText('{"mcpServers": {"bad": {"args": []}}}')
    assert not tab.save_mcp_config() and "Not saved" in tab.config_note.text() and mcp.read_text() == before
    tab.editor.setPlainText(before)
    assert tab.save_mcp_config() and stat.S_IMODE(mcp.stat().st_mode) == 0o600
    restart = next(b for b in tab.findChildren(QPushButton) if b.accessibleName() == "Restart toolbox")
    qtbot.mouseClick(restart, Qt.MouseButton.LeftButton)
    assert restarted == ["toolbox"]
    run(tools.close())


def _cell(tab: ToolsTab, row: int, column: int) -> str:
    item = tab.table.item(row, column)
    assert item is not None
    return item.text()
