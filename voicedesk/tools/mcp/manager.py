"""Every configured MCP server at once: started in parallel in the background, their tools under names the
Realtime API accepts, and a word to listeners whenever the tool set or a server's state changes.

``start()`` returns at once; tools join as their servers become ready, leave while a server restarts, and
``close()`` stops every child process. Nothing here needs Qt.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from voicedesk.tools.mcp.connection import CallFailed, ServerConnection, ServerState
from voicedesk.tools.mcp.results import result_text
from voicedesk.tools.mcp.schema import clean_parameters, exposed_names
from voicedesk.tools.mcp_config import McpServerConfig
from voicedesk.tools.registry import Tool, ToolError, ToolRegistry, ToolResult

log = logging.getLogger(__name__)

Listener = Callable[[], None]


@dataclass(frozen=True, eq=False)
class McpTool:
    """One MCP tool as the model sees it; ``call`` never raises for what the server or the model does."""

    name: str
    description: str
    parameters: dict[str, Any]
    server: str
    tool: str
    """Its name on the server."""
    timeout_s: float
    _connection: ServerConnection = field(repr=False)

    def definition(self) -> dict[str, Any]:
        """The function tool entry of ``session.update``'s ``tools`` list (a fresh copy), as the registry makes it."""
        return self.registry_tool().definition()

    async def call(self, arguments: Mapping[str, Any]) -> ToolResult:
        started = time.perf_counter()
        try:
            output = await self._invoke(arguments)
        except ToolError as exc:
            message = str(exc)
            return ToolResult(
                output=json.dumps({"error": message}, ensure_ascii=False),
                ok=False,
                error=message,
                duration_s=time.perf_counter() - started,
            )
        return ToolResult(output=output, ok=True, duration_s=time.perf_counter() - started)

    def registry_tool(self) -> Tool:
        """The same tool for ``ToolRegistry.add``: the registry validates the arguments, then calls it."""

        async def run(**arguments: Any) -> str:
            return await self._invoke(arguments)

        run.mcp_tool = self  # type: ignore[attr-defined]  # how sync_registry tells MCP tools from others
        return Tool(
            name=self.name,
            description=self.description,
            parameters=self.parameters,
            func=run,
            is_async=True,
            to_kwargs=self._without_nulls,
        )

    async def _invoke(self, arguments: Mapping[str, Any]) -> str:
        """The result text; ToolError (its message for the model) when the call failed or the tool said so."""
        try:
            result = await self._connection.call(self.tool, self._without_nulls(arguments), self.timeout_s)
        except CallFailed as exc:
            raise ToolError(str(exc)) from None
        text = result_text(result)
        if result.is_error:
            raise ToolError(text or f"the MCP tool '{self.tool}' reported an error without saying which")
        return text

    def _without_nulls(self, arguments: Any) -> dict[str, Any]:
        # The registry's validator counts null for an optional argument as left out; MCP servers may not.
        required = set(self.parameters.get("required", []))
        return {key: value for key, value in dict(arguments).items() if value is not None or key in required}


class McpServers:
    def __init__(
        self,
        configs: Iterable[McpServerConfig],
        *,
        taken_names: Iterable[str] = (),
        call_timeout_s: float = 60.0,
        start_timeout_s: float = 30.0,
        restart_delays_s: tuple[float, float] = (1.0, 60.0),
        mode: str = "auto",
        guard: bool = True,
    ) -> None:
        """``taken_names``: the tools already offered (built-ins, the tools folder), which MCP tools must not
        shadow. ``mode`` is the SDK's protocol negotiation ("auto", or "legacy" for the initialize handshake
        only). ``guard`` runs stdio servers under a watchdog that ends them if this process dies."""
        self._taken = frozenset(taken_names)
        self._call_timeout_s = call_timeout_s
        self._listeners: list[Listener] = []
        self._state_listeners: list[Listener] = []
        self._tools: tuple[McpTool, ...] = ()
        self._connections = [
            ServerConnection(
                config,
                self._changed,
                start_timeout_s=start_timeout_s,
                restart_delays_s=restart_delays_s,
                mode=mode,
                guard=guard,
            )
            for config in configs
        ]
        self._started = False

    def start(self) -> None:
        """Start every server in the background; returns at once (call it with the event loop running)."""
        self._started = True
        for connection in self._connections:
            connection.start()

    def on_tools_changed(self, listener: Listener) -> None:
        """Called after the exposed tool set changed (a server became ready, restarted, or its list changed)."""
        self._listeners.append(listener)

    def on_state_changed(self, listener: Listener) -> None:
        """Called after any server's state changed (for a Settings pane or a status line)."""
        self._state_listeners.append(listener)

    def tools(self) -> tuple[McpTool, ...]:
        return self._tools

    def states(self) -> tuple[ServerState, ...]:
        return tuple(connection.state for connection in self._connections)

    def sync_registry(self, registry: ToolRegistry) -> None:
        """Make ``registry`` hold exactly the current MCP tools, beside its other tools (call it from
        ``on_tools_changed``, then send the session its new tool list)."""
        for tool in registry:
            if hasattr(tool.func, "mcp_tool"):
                registry.unregister(tool.name)
        for mcp_tool in self._tools:
            if mcp_tool.name not in registry:
                registry.add(mcp_tool.registry_tool())

    async def restart(self, server: str) -> None:
        """Restart one server by name (the Restart button); KeyError for an unknown name."""
        matches = [connection for connection in self._connections if connection.config.name == server]
        if not matches:
            raise KeyError(f"no MCP server named {server!r}")
        if not self._started:
            matches[0].start()
        else:
            await matches[0].restart()

    async def close(self) -> None:
        """Stop every server and wait for their processes to be gone."""
        # In parallel: a server that ignores its closed stdin takes a few seconds to be ended.
        await asyncio.gather(*(connection.close() for connection in self._connections))
        self._tools = ()

    def _changed(self) -> None:
        tools = self._expose()
        before = [tool.definition() for tool in self._tools]
        self._tools = tools
        if [tool.definition() for tool in tools] != before:
            _tell(self._listeners)
        _tell(self._state_listeners)

    def _expose(self) -> tuple[McpTool, ...]:
        offered = [(connection, tool) for connection in self._connections for tool in connection.tools]
        names = exposed_names(((c.config.name, tool.name) for c, tool in offered), self._taken)
        exposed: list[McpTool] = []
        seen: set[str] = set()
        for connection, tool in offered:
            name = names[(connection.config.name, tool.name)]
            if name in seen:
                continue  # a server listing one tool twice
            seen.add(name)
            exposed.append(
                McpTool(
                    name=name,
                    description=tool.description
                    or tool.title
                    or f"The tool '{tool.name}' of {connection.config.name}.",
                    parameters=clean_parameters(tool.input_schema),
                    server=connection.config.name,
                    tool=tool.name,
                    timeout_s=self._call_timeout_s,
                    _connection=connection,
                )
            )
        return tuple(exposed)


def _tell(listeners: list[Listener]) -> None:
    for listener in list(listeners):
        try:
            listener()
        except Exception:
            log.exception("an MCP listener failed")
