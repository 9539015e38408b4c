"""While a server keeps closing the connection the status line counts the reconnects, and once the budget is
spent the banner offers Retry; the service's rate limits reach the view model and the status line."""

from __future__ import annotations

import re
from collections.abc import Callable

from pytestqt.qtbot import QtBot

from tests.qt.uikit import WAIT_MS, AppHarness
from voicedesk.local.faults import Faults
from voicedesk.session import events as se
from voicedesk.ui.status_panel import StatusPanel, compact_count, connection_text

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


def test_the_view_model_exposes_the_limits_and_the_status_line_shows_them(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    assert w.view_model.rate_limits == () and not w.status.limits_label.isVisible(), "nothing until a report"
    changes: list[object] = []
    w.view_model.rate_limits_changed.connect(changes.append)
    w.send_text("hello")
    qtbot.waitUntil(lambda: bool(w.view_model.rate_limits), timeout=WAIT_MS)
    reported: tuple[se.RateLimit, ...] = w.view_model.rate_limits  # (mypy keeps it narrowed to () otherwise)
    limits = {limit.name: limit for limit in reported}
    assert limits["requests"].remaining == 4999 and changes == [w.view_model.rate_limits]
    text = w.status.limits_label.text()
    assert w.status.limits_label.isVisible() and re.fullmatch(r"limits: 5k req · \d+(\.\d)?k tok left", text), text
    assert "requests: 4999 of 5000 left" in w.status.limits_label.toolTip()


def test_the_status_line_reads_the_limits_compactly(qtbot: QtBot) -> None:
    status = StatusPanel()
    qtbot.addWidget(status)
    status.apply_event(
        se.RateLimitsReported((se.RateLimit("requests", 50, 2, 0.5), se.RateLimit("tokens", 40000, 9800, 14.2)))
    )
    assert status.limits_label.text() == "limits: 2 req · 9.8k tok left"
    status.apply_event(se.RateLimitsReported((se.RateLimit("tokens", None, None, None),)))
    assert status.limits_label.text() == "" and status.limits_label.isHidden(), "nothing sensible to show"
    assert [compact_count(n) for n in (0, 999, 1000, 1050, 9800, 39950, 2_500_000)] == [
        "0", "999", "1k", "1.1k", "9.8k", "40k", "2.5M"
    ]  # fmt: skip
    assert connection_text("reconnecting", 2) == "Reconnecting (attempt 2)…"
    assert connection_text("reconnecting", 0) == "Reconnecting…", "a planned renewal has no count"
