"""What the session reports about reconnects and the service's rate limits, over loopback: the reconnect's
number in the state snapshot, the limits the server reports after each answer, and an answer asked for while
no requests are left held back until the limit resets."""

from __future__ import annotations

from tests.integration.conftest import HarnessFactory
from voicedesk.local.faults import Faults
from voicedesk.realtime.client import Backoff
from voicedesk.session import events as se

FAST = Backoff(first_s=0.05, max_s=0.2, give_up_after_s=1.0, session_start_s=0.5)


async def test_the_state_snapshot_counts_the_reconnects_until_the_budget_is_spent(make_harness: HarnessFactory) -> None:
    h = await make_harness(backoff=FAST)
    h.server.arm_faults(Faults(close_every_response=1011, close_at_start=1001))
    h.controller.send_text("hello")
    await h.wait_for(se.ErrorOccurred, lambda e: e.code == "connection_lost" and e.fatal, within=20)
    reconnecting = [s.reconnect_attempt for s in h.of(se.StateChanged) if s.connection == "reconnecting"]
    # (a snapshot also goes out when the activity changes meanwhile: a number may repeat, never go back)
    assert reconnecting == sorted(reconnecting) and sorted(set(reconnecting))[:2] == [1, 2], reconnecting
    assert max(reconnecting) <= FAST.max_reconnects
    assert all(s.reconnect_attempt == 0 for s in h.of(se.StateChanged) if s.connection != "reconnecting")
    assert h.controller.state.reconnect_attempt == 0
