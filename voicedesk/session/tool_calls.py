"""Runs the model's function calls and decides when to ask for the next response.

The model may call several tools in one response. Each call runs as its own task with a timeout (the
registry turns every failure into an error output for the model); its output goes back as a
``function_call_output`` with the same ``call_id``. One ``response.create`` follows, once the response
that made the calls is done *and* every output has been sent: asking earlier would collide with the
still-active response ("conversation_already_has_active_response").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from voicedesk.session.events import ToolEnd, ToolStart
from voicedesk.session.intents import SendToolOutput
from voicedesk.tools.registry import ToolRegistry, ToolResult


@dataclass(frozen=True, slots=True)
class CallDecision:
    """Whether a call may run; when it may not, ``output`` is what the model gets instead."""

    runs: bool
    approval: str = ""
    output: str = ""
    source: str = ""
    """Where the tool comes from, for the log ("built-in", "file", "MCP server-name")."""


ApproveCall = Callable[[str, str, str], Awaitable[CallDecision]]
"""(tool name, arguments JSON, call id) -> the decision; asked before every call (the app's approval gate)."""
TakeCall = Callable[[str, str], str | None]
"""(tool name, arguments JSON) -> the output of a call done at once by the session itself (a handoff), or None
for a call the registry runs."""


@dataclass(slots=True)
class _ResponseCalls:
    pending: set[str] = field(default_factory=set)
    response_done: bool = False
    ends_session: bool = False


class ToolCallRunner:
    def __init__(
        self,
        registry: ToolRegistry,
        *,
        send: Callable[[SendToolOutput], object],
        request_response: Callable[[], None],
        emit: Callable[[ToolStart | ToolEnd], None],
        end_session: Callable[[], None],
        timeout_s: float = 15.0,
        approve: ApproveCall | None = None,
        take_call: TakeCall | None = None,
    ) -> None:
        self.registry = registry
        self.approve = approve
        self._take_call = take_call
        self._send = send
        self._request_response = request_response
        self._emit = emit
        self._end_session = end_session
        self._timeout_s = timeout_s
        self._by_response: dict[str, _ResponseCalls] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._seen_calls: set[str] = set()

    @property
    def busy(self) -> bool:
        return any(calls.pending for calls in self._by_response.values())

    def start(self, response_id: str, call_id: str, name: str, arguments: str) -> None:
        if call_id in self._seen_calls:  # item.done and output_item.done both announce it
            return
        self._seen_calls.add(call_id)
        calls = self._by_response.setdefault(response_id, _ResponseCalls())
        taken = self._take_call(name, arguments) if self._take_call is not None else None
        if taken is not None:  # done already (a handoff): its output, and the usual one response.create after
            self._send(SendToolOutput(call_id, taken))
            self._maybe_continue(response_id)
            return
        calls.pending.add(call_id)
        self._emit(ToolStart(call_id, name, arguments))
        task = asyncio.create_task(self._run(response_id, call_id, name, arguments), name=f"tool-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def response_done(self, response_id: str) -> None:
        calls = self._by_response.get(response_id)
        if calls is not None:
            calls.response_done = True
            self._maybe_continue(response_id)

    async def _run(self, response_id: str, call_id: str, name: str, arguments: str) -> None:
        decision = await self.approve(name, arguments, call_id) if self.approve is not None else CallDecision(True)
        if decision.runs:
            result: ToolResult = await self.registry.execute(name, arguments, timeout_s=self._timeout_s)
        else:  # never run: the model is told why, and answers once all outputs are in (as for any call)
            result = ToolResult(output=decision.output, ok=False, error=decision.approval)
        end = ToolEnd(
            call_id, name, arguments, result.output, result.ok, result.duration_s, decision.approval, decision.source
        )
        self._emit(end)
        self._send(SendToolOutput(call_id, result.output))
        calls = self._by_response.get(response_id)
        if calls is None:  # cancelled with the session
            return
        calls.pending.discard(call_id)
        calls.ends_session = calls.ends_session or result.ends_session
        self._maybe_continue(response_id)

    def _maybe_continue(self, response_id: str) -> None:
        calls = self._by_response[response_id]
        if calls.pending or not calls.response_done:
            return
        del self._by_response[response_id]
        if calls.ends_session:
            self._end_session()
        else:
            self._request_response()

    @property
    def running_call_ids(self) -> frozenset[str]:
        """Calls whose output is not sent yet: a new server session must know them before their output."""
        return frozenset(call_id for calls in self._by_response.values() for call_id in calls.pending)

    def reset(self) -> None:
        """A new server session: the old responses are over there. Calls still running are carried over (their
        items are replayed); when the last one's output is sent, one response.create follows."""
        for response_id, calls in list(self._by_response.items()):
            if calls.pending:
                calls.response_done = True
            else:
                del self._by_response[response_id]

    async def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._by_response.clear()
