"""Every tool call the model makes: one row per call, updated live, details of the selected call below."""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from voicedesk.session import events as se
from voicedesk.ui import theme
from voicedesk.ui.accessibility import describe
from voicedesk.ui.conversation_html import compact, pretty_json
from voicedesk.ui.ring import Ring

COLUMNS = ("Time", "Tool", "Arguments", "Result", "Duration", "Status")
ModelIndex = QModelIndex | QPersistentModelIndex


@dataclass
class ToolCall:
    call_id: str
    name: str
    arguments: str
    started_at: float
    output: str | None = None
    ok: bool | None = None
    duration_s: float | None = None
    approval: str = ""
    source: str = ""
    note: str = ""
    """For the session's own rows (a handoff, a guardrail trip): the status to show."""

    @property
    def status(self) -> str:
        if self.note:
            return self.note
        if self.ok is None:
            return "running"
        if self.approval in _REFUSALS:
            return _REFUSALS[self.approval]
        approved = " (approved)" if self.approval == "approved" else ""
        return ("ok" if self.ok else "error") + approved


_REFUSALS = {
    "denied": "declined by you",
    "timed-out": "not approved in time",
    "blocked": "never allowed",
    "failed": "could not ask",
}


class ToolCallModel(QAbstractTableModel):
    def __init__(self, max_rows: int = 2000) -> None:
        super().__init__()
        self.calls: Ring[ToolCall] = Ring(max_rows)
        self._sequence: dict[str, int] = {}  # call id -> how many calls came before it (row + calls dropped)
        self.max_rows = max_rows

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.calls)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        call = self.calls[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                time.strftime("%H:%M:%S", time.localtime(call.started_at)),
                f"{call.name} · {call.source}" if call.source and call.source != "built-in" else call.name,
                compact(call.arguments, 120),
                compact(call.output, 120),
                "" if call.duration_s is None else f"{call.duration_s * 1000:.0f} ms",
                call.status,
            )[column]
        if role == Qt.ItemDataRole.ForegroundRole and column == 5:
            return QColor(theme.colors()["cut" if call.ok is False else "assistant" if call.ok else "muted"])
        if role == Qt.ItemDataRole.ToolTipRole and column in (2, 3):
            return pretty_json(call.arguments if column == 2 else call.output)
        return None

    def row_of(self, call_id: str) -> int | None:
        sequence = self._sequence.get(call_id)
        if sequence is None or sequence < self.calls.dropped:
            return None
        return sequence - self.calls.dropped

    def started(self, event: se.ToolStart) -> None:
        if self.row_of(event.call_id) is None:
            self._push(ToolCall(event.call_id, event.name, event.arguments, time.time()))

    def noted(self, event: se.Handoff | se.GuardrailTripped) -> None:
        """The session's own steps between tool calls, one row each."""
        row_id = f"{event.kind}-{self.calls.dropped + len(self.calls)}"
        if isinstance(event, se.Handoff):
            what = f"{event.from_agent} → {event.to_agent}"
            said = event.voice_note or f"{event.to_agent} answers from here"
            status = "handoff (you chose)" if event.requested_by == "person" else "handoff"
            self._push(ToolCall(row_id, "handoff", what, time.time(), said, True, 0.0, note=status))
        else:
            names = ", ".join(result.guardrail for result in event.guardrail_results)
            self._push(ToolCall(row_id, "guardrail", names, time.time(), event.reason, False, 0.0, note="answer cut"))

    def _push(self, call: ToolCall) -> None:
        if len(self.calls) >= self.max_rows:
            self.beginRemoveRows(QModelIndex(), 0, 0)
            self._sequence.pop(self.calls[0].call_id, None)
            self.calls.drop_oldest()
            self.endRemoveRows()
        row = len(self.calls)
        self.beginInsertRows(QModelIndex(), row, row)
        self._sequence[call.call_id] = self.calls.dropped + row
        self.calls.push(call)
        self.endInsertRows()

    def finished(self, event: se.ToolEnd) -> None:
        row = self.row_of(event.call_id)
        if row is None:
            self.started(se.ToolStart(event.call_id, event.name, event.arguments))
            row = len(self.calls) - 1
        call = self.calls[row]
        call.output, call.ok, call.duration_s = event.output, event.ok, event.duration_s
        call.approval, call.source = event.approval, event.source
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def clear(self) -> None:
        self.beginResetModel()
        self.calls.clear()
        self._sequence.clear()
        self.endResetModel()


class ToolLogView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ToolCallModel()
        self.table = QTableView()
        self.table.setObjectName("tool_table")
        describe(self.table, "Tool calls", "One row per call the model made, newest last; select one for details")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        for column, mode in enumerate(
            (QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.ResizeToContents,
             QHeaderView.ResizeMode.Stretch, QHeaderView.ResizeMode.Stretch,
             QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.ResizeToContents)
        ):  # fmt: skip
            header.setSectionResizeMode(column, mode)
        self.details = QPlainTextEdit()
        self.details.setObjectName("tool_details")
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select a call to see its arguments and result.")
        describe(self.details, "Tool call details", "The selected call's arguments and result")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setSizes([300, 120])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.table.selectionModel().currentRowChanged.connect(lambda current, _prev: self._show(current.row()))
        self.model.dataChanged.connect(lambda top, _bottom: self._refresh_details(top.row()))

    def clear(self) -> None:
        self.model.clear()
        self.details.clear()

    def apply_event(self, event: se.SessionEvent) -> None:
        if isinstance(event, se.ToolStart):
            self.model.started(event)
            self.table.scrollToBottom()
        elif isinstance(event, se.ToolEnd):
            self.model.finished(event)
        elif isinstance(event, se.Handoff | se.GuardrailTripped):
            self.model.noted(event)
            self.table.scrollToBottom()

    def refresh(self) -> None:
        self.table.viewport().update()

    def _refresh_details(self, row: int) -> None:
        if self.table.currentIndex().row() == row:
            self._show(row)

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self.model.calls):
            self.details.clear()
            return
        call = self.model.calls[row]
        lines = [
            f"{call.name}{f' ({call.source})' if call.source else ''}  ·  call {call.call_id}  ·  {call.status}",
            f"started {time.strftime('%H:%M:%S', time.localtime(call.started_at))}"
            + ("" if call.duration_s is None else f", took {call.duration_s * 1000:.1f} ms"),
            "",
            "Arguments:",
            pretty_json(call.arguments),
            "",
            "Error:" if call.ok is False else "Result:",
            pretty_json(call.output) if call.output is not None else "(running)",
        ]
        self.details.setPlainText("\n".join(lines))
