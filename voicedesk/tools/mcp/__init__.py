"""MCP servers as tools: the servers' lifetime, their tools under Realtime-safe names and schemas, and calls.

``McpServers`` is the entry point; ``McpTool.registry_tool()`` gives a tool the registry can run.
"""

from voicedesk.tools.mcp.connection import Phase, ServerState
from voicedesk.tools.mcp.manager import McpServers, McpTool

__all__ = ["McpServers", "McpTool", "Phase", "ServerState"]
