"""RequestGate: how long a response.create must wait, from the service's last rate_limits.updated."""

from __future__ import annotations

from voicedesk.realtime import events as ev
from voicedesk.session.rate_limits import RequestGate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _requests(remaining: int | None, reset_s: float | None) -> tuple[ev.RateLimit, ...]:
    return (ev.RateLimit("tokens", 40000, 0, 9.0), ev.RateLimit("requests", 50, remaining, reset_s))


def test_no_requests_left_closes_the_gate_until_the_reset() -> None:
    clock = Clock()
    gate = RequestGate(clock=clock)
    assert gate.wait_s() == 0
    gate.report(_requests(0, 2.5))
    assert gate.wait_s() == 2.5
    clock.now += 2.0
    assert abs(gate.wait_s() - 0.5) < 1e-9
    clock.now += 0.5
    assert gate.wait_s() == 0


def test_the_wait_is_capped_and_a_newer_report_wins() -> None:
    clock = Clock()
    gate = RequestGate(clock=clock, max_wait_s=30.0)
    gate.report(_requests(0, 600.0))
    assert gate.wait_s() == 30.0
    gate.report(_requests(4, 600.0))
    assert gate.wait_s() == 0


def test_requests_left_or_an_unknown_reset_leave_the_gate_open() -> None:
    gate = RequestGate(clock=Clock())
    for limits in (_requests(3, 1.0), _requests(0, None), _requests(None, 1.0), ()):
        gate.report(limits)
        assert gate.wait_s() == 0, limits  # tokens at 0 alone never hold a request: its size is unknown


def test_a_deferred_answer_is_held_while_no_requests_are_left() -> None:
    import math
    from collections.abc import Coroutine
    from typing import Any

    from voicedesk.audio.null import NullSink
    from voicedesk.session.answers import Answers
    from voicedesk.session.conversation import Conversation
    from voicedesk.session.parts import SessionParts
    from voicedesk.session.wire_audio import AudioCodec

    sent: list[ev.ClientEvent] = []
    spawned: list[Coroutine[Any, Any, None]] = []

    def send(event: ev.ClientEvent) -> str:
        sent.append(event)
        return "event_1"

    parts = SessionParts.create(Conversation(), NullSink(speed=math.inf), send, AudioCodec("pcm16", "pcm16"), print)
    gate = RequestGate(clock=Clock())
    answers = Answers(parts, update_activity=lambda: None, request_gate=gate,
                      spawn=lambda coro, _name: spawned.append(coro))  # fmt: skip
    answers.request()
    parts.responses.created("resp_1")
    answers.request()  # while the first answer runs: deferred
    gate.report(_requests(0, 5.0))
    assert parts.responses.done("resp_1"), "the deferred answer is due"
    answers.send_deferred()
    assert [type(e).__name__ for e in sent] == ["ResponseCreate"], "held, not sent into a certain refusal"
    assert parts.responses.phase == "idle" and parts.responses.retry_scheduled, "busy until the gate opens"
    assert len(spawned) == 1
    spawned[0].close()
