"""The status line: connection (with the reconnect's number while retrying), what the assistant is doing,
session time (with a warning before the 60-minute limit), last-turn latency, tokens and an estimated cost,
what is left of the service's rate limits.
The session time is refreshed by the window's display clock; a label is only touched when its text changes."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from voicedesk.app.pricing import estimate_cost
from voicedesk.session import events as se
from voicedesk.ui.display_clock import DisplayClock
from voicedesk.ui.view_model import SessionViewModel

SESSION_LIMIT_S = 3600.0
WARN_BEFORE_S = 300.0
REFRESH_MS = 250  # the session time reads whole seconds: a quarter second keeps it within a frame of true
ACTIVITY_TEXT = {"idle": "Idle", "listening": "Listening", "thinking": "Thinking", "speaking": "Speaking"}
CONNECTION_TEXT = {
    "disconnected": "Disconnected",
    "connecting": "Connecting…",
    "connected": "Connected",
    "reconnecting": "Reconnecting…",
}


def connection_text(connection: str, reconnect_attempt: int = 0) -> str:
    """The connection as the status line reads it: "Reconnecting (attempt 2)…" while retrying, else the plain
    state (a planned renewal reports no attempt, so it reads "Reconnecting…")."""
    if connection == "reconnecting" and reconnect_attempt > 0:
        return f"Reconnecting (attempt {reconnect_attempt})…"
    return CONNECTION_TEXT.get(connection, connection)


LIMIT_ABBREVIATIONS = {"requests": "req", "tokens": "tok"}


def compact_count(count: int) -> str:
    """2 -> "2", 9800 -> "9.8k", 39950 -> "40k", 2_500_000 -> "2.5M" (integer arithmetic: any size)."""
    for scale, suffix in ((1_000_000, "M"), (1_000, "k")):
        if count >= scale:
            tenths = (count * 10 + scale // 2) // scale  # rounded to a tenth of the unit
            whole, tenth = divmod(tenths, 10)
            return f"{whole}.{tenth}{suffix}" if whole < 10 and tenth else f"{(tenths + 5) // 10}{suffix}"
    return str(count)


def rate_limits_text(limits: tuple[se.RateLimit, ...]) -> str:
    """The limits that say what remains, e.g. "limits: 2 req · 9.8k tok left"; "" when none do."""
    parts = [
        f"{compact_count(limit.remaining)} {LIMIT_ABBREVIATIONS.get(limit.name, limit.name)}"
        for limit in limits
        if limit.remaining is not None
    ]
    return f"limits: {' · '.join(parts)} left" if parts else ""


class StatusPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connection_label = QLabel()
        self.connection_label.setObjectName("connection_state")
        self.activity_label = QLabel()
        self.activity_label.setObjectName("activity")
        self.time_label = QLabel()
        self.time_label.setObjectName("session_time")
        # Opaque: it changes every second, and a transparent label repaints the status bar beneath it too.
        self.time_label.setAutoFillBackground(True)
        self.latency_label = QLabel("latency —")
        self.latency_label.setObjectName("latency")
        self.latency_label.setToolTip("End of your turn → first audio of the answer (received / played)")
        self.usage_label = QLabel("0 tokens")
        self.usage_label.setObjectName("usage")
        self.usage_label.setToolTip("Tokens reported by the service; the cost is an estimate from a price table")
        self.limits_label = QLabel()
        self.limits_label.setObjectName("rate_limits")
        self.limits_label.hide()  # until the service reports its limits
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(14)
        for label in (self.connection_label, self.activity_label, self.time_label, self.latency_label):
            layout.addWidget(label)
        layout.addStretch(1)
        layout.addWidget(self.limits_label)
        layout.addWidget(self.usage_label)
        # It takes the width it is given and drops what matters least when that is too little (800x600).
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._limits_wanted = False
        self.connection = "disconnected"
        self.activity = "idle"
        self.reconnect_attempt = 0
        self.connected_at: float | None = None
        self.limit_s = SESSION_LIMIT_S
        self.tokens = 0
        self.cost = 0.0
        self.model = "gpt-realtime"
        self.local = False
        self.has_microphone = True
        """False: the chip never reads "Listening" (nothing can be heard)."""
        self.has_speaker = True
        """False: the latency leaves out "played" (no device plays it)."""
        self._unsubscribe: Callable[[], None] | None = None
        self.clear()

    def attach(self, clock: DisplayClock) -> None:
        """Keep the session time current on ``clock``'s ticks."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = clock.every(REFRESH_MS, self.refresh)

    def follow(self, view_model: SessionViewModel) -> None:
        """Show ``view_model``'s connection (with the reconnect's number) whenever its state changes."""

        def show() -> None:
            self.apply_state(view_model.connection, view_model.activity, view_model.reconnect_attempt)

        view_model.state_changed.connect(show)
        view_model.rate_limits_changed.connect(self.show_rate_limits)
        show()
        self.show_rate_limits(view_model.rate_limits)

    def show_rate_limits(self, limits: tuple[se.RateLimit, ...]) -> None:
        text = rate_limits_text(limits)
        self._limits_wanted = bool(text)
        if self.limits_label.text() != text:
            self.limits_label.setText(text)
            self.limits_label.setToolTip(
                "\n".join(
                    f"{limit.name}: {limit.remaining} of {limit.limit} left"
                    + (f", resets in {limit.reset_seconds:g} s" if limit.reset_seconds is not None else "")
                    for limit in limits
                )
            )
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """Show every label that has something to say, then hide, least useful first, those the width cannot
        hold (the rate limits, the latency, the activity chip: the voice visual shows the activity too)."""
        self.limits_label.setVisible(self._limits_wanted)
        self.latency_label.show()
        self.activity_label.show()
        layout = self.layout()
        spacing = layout.spacing() if layout is not None else 0
        shown = [label for label in self.findChildren(QLabel) if not label.isHidden()]
        needed = sum(label.sizeHint().width() + spacing for label in shown) + 8
        for label in (self.limits_label, self.latency_label, self.activity_label):
            if needed <= self.width():
                break
            if not label.isHidden():
                label.hide()
                needed -= label.sizeHint().width() + spacing

    def clear(self) -> None:
        self.tokens, self.cost = 0, 0.0
        self.latency_label.setText("latency —")
        self.apply_state(self.connection, self.activity)
        self._show_usage()

    def apply_state(self, connection: str, activity: str, reconnect_attempt: int | None = None) -> None:
        """``reconnect_attempt`` None keeps the last one known (a caller that only knows the state)."""
        if reconnect_attempt is not None:
            self.reconnect_attempt = reconnect_attempt
        if connection == "connected" and self.connection != "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()
        if connection == "disconnected":
            self.connected_at = None
        self.connection, self.activity = connection, activity
        self.connection_label.setText("● " + connection_text(connection, self.reconnect_attempt))
        self.connection_label.setProperty("state", connection)
        shown = activity if connection == "connected" else "idle"
        if shown == "listening" and not self.has_microphone:
            shown = "idle"
        self.activity_label.setText(ACTIVITY_TEXT.get(shown, shown))
        self.activity_label.setProperty("activity", shown)
        for label in (self.connection_label, self.activity_label):
            label.style().unpolish(label)
            label.style().polish(label)
        self.refresh()

    def session_renewed(self) -> None:
        self.connected_at = time.monotonic()
        self.refresh()

    def apply_event(self, event: se.SessionEvent) -> None:
        match event:
            case se.StateChanged(connection=connection, activity=activity, reconnect_attempt=attempt):
                self.apply_state(connection, activity, attempt)
            case se.TurnLatency(first_audio_received_ms=received, first_audio_played_ms=played):
                text = f"latency {received:.0f} ms"
                if played is not None and self.has_speaker:
                    text += f" / {played:.0f} ms played"
                self.latency_label.setText(text)
            case se.UsageReported(input_tokens=i, output_tokens=o, total_tokens=total, details=details):
                self.tokens += total or (i + o)
                self.cost += 0.0 if self.local else estimate_cost(self.model, i, o, details)
                self._show_usage()
            case se.SessionRenewed():
                self.session_renewed()
            case se.RateLimitsReported(limits=limits):
                self.show_rate_limits(limits)
            case _:
                pass

    def _show_usage(self) -> None:
        cost = "free (local server)" if self.local else f"≈ ${self.cost:.4f} (estimate)"
        self.usage_label.setText(f"{self.tokens:,} tokens · {cost}")

    def refresh(self) -> None:
        if self.connected_at is None:
            self._set_time("session —", warn=False)
            return
        elapsed = time.monotonic() - self.connected_at
        minutes, seconds = divmod(int(elapsed), 60)
        text = f"session {minutes:02d}:{seconds:02d}"
        warn = elapsed >= self.limit_s - WARN_BEFORE_S
        if warn:
            left = max(0, int(self.limit_s - elapsed))
            text += f" — the service's 60-minute limit in {left // 60}:{left % 60:02d}; it will renew the session"
        self._set_time(text, warn=warn)

    def _set_time(self, text: str, *, warn: bool) -> None:
        if self.time_label.text() != text:
            self.time_label.setText(text)
        if self.time_label.property("warning") != warn:
            self.time_label.setProperty("warning", warn)
            self.time_label.style().unpolish(self.time_label)
            self.time_label.style().polish(self.time_label)
