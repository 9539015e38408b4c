"""Approval before a tool runs: a per-tool policy (always / ask / never) and the question put to the person.

No Qt here: the window and ``voicedesk ask --approve all|none`` each implement ``Approver``. A question left
unanswered for ``APPROVAL_TIMEOUT_S`` counts as a denial, and a denied call never runs: the model gets
``denial_output`` as the call's output instead.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

APPROVAL_TIMEOUT_S = 60.0


class Policy(enum.StrEnum):
    ALWAYS = "always"
    """Runs without asking."""
    ASK = "ask"
    """Runs only once the person approves this call."""
    NEVER = "never"
    """Never runs."""


class ToolSource(enum.StrEnum):
    BUILTIN = "built-in"
    FILE = "file"
    """A function from the person's tools folder."""
    MCP = "mcp"


def default_policy(source: ToolSource) -> Policy:
    """Built-ins are ours and harmless; anything else reaches further than we can vouch for."""
    return Policy.ALWAYS if source is ToolSource.BUILTIN else Policy.ASK


class Answer(enum.StrEnum):
    APPROVE = "approve"
    APPROVE_ALWAYS = "approve-always"
    """Approve, and stop asking for this tool."""
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What the person is asked about: which tool, from where, with which arguments."""

    tool: str
    arguments: Mapping[str, Any]
    source: ToolSource
    server: str | None = None
    """The MCP server the tool belongs to."""
    call_id: str = ""


class Approver(Protocol):
    """Asks the person. Cancelled when the time is up, so a question on screen can be withdrawn."""

    async def ask(self, request: ApprovalRequest) -> Answer: ...


@dataclass(frozen=True, slots=True)
class FixedApprover:
    """The headless answer given to every question (``ask --approve all|none``)."""

    answer: Answer

    async def ask(self, request: ApprovalRequest) -> Answer:
        return self.answer


class Outcome(enum.StrEnum):
    ALLOWED = "allowed"
    """The policy is ``always``."""
    APPROVED = "approved"
    DENIED = "denied"
    TIMED_OUT = "timed-out"
    BLOCKED = "blocked"
    """The policy is ``never``."""
    FAILED = "failed"
    """The question could not be asked (the approver raised)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    detail: str = ""

    @property
    def runs(self) -> bool:
        return self.outcome in (Outcome.ALLOWED, Outcome.APPROVED)


@dataclass
class ApprovalPolicies:
    """Policies by tool name; a tool without one gets its source's default."""

    by_tool: dict[str, Policy] = field(default_factory=dict)

    def policy_for(self, tool: str, source: ToolSource) -> Policy:
        return self.by_tool.get(tool, default_policy(source))

    def set(self, tool: str, policy: Policy) -> None:
        self.by_tool[tool] = policy

    def to_json(self) -> dict[str, str]:
        return {tool: policy.value for tool, policy in sorted(self.by_tool.items())}

    @classmethod
    def from_json(cls, data: Any, problems: list[str] | None = None) -> ApprovalPolicies:
        """Read settings; each unusable entry is skipped with one line in ``problems``."""
        found = problems if problems is not None else []
        if not isinstance(data, dict):
            found.append("tool approval policies must be an object of tool names to always, ask or never")
            return cls()
        policies: dict[str, Policy] = {}
        for tool, value in data.items():
            try:
                policies[str(tool)] = Policy(value)
            except ValueError:
                found.append(f"tool {tool!r}: approval policy {json.dumps(value)} is not always, ask or never")
        return cls(policies)


class ApprovalGate:
    """Decides whether one call may run: by policy, else by asking, with a time limit."""

    def __init__(
        self,
        policies: ApprovalPolicies,
        approver: Approver,
        *,
        timeout_s: float = APPROVAL_TIMEOUT_S,
        on_policy_changed: Callable[[str, Policy], None] | None = None,
    ) -> None:
        self.policies = policies
        self._approver = approver
        self._timeout_s = timeout_s
        self._on_policy_changed = on_policy_changed

    async def check(self, request: ApprovalRequest) -> Verdict:
        """Never raises, except CancelledError when the caller is cancelled."""
        policy = self.policies.policy_for(request.tool, request.source)
        if policy is Policy.ALWAYS:
            return Verdict(Outcome.ALLOWED)
        if policy is Policy.NEVER:
            return Verdict(Outcome.BLOCKED)
        try:
            answer = await asyncio.wait_for(self._approver.ask(request), self._timeout_s)
        except TimeoutError:
            return Verdict(Outcome.TIMED_OUT, f"no answer within {self._timeout_s:g} seconds")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("asking to approve %s failed", request.tool, exc_info=True)
            return Verdict(Outcome.FAILED, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        if answer is Answer.APPROVE_ALWAYS:
            self.policies.set(request.tool, Policy.ALWAYS)
            if self._on_policy_changed is not None:
                self._on_policy_changed(request.tool, Policy.ALWAYS)
            return Verdict(Outcome.APPROVED, "always allowed from now on")
        if answer is Answer.APPROVE:
            return Verdict(Outcome.APPROVED)
        return Verdict(Outcome.DENIED)


def denial_output(tool: str, verdict: Verdict) -> str:
    """The ``function_call_output`` for a call that did not run, in the registry's error shape."""
    reasons = {
        Outcome.DENIED: f"The person declined to run the tool '{tool}'; it did not run.",
        Outcome.TIMED_OUT: (
            f"The person did not approve running the tool '{tool}' in time ({verdict.detail}); it did not run."
        ),
        Outcome.BLOCKED: f"The person's settings never allow the tool '{tool}' to run; it did not run.",
        Outcome.FAILED: f"The person could not be asked to approve the tool '{tool}'; it did not run.",
    }
    message = reasons.get(verdict.outcome)
    if message is None:
        raise ValueError(f"the call to {tool!r} was {verdict.outcome.value}, not refused")
    return json.dumps({"error": message}, ensure_ascii=False)
