"""SessionBridge: the controller's typed events as Qt signals (snake_case, past tense).

The runtime calls ``on_event`` on the asyncio loop, which qasync runs on Qt's main thread, so every
signal is emitted on the GUI thread and connected widgets update directly. Widgets listen to these
signals and never to each other; the window calls the controller (attributes down, messages up).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from voicedesk.session import events as se


class SessionBridge(QObject):
    state_changed = Signal(str, str)  # connection, activity
    answer_started = Signal(str)  # response_id
    answer_finished = Signal(str, str)  # response_id, status
    tool_started = Signal(object)  # se.ToolStart
    tool_finished = Signal(object)  # se.ToolEnd
    audio_received = Signal(object)  # se.AudioChunk
    audio_finished = Signal(str)  # item_id
    audio_interrupted = Signal(object)  # se.AudioInterrupted
    error_reported = Signal(object)  # se.ErrorOccurred
    item_added = Signal(object)  # Item
    history_updated = Signal(object)  # tuple[Item, ...]
    raw_event_received = Signal(str, object)  # direction, dict (audio elided)
    transcript_updated = Signal(str, str, str)  # item_id, role, full text so far
    latency_measured = Signal(object)  # se.TurnLatency
    usage_reported = Signal(object)  # se.UsageReported
    session_renewed = Signal(object)  # se.SessionRenewed
    device_problem_reported = Signal(object)  # se.AudioDeviceProblem
    session_ended = Signal(str)  # reason

    def on_event(self, event: se.SessionEvent) -> None:
        match event:
            case se.StateChanged(connection=connection, activity=activity):
                self.state_changed.emit(connection, activity)
            case se.AgentStart(response_id=response_id):
                self.answer_started.emit(response_id)
            case se.AgentEnd(response_id=response_id, status=status):
                self.answer_finished.emit(response_id, status)
            case se.ToolStart():
                self.tool_started.emit(event)
            case se.ToolEnd():
                self.tool_finished.emit(event)
            case se.AudioChunk():
                self.audio_received.emit(event)
            case se.AudioEnd(item_id=item_id):
                self.audio_finished.emit(item_id)
            case se.AudioInterrupted():
                self.audio_interrupted.emit(event)
            case se.ErrorOccurred():
                self.error_reported.emit(event)
            case se.HistoryAdded(item=item):
                self.item_added.emit(item)
            case se.HistoryUpdated(items=items):
                self.history_updated.emit(items)
            case se.RawModelEvent(direction=direction, data=data):
                self.raw_event_received.emit(direction, data)
            case se.TranscriptDelta(item_id=item_id, role=role, text=text):
                self.transcript_updated.emit(item_id, role, text)
            case se.TurnLatency():
                self.latency_measured.emit(event)
            case se.UsageReported():
                self.usage_reported.emit(event)
            case se.SessionRenewed():
                self.session_renewed.emit(event)
            case se.AudioDeviceProblem():
                self.device_problem_reported.emit(event)
            case se.SessionEnded(reason=reason):
                self.session_ended.emit(reason)
