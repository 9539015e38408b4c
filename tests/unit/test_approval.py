"""Approval policies: always runs, never never runs, ask asks the person and counts silence as no."""

from __future__ import annotations

import asyncio
import json

import pytest

from voicedesk.tools.approval import (
    APPROVAL_TIMEOUT_S,
    Answer,
    ApprovalGate,
    ApprovalPolicies,
    ApprovalRequest,
    FixedApprover,
    Outcome,
    Policy,
    ToolSource,
    Verdict,
    default_policy,
    denial_output,
)


class RecordingApprover:
    def __init__(self, answer: Answer | None) -> None:
        self.answer = answer
        self.asked: list[ApprovalRequest] = []
        self.withdrawn = False

    async def ask(self, request: ApprovalRequest) -> Answer:
        self.asked.append(request)
        if self.answer is None:
            try:
                await asyncio.Event().wait()  # a person who never answers
            except asyncio.CancelledError:
                self.withdrawn = True
                raise
        assert self.answer is not None
        return self.answer


def request(tool: str = "read_file", source: ToolSource = ToolSource.MCP) -> ApprovalRequest:
    return ApprovalRequest(tool=tool, arguments={"path": "/etc/hosts"}, source=source, server="files")


def test_defaults_builtins_run_others_ask() -> None:
    assert default_policy(ToolSource.BUILTIN) is Policy.ALWAYS
    assert default_policy(ToolSource.MCP) is Policy.ASK
    assert default_policy(ToolSource.FILE) is Policy.ASK
    assert APPROVAL_TIMEOUT_S == 60.0


async def test_always_and_never_do_not_ask() -> None:
    approver = RecordingApprover(Answer.APPROVE)
    gate = ApprovalGate(ApprovalPolicies({"read_file": Policy.NEVER}), approver)
    assert (await gate.check(request())).outcome is Outcome.BLOCKED
    assert (await gate.check(request("calculator", ToolSource.BUILTIN))).outcome is Outcome.ALLOWED
    assert approver.asked == []


@pytest.mark.parametrize(
    ("answer", "outcome", "runs"),
    [(Answer.APPROVE, Outcome.APPROVED, True), (Answer.DENY, Outcome.DENIED, False)],
)
async def test_ask_puts_the_question(answer: Answer, outcome: Outcome, runs: bool) -> None:
    approver = RecordingApprover(answer)
    verdict = await ApprovalGate(ApprovalPolicies(), approver).check(request())
    assert (verdict.outcome, verdict.runs) == (outcome, runs)
    assert approver.asked == [request()]


async def test_always_allow_changes_the_policy_and_says_so() -> None:
    changes: list[tuple[str, Policy]] = []
    approver = RecordingApprover(Answer.APPROVE_ALWAYS)
    gate = ApprovalGate(ApprovalPolicies(), approver, on_policy_changed=lambda *change: changes.append(change))
    assert (await gate.check(request())).runs
    assert changes == [("read_file", Policy.ALWAYS)]
    assert (await gate.check(request())).outcome is Outcome.ALLOWED
    assert len(approver.asked) == 1


async def test_no_answer_in_time_is_a_denial_and_the_question_is_withdrawn() -> None:
    approver = RecordingApprover(None)
    verdict = await ApprovalGate(ApprovalPolicies(), approver, timeout_s=0.05).check(request())
    assert verdict.outcome is Outcome.TIMED_OUT
    assert not verdict.runs
    assert approver.withdrawn
    assert (
        "did not approve running the tool 'read_file' in time"
        in json.loads(denial_output("read_file", verdict))["error"]
    )


async def test_an_approver_that_fails_is_a_denial() -> None:
    class Broken:
        async def ask(self, request: ApprovalRequest) -> Answer:
            raise RuntimeError("no window")

    verdict = await ApprovalGate(ApprovalPolicies(), Broken()).check(request())
    assert verdict == Verdict(Outcome.FAILED, "RuntimeError: no window")


async def test_headless_answers() -> None:
    policies = ApprovalPolicies()
    assert (await ApprovalGate(policies, FixedApprover(Answer.APPROVE)).check(request())).runs
    assert not (await ApprovalGate(policies, FixedApprover(Answer.DENY)).check(request())).runs


def test_denial_output_tells_the_model_the_person_declined() -> None:
    output = json.loads(denial_output("read_file", Verdict(Outcome.DENIED)))
    assert output == {"error": "The person declined to run the tool 'read_file'; it did not run."}
    assert "never allow" in denial_output("x", Verdict(Outcome.BLOCKED))
    with pytest.raises(ValueError, match="approved, not refused"):
        denial_output("x", Verdict(Outcome.APPROVED))


def test_policies_round_trip_through_settings() -> None:
    problems: list[str] = []
    policies = ApprovalPolicies.from_json({"a": "never", "b": "always", "c": "sometimes"}, problems)
    assert policies.to_json() == {"a": "never", "b": "always"}
    assert problems == ["tool 'c': approval policy \"sometimes\" is not always, ask or never"]
    assert ApprovalPolicies.from_json([], problems).to_json() == {}
    assert len(problems) == 2
