"""SessionViewModel: what the window shows about the session, as Qt properties with change signals, fed
only by the session's events (``voicedesk.session.events``), plus those events as Qt signals, one hop.

The runtime calls ``on_event`` on the asyncio loop, which qasync runs on Qt's main thread, so every
signal is emitted on the GUI thread and connected widgets update directly. Views read the state here and
never the controller; the window calls the controller's methods (attributes down, messages up).

The state follows the controller's ``StateChanged`` snapshots (the runtime reports one as soon as it builds
a controller); nothing here re-derives what the controller decides, such as whether the microphone is open.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, assert_never

from PySide6.QtCore import Property, QObject, Signal, SignalInstance

from voicedesk.session import events as se
from voicedesk.session.events import ConnectionState

ANSWERING: tuple[se.Activity, ...] = ("thinking", "speaking")


def _read_only(kind: type, attribute: str, notify: Signal) -> Any:
    """A read-only Qt property with its change signal; typed at the class attribute that holds it."""
    return Property(kind, attrgetter(attribute), notify=notify)


class SessionViewModel(QObject):
    # ------------------------------------------------------------------ state: properties and their signals

    connection_changed = Signal(str)
    activity_changed = Signal(str)
    push_to_talk_changed = Signal(bool)
    muted_changed = Signal(bool)
    mic_open_changed = Signal(bool)
    connected_changed = Signal(bool)
    can_interrupt_changed = Signal(bool)
    reconnect_attempt_changed = Signal(int)
    rate_limits_changed = Signal(object)  # tuple[se.RateLimit, ...]
    state_changed = Signal()  # once after any of the properties above changed (views that show several)

    connection: ConnectionState = _read_only(str, "_connection", connection_changed)
    activity: se.Activity = _read_only(str, "_activity", activity_changed)
    push_to_talk: bool = _read_only(bool, "_push_to_talk", push_to_talk_changed)
    """Push-to-talk (turn detection off); False in the voice-detection modes."""
    muted: bool = _read_only(bool, "_muted", muted_changed)
    """The microphone is muted (voice-detection modes only)."""
    mic_open: bool = _read_only(bool, "_mic_open", mic_open_changed)
    """Microphone audio is being sent to the model."""
    connected: bool = _read_only(bool, "_connected", connected_changed)
    can_interrupt: bool = _read_only(bool, "_can_interrupt", can_interrupt_changed)
    """The assistant is answering (thinking or speaking): there is something to interrupt."""
    reconnect_attempt: int = _read_only(int, "_reconnect_attempt", reconnect_attempt_changed)
    """While reconnecting: which reconnect this is within the retry budget (1-based); 0 otherwise."""
    rate_limits: tuple[se.RateLimit, ...] = _read_only(object, "_rate_limits", rate_limits_changed)
    """What is left of the service's limits (requests, tokens), as last reported; empty until a report.
    Not part of ``state_changed``: it changes after answers, not with the controls' state."""

    # ------------------------------------------------------------------ session events, one hop

    item_added = Signal(object)  # Item
    history_updated = Signal(object)  # tuple[Item, ...]
    transcript_updated = Signal(str, str, str)  # item_id, role, full text so far
    tool_started = Signal(object)  # se.ToolStart
    tool_finished = Signal(object)  # se.ToolEnd
    raw_event_received = Signal(str, object, int)  # direction, dict (audio elided), its size in bytes
    latency_measured = Signal(object)  # se.TurnLatency
    usage_reported = Signal(object)  # se.UsageReported
    error_reported = Signal(object)  # se.ErrorOccurred
    device_problem_reported = Signal(object)  # se.AudioDeviceProblem
    session_renewed = Signal(object)  # se.SessionRenewed
    audio_interrupted = Signal(object)  # se.AudioInterrupted
    session_ended = Signal(str)  # reason
    handoff = Signal(object)  # se.Handoff
    guardrail_tripped = Signal(object)  # se.GuardrailTripped

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._connection: ConnectionState = "disconnected"
        self._activity: se.Activity = "idle"
        self._push_to_talk = True
        self._muted = False
        self._mic_open = False
        self._connected = False
        self._can_interrupt = False
        self._reconnect_attempt = 0
        self._rate_limits: tuple[se.RateLimit, ...] = ()

    def on_event(self, event: se.SessionEvent) -> None:
        match event:
            case se.StateChanged():
                self._show(event)
            case se.HistoryAdded(item=item):
                self.item_added.emit(item)
            case se.HistoryUpdated(items=items):
                self.history_updated.emit(items)
            case se.TranscriptDelta(item_id=item_id, role=role, text=text):
                self.transcript_updated.emit(item_id, role, text)
            case se.RawModelEvent(direction=direction, data=data, size=size):
                self.raw_event_received.emit(direction, data, size)
            case se.ToolStart():
                self.tool_started.emit(event)
            case se.ToolEnd():
                self.tool_finished.emit(event)
            case se.TurnLatency():
                self.latency_measured.emit(event)
            case se.UsageReported():
                self.usage_reported.emit(event)
            case se.RateLimitsReported(limits=limits):
                self._set("_rate_limits", limits, self.rate_limits_changed)
            case se.ErrorOccurred():
                self.error_reported.emit(event)
            case se.AudioDeviceProblem():
                self.device_problem_reported.emit(event)
            case se.SessionRenewed():
                self.session_renewed.emit(event)
            case se.AudioInterrupted():
                self.audio_interrupted.emit(event)
            case se.SessionEnded(reason=reason):
                self.session_ended.emit(reason)
            case se.Handoff():
                self.handoff.emit(event)
            case se.GuardrailTripped():
                self.guardrail_tripped.emit(event)
            case se.AgentStart() | se.AgentEnd() | se.AudioChunk() | se.AudioEnd():
                pass  # the activity in StateChanged says what these mean for the window; levels come from the clock
            case _:
                assert_never(event)

    def _show(self, state: se.StateChanged) -> None:
        connected = state.connection == "connected"
        changed = [
            self._set("_connection", state.connection, self.connection_changed),
            self._set("_activity", state.activity, self.activity_changed),
            self._set("_push_to_talk", state.push_to_talk, self.push_to_talk_changed),
            self._set("_muted", state.muted, self.muted_changed),
            self._set("_mic_open", state.mic_open, self.mic_open_changed),
            self._set("_connected", connected, self.connected_changed),
            self._set("_can_interrupt", connected and state.activity in ANSWERING, self.can_interrupt_changed),
            self._set("_reconnect_attempt", state.reconnect_attempt, self.reconnect_attempt_changed),
        ]
        if any(changed):
            self.state_changed.emit()

    def _set(self, attribute: str, value: object, notify: SignalInstance) -> bool:
        if getattr(self, attribute) == value:
            return False
        setattr(self, attribute, value)
        notify.emit(value)
        return True
