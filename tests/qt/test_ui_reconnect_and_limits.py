"""While a server keeps closing the connection the status line counts the reconnects, and once the budget is
spent the banner offers Retry; the service's rate limits reach the view model and the status line."""

from __future__ import annotations

from collections.abc import Callable

from pytestqt.qtbot import QtBot

from tests.qt.uikit import WAIT_MS, AppHarness
from voicedesk.local.faults import Faults
from voicedesk.session import events as se

MakeApp = Callable[..., AppHarness]


def test_the_status_line_counts_reconnects_and_the_banner_offers_retry(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    server = app.runtime.server
    assert server is not None
    shown: list[str] = []
    attempts: list[int] = []
    w.view_model.state_changed.connect(lambda: shown.append(w.status.connection_label.text()))
    w.view_model.reconnect_attempt_changed.connect(attempts.append)
    # every answer is cut with 1011, and every new connection is closed at once with 1001
    server.arm_faults(Faults(close_every_response=1011, close_at_start=1001))
    w.send_text("hello")
    qtbot.waitUntil(app.seen(se.ErrorOccurred, lambda e: e.code == "connection_lost" and e.fatal), timeout=WAIT_MS)

    assert "● Reconnecting (attempt 1)…" in shown and "● Reconnecting (attempt 2)…" in shown, shown
    counted = [a for a in attempts if a > 0]
    assert counted == sorted(counted) and counted[0] == 1, "the count goes up, one reconnect at a time"
    assert w.view_model.reconnect_attempt == 0 and w.status.connection_label.text() == "● Disconnected"
    qtbot.waitUntil(w.banner.isVisible, timeout=WAIT_MS)
    assert w.banner.action_button.text() == "Retry"

    server.arm_faults(Faults())  # the server recovers: Retry connects again
    w.banner.action_button.click()
    qtbot.waitUntil(lambda: w.view_model.connection == "connected", timeout=WAIT_MS)
    assert w.status.connection_label.text() == "● Connected"
