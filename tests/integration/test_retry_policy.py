"""The retry policy against servers that misbehave on every attempt: the turn is answered, or one final error
comes within a bound, with the connections and re-requests bounded."""

from __future__ import annotations

import math
import time

import pytest

from tests.integration.conftest import HarnessFactory
from voicedesk.local.faults import Faults
from voicedesk.local.server import LocalServerOptions
from voicedesk.realtime.client import Backoff, ConnectFailed, ReconnectBudget
from voicedesk.realtime.session_config import SessionSettings, TurnDetection
from voicedesk.session import events as se
from voicedesk.session.rate_limits import retry_after_s

FAST = Backoff(first_s=0.05, max_s=0.2, give_up_after_s=1.0, session_start_s=0.5)


def _server(**faults: object) -> LocalServerOptions:
    return LocalServerOptions(audio_pace=math.inf, faults=Faults(**faults))  # type: ignore[arg-type]


async def test_a_server_closing_every_answer_with_1011_gets_the_turn_asked_again_twice_then_given_up(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness(options=_server(close_every_response=1011), backoff=FAST)
    started = time.monotonic()
    h.controller.send_text("hello")
    error = await h.wait_for(se.ErrorOccurred, lambda e: e.code == "turn_failed", within=20)
    assert time.monotonic() - started < 15 and not error.fatal
    assert h.sent_types().count("response.create") == 1 + 2, "the same turn is asked again at most twice"
    assert len(h.server.sessions) == 1 + 3, "one reconnect per close, the third to give the turn up in"
    assert await h.controller.wait_idle(5) and h.controller.connection == "connected", "the session goes on"


async def test_a_server_that_closes_every_new_connection_gets_a_bounded_number(make_harness: HarnessFactory) -> None:
    h = await make_harness(backoff=FAST)
    h.server.arm_faults(Faults(close_every_response=1011, close_at_start=1001))
    started = time.monotonic()
    h.controller.send_text("hello")
    error = await h.wait_for(se.ErrorOccurred, lambda e: e.fatal, within=20)
    assert error.code == "connection_lost" and time.monotonic() - started < 15
    assert len(h.server.sessions) <= 1 + FAST.max_reconnects


async def test_a_server_closing_before_the_session_starts_is_reported_at_connect(make_harness: HarnessFactory) -> None:
    h = await make_harness(options=_server(close_at_start=1001), connect=False, backoff=FAST)
    with pytest.raises(ConnectFailed, match="accepted the connection"):
        await h.controller.connect()


async def test_a_silent_server_is_reported_instead_of_waited_on(make_harness: HarnessFactory) -> None:
    h = await make_harness(options=_server(silent=True), connect=False, backoff=FAST)
    started = time.monotonic()
    with pytest.raises(ConnectFailed, match="did not start a session"):
        await h.controller.connect()
    assert time.monotonic() - started < 5


async def test_an_internal_error_then_1011_is_reconnected_and_the_turn_answered(make_harness: HarnessFactory) -> None:
    h = await make_harness(options=_server(fail_session_on_response=True), backoff=FAST)
    h.controller.send_text("what is 2 plus 2")
    assert await h.controller.wait_idle(15)
    assert not [e for e in h.of(se.ErrorOccurred) if e.fatal]
    assert h.controller.history()[-1].role == "assistant"
    assert len(h.server.sessions) == 2


@pytest.mark.parametrize("style", ["error", "response_failed"])
async def test_rate_limits_on_a_typed_turn_are_retried_after_the_named_wait(
    make_harness: HarnessFactory, style: str
) -> None:
    h = await make_harness(options=_server(rate_limit_responses=2, rate_limit_style=style))
    h.controller.send_text("hello")
    assert await h.controller.wait_idle(15)
    assert h.sent_types().count("response.create") == 3
    assert not h.of(se.ErrorOccurred), "two refusals then an answer: nothing to tell the person"
    assert h.controller.history()[-1].role == "assistant"


@pytest.mark.parametrize("style", ["error", "response_failed"])
async def test_rate_limits_on_a_turn_the_server_answers_by_itself_are_retried(
    make_harness: HarnessFactory, style: str
) -> None:
    from tests.signals import speech_like

    settings = SessionSettings(turn_detection=TurnDetection(type="server_vad"))
    options = _server(rate_limit_responses=1, rate_limit_style=style)
    options.transcripts = ["hello there"]
    h = await make_harness(settings, options)
    await h.source.play(speech_like(1.0))
    answer = await h.wait_for(se.AgentEnd, lambda e: e.status == "completed", within=20)
    assert answer.status == "completed"
    assert h.sent_types().count("response.create") == 1, "the refused server response was asked for once"
    assert not [e for e in h.of(se.ErrorOccurred) if e.code == "rate_limited"]


async def test_rate_limits_that_persist_are_reported(make_harness: HarnessFactory) -> None:
    h = await make_harness(options=_server(rate_limit_responses=3))
    h.controller.send_text("hello")
    error = await h.wait_for(se.ErrorOccurred, within=10)
    assert error.code == "rate_limited"
    assert await h.controller.wait_idle(10)
    assert h.sent_types().count("response.create") == 3


def test_the_wait_named_by_the_message_is_used_and_capped() -> None:
    assert retry_after_s("Please try again in 1.05s. Visit ...") == pytest.approx(1.05)
    assert retry_after_s("Please try again in 350ms.") == pytest.approx(0.35)
    assert retry_after_s("Please try again in 20000s") == 30.0
    assert retry_after_s("slow down") == 1.0


def test_the_reconnect_budget_allows_five_in_two_minutes() -> None:
    now = [0.0]
    budget = ReconnectBudget(Backoff(), now=lambda: now[0])
    assert [budget.take() for _ in range(6)] == [1, 2, 3, 4, 5, None]
    now[0] = 121.0
    assert budget.take() == 1, "the window slides"


async def test_a_lost_response_done_is_given_up_and_the_next_turn_answered(make_harness: HarnessFactory) -> None:
    h = await make_harness(options=_server(lose_response_done=1), response_timeout_s=1.0)
    h.controller.send_text("hello")
    lost = await h.wait_for(se.ErrorOccurred, lambda e: e.code == "response_lost", within=10)
    assert not lost.fatal
    assert await h.controller.wait_idle(5), "the session is not left waiting"
    assert h.sent_types().count("response.create") == 1, "the lost answer is not asked for again and again"
    h.controller.send_text("what is 2 plus 3")
    assert await h.controller.wait_idle(10)
    assert "5" in h.controller.history()[-1].display_text


async def test_a_tool_call_cut_by_a_1011_close_is_answered_in_the_new_session(make_harness: HarnessFactory) -> None:
    import asyncio

    from voicedesk.tools.builtins import calculator

    async def slow_calculator(expression: str) -> str:
        """Compute an arithmetic expression exactly.

        Args:
            expression: the arithmetic, e.g. "12 * 7"
        """
        await asyncio.sleep(0.5)  # still running when the connection drops
        return str(calculator(expression))

    h = await make_harness(options=_server(close_after_function_call=1011))
    h.controller.remove_tool("calculator")
    h.controller.add_tool(slow_calculator, name="calculator")
    h.controller.send_text("what is 12 times 7")
    answer = await h.wait_for(se.AgentEnd, lambda e: e.status == "completed", within=15)
    assert answer.status == "completed"
    assert await h.controller.wait_idle(10)
    assert "84" in h.controller.history()[-1].display_text
    assert len(h.server.sessions) == 2
    second = h.server.sessions[1]
    assert not second.errors, "the new session knew the call when its output came"
    types = [e.get("type") for e in second.client_events]
    assert types.count("response.create") == 1, "exactly one response.create, after the output"
    output_at = next(
        i for i, e in enumerate(second.client_events) if (e.get("item") or {}).get("type") == "function_call_output"
    )
    assert types.index("response.create") > output_at


async def test_an_answer_stopped_by_the_token_limit_says_so_with_the_item(make_harness: HarnessFactory) -> None:
    settings = SessionSettings(turn_detection=TurnDetection(type="none"), max_output_tokens=20)
    h = await make_harness(settings)
    h.controller.send_text("talk for 20 seconds")
    notice = await h.wait_for(se.ErrorOccurred, lambda e: e.code == "response_incomplete", within=10)
    assert "token limit" in notice.message and not notice.fatal
    assert await h.controller.wait_idle(10)
    answer = h.controller.history()[-1]
    assert answer.role == "assistant" and answer.cut_off is not None and "token limit" in answer.cut_off
    assert "token limit" in answer.to_record()["cut_off"]
