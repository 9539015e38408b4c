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
