"""The session's tool sources without running a server: a build without the MCP SDK says so in one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from voicedesk.app.tools import SessionTools, ToolChoice


def test_a_build_without_the_mcp_sdk_says_so_and_keeps_the_other_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"time": {"command": "python", "args": ["-m", "mcp_server_time"]}}}))
    monkeypatch.setitem(sys.modules, "voicedesk.tools.mcp", None)  # as in the bundles: the import fails
    tools = SessionTools(ToolChoice(builtins=["calculator"], mcp_config=config))
    assert tools.servers is None
    (problem,) = tools.problems
    assert "mcp package" in problem and "\n" not in problem
    assert tools.registry().names() == ["calculator"]


def test_no_mcp_json_no_servers_and_nothing_to_wait_for(tmp_path: Path) -> None:
    tools = SessionTools(ToolChoice(builtins=[], mcp_config=tmp_path / "missing.json"))
    assert tools.servers is None and tools.problems == [] and tools.states() == ()
