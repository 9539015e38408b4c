"""Every tool a session gets, from three sources: the built-ins chosen in the settings, the person's own Python
tools (a ``tools`` folder in the config dir, or ``--tools-dir``), and the tools of MCP servers (``mcp.json``,
or ``--mcp-config``); and the approval asked before each call runs.

MCP servers start in the background when the first session connects, so connecting never waits for them;
their tools join the session (a ``session.update``) as each server becomes ready and leave while it restarts.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voicedesk.config import AppSettings, config_dir
from voicedesk.session.tool_calls import CallDecision
from voicedesk.tools.approval import (
    Answer,
    ApprovalGate,
    ApprovalPolicies,
    ApprovalRequest,
    Approver,
    FixedApprover,
    Policy,
    ToolSource,
    denial_output,
)
from voicedesk.tools.builtins import default_registry
from voicedesk.tools.mcp_config import default_mcp_config_path, load_mcp_config
from voicedesk.tools.registry import Tool, ToolRegistry
from voicedesk.tools.user_tools import TOOLS_FOLDER_NAME, load_user_tools

if TYPE_CHECKING:  # the MCP SDK takes most of a second to import: only when mcp.json names a server
    from voicedesk.tools.mcp import McpServers, ServerState

log = logging.getLogger(__name__)


@dataclass
class ToolChoice:
    """Which tools a session offers, from where, and how each is approved."""

    builtins: list[str]
    tools_dir: Path | None = None
    mcp_config: Path | None = None
    only: frozenset[str] | None = None
    """When given (``ask --tools``), exactly these tools by name, whatever their source."""
    disabled: frozenset[str] = frozenset()
    """Tools switched off in Settings."""
    policies: dict[str, str] = field(default_factory=dict)
    """Approval policy by tool name (always / ask / never); the rest get their source's default."""

    @classmethod
    def of(cls, settings: AppSettings, tools_dir: Path | None = None, mcp_config: Path | None = None) -> ToolChoice:
        """As the settings say; the folder and the MCP file default to the config dir's ``tools/`` and
        ``mcp.json``."""
        return cls(
            builtins=list(settings.tools),
            tools_dir=tools_dir or config_dir() / TOOLS_FOLDER_NAME,
            mcp_config=mcp_config or default_mcp_config_path(config_dir()),
            disabled=frozenset(settings.disabled_tools),
            policies=dict(settings.tool_policies),
        )

    def allows(self, name: str) -> bool:
        return name in self.only if self.only is not None else name not in self.disabled


@dataclass(frozen=True)
class ToolEntry:
    name: str
    source: ToolSource
    description: str
    parameters: dict[str, Any]
    server: str | None = None


