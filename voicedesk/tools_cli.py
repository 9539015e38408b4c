"""``voicedesk tools``: every tool a session would get, with its source, approval policy and schema."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def add_tools_parser(sub: argparse._SubParsersAction[Any], parents: Sequence[argparse.ArgumentParser]) -> None:
    tools = sub.add_parser("tools", help="list the tools a session would get (built-in, folder, MCP)", parents=parents)
    tools.add_argument("--json", action="store_true", help="one JSON document, with each tool's schema")
    tools.add_argument("--mcp-config", type=Path, metavar="FILE", help="MCP servers (default: mcp.json in the config)")
    tools.add_argument(
        "--tools-dir", type=Path, metavar="DIR", help="your Python tools (default: tools/ in the config)"
    )
    tools.add_argument("--wait", type=float, default=15.0, metavar="S", help="how long MCP servers get to start")


def run_tools(args: argparse.Namespace) -> int:
    from voicedesk.app.tools import SessionTools, ToolChoice
    from voicedesk.config import load_settings

    for option, path, check in (
        ("--mcp-config", args.mcp_config, Path.is_file),
        ("--tools-dir", args.tools_dir, Path.is_dir),
    ):
        if path is not None and not check(path):
            print(f"voicedesk: {option} {path}: not found", file=sys.stderr)
            return 2
    settings = load_settings()
    choice = ToolChoice.of(settings, args.tools_dir, args.mcp_config)
    tools = SessionTools(choice)
    for problem in tools.problems:
        print(f"voicedesk: warning: {problem}", file=sys.stderr)
    return asyncio.run(_list(tools, args, settings.tools))


async def _list(tools: Any, args: argparse.Namespace, builtins_on: list[str]) -> int:
    from voicedesk.tools.approval import default_policy

    tools.start()
    await tools.settled(args.wait)
    entries = tools.catalogue()
    states = tools.states()
    await tools.close()
    policies = tools.choice.policies
    rows = []
    for entry in entries:
        on = entry.name in builtins_on if entry.source.value == "built-in" else tools.choice.allows(entry.name)
        rows.append(
            {
                "name": entry.name,
                "source": entry.source.value,
                "server": entry.server,
                "on": on,
                "approval": policies.get(entry.name, default_policy(entry.source).value),
                "description": entry.description,
                "parameters": entry.parameters,
            }
        )
    if args.json:
        servers = [{"name": s.name, "state": s.phase.value, "summary": s.summary()} for s in states]
        print(json.dumps({"tools": rows, "mcp_servers": servers}, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        origin = f"MCP {row['server']}" if row["server"] else row["source"]
        flags = ("on " if row["on"] else "off") + f"  {row['approval']:<6}"
        summary = (row["description"] or "").strip().splitlines()[0:1]
        print(f"{row['name']:<28} {origin:<18} {flags}  {summary[0] if summary else ''}")
    for state in states:
        print(f"MCP server {state.summary()}")
    return 0
