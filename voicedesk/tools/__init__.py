"""Tools the model can call: a registry that describes Python functions as Realtime API function tools and
runs the model's calls safely, plus the built-in tools."""

from voicedesk.tools.builtins import builtin_tools, default_registry
from voicedesk.tools.registry import StopConversation, Tool, ToolError, ToolRegistry, ToolResult

__all__ = [
    "StopConversation",
    "Tool",
    "ToolError",
    "ToolRegistry",
    "ToolResult",
    "builtin_tools",
    "default_registry",
]
