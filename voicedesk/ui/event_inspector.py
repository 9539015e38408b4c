"""The raw protocol: every client and server event (audio payloads elided by the controller), newest
last, filterable by type and direction, bounded to the last ``capacity`` events and ``max_bytes`` (the
events waiting included). Incoming events wait in a bounded ring and are inserted into the table twice a
second on the window's display clock, and only while the table is on screen (each insertion relayouts
and repaints the table: batching keeps the inspector cheap while an answer streams, and a hidden
inspector costs only the bookkeeping)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QShowEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from voicedesk.session import events as se
from voicedesk.ui.accessibility import describe
from voicedesk.ui.display_clock import DisplayClock
from voicedesk.ui.ring import Ring

COLUMNS = ("Time", "", "Type", "Summary")
ModelIndex = QModelIndex | QPersistentModelIndex
NOISY_TYPES = ("input_audio_buffer.append", "response.output_audio.delta", "response.audio.delta")
FLUSH_MS = 500  # twice a second: each insertion re-lays out and repaints the whole table
SUMMARY_CHARS = 120  # a glance (the details pane shows the whole event); long cells cost text shaping per paint


_ARROWS = {"client": "↑", "server": "↓"}
_FROM = {"client": "sent by voicedesk", "server": "received from the server"}


class RawEvent:
    __slots__ = ("data", "direction", "size", "summary", "t", "type")

    def __init__(self, t: float, direction: str, data: dict[str, Any], size: int = 0) -> None:
        self.t = t
        self.size = size
        self.direction = direction
        self.type = str(data.get("type", "?"))
        self.data = data
        self.summary: str | None = None

    def summarize(self) -> str:
        if self.summary is None:
            rest = {k: v for k, v in self.data.items() if k not in ("type", "event_id")}
            text = json.dumps(rest, ensure_ascii=False, separators=(",", ":"))
            self.summary = text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"
        return self.summary

    def cells(self) -> list[QStandardItem]:
        arrow = QStandardItem(_ARROWS.get(self.direction, "◆"))
        arrow.setToolTip(_FROM.get(self.direction, "the session's own event (not on the wire)"))
        return [QStandardItem(f"{self.t:9.3f}"), arrow, QStandardItem(self.type), QStandardItem(self.summarize())]


class EventModel(QStandardItemModel):
    """The table's cells are Qt items, so painting never calls Python (the delegate asks every visible
    cell for seven roles on each repaint); ``rows`` keeps the events themselves, row for row, for the
    filter and the details pane."""

    def __init__(self, capacity: int = 5000, max_bytes: int = 32 * 1024 * 1024) -> None:
        super().__init__(0, len(COLUMNS))
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.bytes = 0  # of the events in the table and those waiting for it
        self.rows: Ring[RawEvent] = Ring(capacity)
        self.pending: Ring[RawEvent] = Ring(capacity)  # arrived, not yet in the table
        self.total = 0

    def add(self, event: RawEvent) -> None:
        if len(self.pending) == self.capacity:
            self.bytes -= self.pending[0].size  # about to fall off the ring
        self.pending.push(event)
        self.bytes += event.size
        self.total += 1
        # The table fills only while it is on screen: the bound must hold for the waiting events too, so
        # the oldest go now (rows first, they are older).
        while self.bytes > self.max_bytes and len(self.rows) + len(self.pending) > 1:
            if len(self.rows):
                self._drop_oldest(1)
            else:
                self.bytes -= self.pending[0].size
                self.pending.drop_oldest(1)

    def flush(self) -> int:
        """Move pending events into the table, dropping the oldest beyond capacity; returns rows added."""
        incoming = len(self.pending)
        if not incoming:
            return 0
        overflow = len(self.rows) + incoming - self.capacity
        if overflow > 0:
            self._drop_oldest(min(overflow, len(self.rows)))
        for event in self.pending:  # at most ``capacity``: the pending ring dropped any older ones
            self.rows.push(event)  # first: the filter reads it as the row arrives
            self.appendRow(event.cells())
        self.pending.clear()  # their bytes were counted on arrival (``add`` kept the total in bounds)
        return incoming

    def _drop_oldest(self, count: int) -> None:
        if count <= 0:
            return
        self.bytes -= sum(self.rows[i].size for i in range(count))
        self.removeRows(0, count)
        self.rows.drop_oldest(count)

    def clear(self) -> None:
        self.removeRows(0, self.rowCount())
        self.rows.clear()
        self.pending.clear()
        self.bytes = 0


class EventFilter(QSortFilterProxyModel):
    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.direction = ""
        self.hide_audio = True

    def set_filter(self, text: str, direction: str, hide_audio: bool) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10; invalidateFilter() is deprecated there
            self.beginFilterChange()
            self.text, self.direction, self.hide_audio = text.strip().lower(), direction, hide_audio
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.text, self.direction, self.hide_audio = text.strip().lower(), direction, hide_audio
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        model = self.sourceModel()
        assert isinstance(model, EventModel)
        event = model.rows[source_row]
        if self.hide_audio and event.type in NOISY_TYPES:
            return False
        if self.direction and event.direction != self.direction:
            return False
        return not self.text or self.text in event.type.lower()


class EventInspector(QWidget):
    def __init__(self, parent: QWidget | None = None, *, capacity: int = 5000) -> None:
        super().__init__(parent)
        self._t0 = time.monotonic()
        self.model = EventModel(capacity)
        self.proxy = EventFilter()
        self.proxy.setSourceModel(self.model)
        self.filter_box = QLineEdit()
        self.filter_box.setObjectName("event_filter")
        self.filter_box.setPlaceholderText("Filter by type, e.g. response. or function_call")
        self.filter_box.setClearButtonEnabled(True)
        self.filter_box.setMinimumWidth(150)
        describe(self.filter_box, "Filter events by type", "Shows only the events whose type contains this text")
        self.direction_box = QComboBox()
        self.direction_box.addItem("both ways", "")
        self.direction_box.addItem("↑ sent", "client")
        self.direction_box.addItem("↓ received", "server")
        self.direction_box.addItem("◆ session", "session")
        describe(self.direction_box, "Direction", "Sent by voicedesk, received from the server, or both")
        self.hide_audio_box = QCheckBox("Hide audio")
        self.hide_audio_box.setChecked(True)
        self.hide_audio_box.setToolTip("Hide input_audio_buffer.append and audio delta events")
        self.hide_audio_box.setAccessibleDescription(self.hide_audio_box.toolTip())
        self.follow_box = QCheckBox("Follow")
        self.follow_box.setChecked(True)
        self.follow_box.setAccessibleDescription("Keep the newest event in view")
        self.count_label = QLabel("")
        self.count_label.setObjectName("event_count")
        # A fixed width: a label that grows with its text relayouts (and repaints) the whole row each time.
        self.count_label.setFixedWidth(self.count_label.fontMetrics().horizontalAdvance("00000 of 00000000"))
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # Opaque: a transparent label's every change repaints that patch of each widget beneath it.
        self.count_label.setAutoFillBackground(True)
        self.count_label.setToolTip("events kept (the most recent) of events seen")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_box, 1)
        top.addWidget(self.direction_box)
        top.addWidget(self.hide_audio_box)
        top.addWidget(self.follow_box)
        top.addWidget(self.count_label)
        self.table = QTableView()
        self.table.setObjectName("event_table")
        describe(self.table, "Protocol events", "Newest last; select one to read it in full below")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for column in range(3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(0, 80)
        self.table.setColumnWidth(1, 24)
        self.table.setColumnWidth(2, 260)
        self.details = QPlainTextEdit()
        self.details.setObjectName("event_details")
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select an event to see it in full.")
        describe(self.details, "Event details", "The selected event as JSON")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setSizes([300, 140])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self.filter_box.textChanged.connect(self._apply_filter)
        self.direction_box.currentIndexChanged.connect(self._apply_filter)
        self.hide_audio_box.toggled.connect(self._apply_filter)
        self.table.selectionModel().currentRowChanged.connect(lambda current, _prev: self._show(current))
        self._unsubscribe: Callable[[], None] | None = None

    def attach(self, clock: DisplayClock) -> None:
        """Insert what arrived on ``clock``'s ticks, about every ``FLUSH_MS``, while the table is shown."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = clock.every(FLUSH_MS, self._flush_if_shown)

    def _flush_if_shown(self) -> None:
        if self.table.isVisible():
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()  # what arrived while another tab was shown

    def _apply_filter(self) -> None:
        self.proxy.set_filter(
            self.filter_box.text(), str(self.direction_box.currentData()), self.hide_audio_box.isChecked()
        )
        if self.follow_box.isChecked():
            self.table.scrollToBottom()

    def clear(self) -> None:
        self.model.clear()
        self.details.clear()

    def apply_event(self, event: se.SessionEvent) -> None:
        if isinstance(event, se.RawModelEvent):
            self.add(event.direction, event.data, event.size)
        elif isinstance(event, se.Handoff | se.GuardrailTripped):  # the session's own, in the SDK's words
            data = {"type": event.kind, **{k: v for k, v in dataclasses.asdict(event).items() if k != "kind"}}
            self.add("session", data, len(json.dumps(data, ensure_ascii=False)))

    def add(self, direction: str, data: dict[str, Any], size: int = 0) -> None:
        self.model.add(RawEvent(time.monotonic() - self._t0, direction, data, size))

    def refresh(self) -> None:
        if self.model.flush():
            self.count_label.setText(f"{len(self.model.rows)} of {self.model.total}")
            if self.follow_box.isChecked() and self.table.isVisible():
                self.table.scrollToBottom()

    def _show(self, index: QModelIndex) -> None:
        source = self.proxy.mapToSource(index)
        if not source.isValid():
            self.details.clear()
            return
        event = self.model.rows[source.row()]
        self.details.setPlainText(json.dumps(event.data, indent=2, ensure_ascii=False))

    def visible_types(self) -> list[str]:
        """The types of the rows the filter lets through, in order (for tests)."""
        return [str(self.proxy.index(r, 2).data()) for r in range(self.proxy.rowCount())]