class SessionTools:
    """The runtime's tools: the local ones loaded once, the MCP servers started once, and the current
    controller's registry kept in step with both."""

    def __init__(
        self,
        choice: ToolChoice,
        *,
        approver: Approver | None = None,
        on_policy_changed: Callable[[str, Policy], None] | None = None,
    ) -> None:
        self.choice = choice
        self.problems: list[str] = []
        """One line each: a tools-folder file that did not load, a mistake in mcp.json, a bad policy."""
        self.sources: dict[str, ToolSource] = {}
        self.servers_of: dict[str, str] = {}
        self.descriptions: dict[str, str] = {}
        self._file_registry = ToolRegistry()
        if choice.tools_dir is not None:
            loaded = load_user_tools(choice.tools_dir, self._file_registry)
            self.problems += loaded.problems
        config = load_mcp_config(choice.mcp_config, missing_ok=True) if choice.mcp_config is not None else None
        if config is not None:
            self.problems += config.problems
        taken = [*default_registry().names(), *self._file_registry.names()]
        self.servers: McpServers | None = None
        if config is not None and config.servers:
            try:
                from voicedesk.tools.mcp import McpServers
            except ImportError as exc:  # a build without the MCP SDK (the bundles leave it out)
                self.problems.append(f"MCP servers need the mcp package, which this build of voicedesk lacks ({exc})")
            else:
                self.servers = McpServers(config.servers, taken_names=taken)
        if self.servers is not None:
            self.servers.on_tools_changed(self._mcp_tools_changed)
        self._approver: Approver = approver or FixedApprover(Answer.DENY)
        self._on_policy_changed = on_policy_changed
        self.gate = self._gate(choice)
        self._follow: tuple[ToolRegistry, Callable[[], None]] | None = None
        self._started = False

    def use_approver(self, approver: Approver, on_policy_changed: Callable[[str, Policy], None] | None = None) -> None:
        """Who is asked before a call whose policy is "ask" (the window's cards), and who keeps an "always
        allow" answer (the settings)."""
        self._approver, self._on_policy_changed = approver, on_policy_changed
        self.gate = self._gate(self.choice)

    def _gate(self, choice: ToolChoice) -> ApprovalGate:
        problems: list[str] = []
        policies = ApprovalPolicies.from_json(choice.policies, problems)
        self.problems += problems
        return ApprovalGate(policies, self._approver, on_policy_changed=self._on_policy_changed)

    # ------------------------------------------------------------------ a controller's registry

    def registry(self) -> ToolRegistry:
        """A registry for a new controller: the chosen built-ins and file tools, and the MCP tools ready now."""
        registry = ToolRegistry()
        self._fill(registry)
        return registry

    def follow(self, registry: ToolRegistry, changed: Callable[[], None]) -> None:
        """Keep ``registry`` in step with the MCP servers; ``changed`` tells the session (a session.update)."""
        self._follow = (registry, changed)

    def reconfigure(self, choice: ToolChoice) -> None:
        """New settings (tools switched on or off, policies): the followed registry is refilled in place."""
        self.choice = choice
        self.gate = self._gate(choice)
        if self._follow is not None:
            registry, changed = self._follow
            for name in registry.names():
                registry.unregister(name)
            self._fill(registry)
            changed()

    def _fill(self, registry: ToolRegistry) -> None:
        builtins = default_registry()
        wanted = [n for n in builtins.names() if self.choice.allows(n)]
        if self.choice.only is None:
            wanted = [n for n in wanted if n in self.choice.builtins]
        for name in wanted:
            self._offer(registry, builtins.get(name), ToolSource.BUILTIN)
        for tool in self._file_registry:
            if self.choice.allows(tool.name):
                self._offer(registry, tool, ToolSource.FILE)
        self._sync_mcp(registry)

    def _offer(self, registry: ToolRegistry, tool: Tool | None, source: ToolSource, server: str | None = None) -> None:
        if tool is None or tool.name in registry:
            return
        registry.add(tool)
        self.sources[tool.name] = source
        self.descriptions[tool.name] = tool.description
        if server is not None:
            self.servers_of[tool.name] = server

    def _sync_mcp(self, registry: ToolRegistry) -> None:
        if self.servers is None:
            return
        for tool in list(registry):
            if self.sources.get(tool.name) is ToolSource.MCP:
                registry.unregister(tool.name)
        for mcp_tool in self.servers.tools():
            self.sources[mcp_tool.name] = ToolSource.MCP
            self.servers_of[mcp_tool.name] = mcp_tool.server
            self.descriptions[mcp_tool.name] = mcp_tool.description
            if self.choice.allows(mcp_tool.name) and mcp_tool.name not in registry:
                registry.add(mcp_tool.registry_tool())

    def _mcp_tools_changed(self) -> None:
        if self._follow is not None:
            registry, changed = self._follow
            self._sync_mcp(registry)
            changed()

    def catalogue(self) -> list[ToolEntry]:
        """Every tool a session could get now, on or off: the built-ins, the tools folder's, the ready MCP
        servers'."""
        entries = [ToolEntry(t.name, ToolSource.BUILTIN, t.description, t.parameters) for t in default_registry()]
        entries += [ToolEntry(t.name, ToolSource.FILE, t.description, t.parameters) for t in self._file_registry]
        if self.servers is not None:
            entries += [
                ToolEntry(t.name, ToolSource.MCP, t.description, t.parameters, t.server) for t in self.servers.tools()
            ]
        return entries

    # ------------------------------------------------------------------ MCP servers

    def start(self) -> None:
        """Start the MCP servers in the background (once; returns at once)."""
        if self.servers is not None and not self._started:
            self._started = True
            self.servers.start()

    def on_state_changed(self, listener: Callable[[], None]) -> None:
        """Called when an MCP server's state changes (starting, ready, failed)."""
        if self.servers is not None:
            self.servers.on_state_changed(listener)

    async def settled(self, timeout_s: float) -> bool:
        """Wait until no MCP server is still starting (ready or failed), at most ``timeout_s``."""
        if self.servers is None:
            return True
        from voicedesk.tools.mcp import Phase

        done = asyncio.Event()

        def check() -> None:
            if not any(state.phase is Phase.STARTING for state in self.states()):
                done.set()

        self.on_state_changed(check)
        check()
        try:
            await asyncio.wait_for(done.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def states(self) -> tuple[ServerState, ...]:
        return self.servers.states() if self.servers is not None else ()

    async def restart(self, server: str) -> None:
        if self.servers is not None:
            await self.servers.restart(server)

    async def close(self) -> None:
        if self.servers is not None:
            await self.servers.close()

    # ------------------------------------------------------------------ approval

    async def decide(self, name: str, arguments: str, call_id: str) -> CallDecision:
        """Asked before each call: by policy, else by asking the person (a denial never runs the tool)."""
        try:
            parsed = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            parsed = {}
        request = ApprovalRequest(
            tool=name,
            arguments=parsed if isinstance(parsed, dict) else {},
            source=self.sources.get(name, ToolSource.BUILTIN),
            server=self.servers_of.get(name),
            call_id=call_id,
        )
        verdict = await self.gate.check(request)
        source = f"MCP {request.server}" if request.server else request.source.value
        if verdict.runs:
            return CallDecision(True, verdict.outcome.value, source=source)
        return CallDecision(False, verdict.outcome.value, denial_output(name, verdict), source)
