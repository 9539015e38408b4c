"""One configured MCP server over its whole life: start, list its tools, follow changes, restart after a crash.

Everything for one server runs in one background task (the SDK's task groups must be entered and left in
the same task). Stopping goes through the SDK's own shutdown (close stdin, wait, then end the process group),
never through a bare ``task.cancel()``, which could leave the child behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

import voicedesk
from voicedesk.tools.mcp.transport import OwningTransport, StderrTail, WatchedTransport
from voicedesk.tools.mcp_config import HttpServerConfig, McpServerConfig, StdioServerConfig

log = logging.getLogger(__name__)

_GUARD = Path(__file__).with_name("guard.py")
_MAX_PAGES = 100
_STABLE_AFTER_S = 30.0
"""A server that stayed up this long starts its restart delays from the shortest again."""


class Phase(enum.StrEnum):
    STARTING = "starting"
    READY = "ready"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ServerState:
    name: str
    phase: Phase
    tool_count: int = 0
    detail: str = ""
    stderr_tail: tuple[str, ...] = ()
    restarts: int = 0

    def summary(self) -> str:
        """One line for a status bar or a log: "time: ready with 2 tools", "notes: failed: ..."."""
        if self.phase is Phase.READY:
            return f"{self.name}: ready with {self.tool_count} tool{'s' if self.tool_count != 1 else ''}"
        detail = f": {self.detail}" if self.detail else ""
        said = f" (its last words: {self.stderr_tail[-1]})" if self.stderr_tail else ""
        return f"{self.name}: {self.phase.value}{detail}{said}"


class CallFailed(Exception):
    """A tools/call that produced no result; the message is meant for the model."""


class ServerConnection:
    def __init__(
        self,
        config: McpServerConfig,
        on_change: Callable[[], None],
        *,
        start_timeout_s: float = 30.0,
        restart_delays_s: tuple[float, float] = (1.0, 60.0),
        mode: str = "auto",
        guard: bool = True,
    ) -> None:
        self.config = config
        self.tools: tuple[types.Tool, ...] = ()
        self.state = ServerState(config.name, Phase.STOPPED)
        self._on_change = on_change
        self._start_timeout_s = start_timeout_s
        self._first_delay_s, self._max_delay_s = restart_delays_s
        self._mode = mode
        self._guard = guard
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._scope: anyio.CancelScope | None = None
        self._wake = asyncio.Event()
        self._end = asyncio.Event()
        self._refresh = asyncio.Event()
        self._closing = False
        self._restart_requested = False
        self._restarts = 0
        self._http_error = ""

    def start(self) -> None:
        if self._task is None:
            self._set_state(Phase.STARTING)
            self._task = asyncio.create_task(self._run(), name=f"mcp-{self.config.name}")

    async def restart(self) -> None:
        """End the current connection (if any) and start again at once."""
        self._restart_requested = True
        self._end.set()
        self._wake.set()
        if self._client is None and self._scope is not None:
            self._scope.cancel()  # still starting: give up on this attempt

    async def close(self) -> None:
        """Stop the server and wait until its process is gone."""
        self._closing = True
        self._end.set()
        self._wake.set()
        if self._scope is not None and self._client is None:
            self._scope.cancel()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        self.tools = ()
        self._set_state(Phase.STOPPED)

    async def call(self, tool: str, arguments: dict[str, Any], timeout_s: float) -> types.CallToolResult:
        client = self._client
        if client is None or self.state.phase is not Phase.READY:
            raise CallFailed(f"The MCP server '{self.config.name}' is not ready ({self.state.summary()}).")
        try:
            return await client.session.call_tool(tool, arguments, read_timeout_seconds=timeout_s)
        except MCPError as exc:
            if exc.code == types.CONNECTION_CLOSED:
                raise CallFailed(
                    f"The MCP server '{self.config.name}' stopped while running '{tool}'; it is being restarted."
                ) from None
            if exc.code == types.REQUEST_TIMEOUT:
                raise CallFailed(f"The tool '{tool}' did not finish within {timeout_s:g} seconds.") from None
            raise CallFailed(f"The MCP server '{self.config.name}' refused the call: {exc.message}") from None
        except ValidationError:
            raise CallFailed(f"The MCP server '{self.config.name}' answered with a malformed result.") from None
        except (RuntimeError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise CallFailed(f"The tool '{tool}' could not be run: {_exception_text(exc)}") from None

    async def _run(self) -> None:
        failures = 0
        while not self._closing:
            self._set_state(Phase.STARTING)
            reason, tail, ready_for_s = await self._serve_once()
            self.tools = ()  # they leave with the state change below, in one notification
            if self._is_closing():  # (a method: close() sets the flag while we awaited)
                break
            if self._restart_requested:
                self._restart_requested = False
                failures = 0
                continue
            failures = 1 if ready_for_s > _STABLE_AFTER_S else failures + 1
            delay = min(self._max_delay_s, self._first_delay_s * 2 ** (failures - 1))
            self._restarts += 1
            self._set_state(Phase.FAILED, f"{reason}; trying again in {delay:g} s", tail)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._restart_requested = False

    def _is_closing(self) -> bool:
        return self._closing

    async def _serve_once(self) -> tuple[str, tuple[str, ...], float]:
        """Run one connection until it ends: why it ended, the server's last stderr lines, how long it was up."""
        self._end.clear()
        self._http_error = ""
        stderr = StderrTail() if isinstance(self.config, StdioServerConfig) else None
        loop = asyncio.get_running_loop()
        ready = False
        ready_at = 0.0
        reason = "the server closed the connection"
        with anyio.CancelScope() as scope:
            self._scope = scope
            timer = loop.call_later(self._start_timeout_s, scope.cancel)
            try:
                client = Client(
                    WatchedTransport(self._transport(stderr), self._end, stderr),
                    mode=self._mode,
                    message_handler=self._on_message,
                    client_info=types.Implementation(name="voicedesk", version=voicedesk.__version__),
                    cache=None,
                )
                async with client:
                    tools = await _list_all(client)
                    timer.cancel()
                    ready = True
                    ready_at = loop.time()
                    self._client = client
                    self._set_tools(tools)
                    async with anyio.create_task_group() as group:
                        group.start_soon(self._follow_changes, client)
                        await self._end.wait()
                        group.cancel_scope.cancel()
            except Exception as exc:
                reason = _failure_text(exc, self.config)
                if self._http_error:
                    reason = f"{reason} ({self._http_error})"
            finally:
                timer.cancel()
                self._client = None
                self._scope = None
        if scope.cancelled_caught and not ready and not self._closing and not self._restart_requested:
            reason = f"did not answer within {self._start_timeout_s:g} s"
        tail = stderr.close() if stderr is not None else ()
        return reason, tail, loop.time() - ready_at if ready else 0.0

    def _transport(self, stderr: StderrTail | None) -> AbstractAsyncContextManager[Any]:
        config = self.config
        if isinstance(config, HttpServerConfig):
            http = create_mcp_http_client(headers=dict(config.headers) or None)
            http.event_hooks["response"].append(self._note_http_status)
            return OwningTransport(streamable_http_client(config.url, http_client=http), http)
        command, args = config.command, list(config.args)
        if self._guard and os.name == "posix" and not getattr(sys, "frozen", False):
            command, args = sys.executable, ["-I", "-S", str(_GUARD), str(os.getpid()), "--", command, *args]
        parameters = StdioServerParameters(command=command, args=args, env=dict(config.env) or None, cwd=config.cwd)
        assert stderr is not None
        return stdio_client(parameters, errlog=stderr.writer)

    async def _note_http_status(self, response: httpx2.Response) -> None:
        # The SDK reports a refused request as "Server returned an error response": keep the status to say more.
        if response.status_code >= 400:
            self._http_error = f"HTTP {response.status_code} {response.reason_phrase}".strip()

    async def _follow_changes(self, client: Client) -> None:
        capabilities = client.server_capabilities.tools
        if client.protocol_version in MODERN_PROTOCOL_VERSIONS and capabilities and capabilities.list_changed:
            async with anyio.create_task_group() as group:
                group.start_soon(self._listen, client)
                await self._refresh_on_request(client)
        else:
            await self._refresh_on_request(client)

    async def _listen(self, client: Client) -> None:
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _ in subscription:
                    self._refresh.set()
        except Exception as exc:  # the server stopped or does not serve it: its tools simply stay as listed
            log.info("MCP server %s: no more tool list changes (%s)", self.config.name, _exception_text(exc))

    async def _refresh_on_request(self, client: Client) -> None:
        while True:
            await self._refresh.wait()
            self._refresh.clear()
            try:
                self._set_tools(await _list_all(client))
            except Exception as exc:
                log.warning("MCP server %s: listing its tools again failed: %s", self.config.name, exc)

    async def _on_message(self, message: types.ServerNotification | Exception) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self._refresh.set()
        elif isinstance(message, Exception):
            log.debug("MCP server %s sent something unreadable: %s", self.config.name, message)

    def _set_tools(self, tools: tuple[types.Tool, ...]) -> None:
        changed = tools != self.tools
        self.tools = tools
        if self._client is not None:
            changed = self._update_state(Phase.READY) or changed
        if changed:
            self._notify()

    def _set_state(self, phase: Phase, detail: str = "", stderr_tail: tuple[str, ...] = ()) -> None:
        if self._update_state(phase, detail, stderr_tail):
            self._notify()

    def _update_state(self, phase: Phase, detail: str = "", stderr_tail: tuple[str, ...] = ()) -> bool:
        state = ServerState(self.config.name, phase, len(self.tools), detail, stderr_tail, self._restarts)
        if state == self.state:
            return False
        self.state = state
        return True

    def _notify(self) -> None:
        try:
            self._on_change()
        except Exception:
            log.exception("an MCP change listener failed")


async def _list_all(client: Client) -> tuple[types.Tool, ...]:
    """Every page of tools/list (a bounded number; a cursor seen twice ends the walk)."""
    tools: list[types.Tool] = []
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(_MAX_PAGES):
        params = types.PaginatedRequestParams(cursor=cursor) if cursor is not None else None
        page = await client.session.list_tools(params=params)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None or cursor in seen:
            break
        seen.add(cursor)
    return tuple(tools)


def _failure_text(exc: BaseException, config: McpServerConfig) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, FileNotFoundError) and isinstance(config, StdioServerConfig):
        return f"cannot start {config.command!r}: no such program"
    if isinstance(exc, PermissionError) and isinstance(config, StdioServerConfig):
        return f"cannot start {config.command!r}: permission denied"
    if isinstance(exc, MCPError):
        return "the server closed the connection" if exc.code == types.CONNECTION_CLOSED else exc.message
    return _exception_text(exc)


def _exception_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
