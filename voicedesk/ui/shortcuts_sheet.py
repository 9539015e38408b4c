"""Help → Keyboard shortcuts: every shortcut of the window in one read-only list, grouped (the menus' actions
and the keys that are not menu actions: Space to talk, Esc to interrupt, the global push-to-talk shortcut), with
a filter box. Esc or Close closes it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from voicedesk.ui.accessibility import describe, plain_label

TALKING = "Talking"


@dataclass(frozen=True)
class ShortcutRow:
    action: str
    keys: str
    """As this desktop writes them (QKeySequence's native text: "Ctrl+H", "⌘H" on macOS)."""
    group: str = ""


def action_name(action: QAction) -> str:
    """A menu entry as a sentence: "&Export…" -> "Export"."""
    return plain_label(action.text()).rstrip("…").removesuffix("...").strip()


def native_keys(sequence: QKeySequence | str) -> str:
    return QKeySequence(sequence).toString(QKeySequence.SequenceFormat.NativeText)


def rows_from_actions(
    actions: Iterable[QAction], group_of: Callable[[QAction], str] | None = None
) -> list[ShortcutRow]:
    """A row for each visible action that has a shortcut (all of its shortcuts, in one row); actions without
    one, separators and hidden actions are left out."""
    rows: list[ShortcutRow] = []
    for action in actions:
        keys = ", ".join(native_keys(s) for s in action.shortcuts() if not s.isEmpty())
        if action.isSeparator() or not action.isVisible() or not keys or not action_name(action):
            continue
        row = ShortcutRow(action_name(action), keys, group_of(action) if group_of is not None else "")
        if row not in rows:
            rows.append(row)
    return rows


def talking_rows(global_shortcut: str | None = None) -> list[ShortcutRow]:
    """The keys that are not menu actions: the talk button's Space, Esc to interrupt, the global shortcut."""
    rows = [
        ShortcutRow("Hold to talk (push to talk); press to mute with voice detection", native_keys("Space"), TALKING),
        ShortcutRow("Interrupt the answer", native_keys("Esc"), TALKING),
    ]
    if global_shortcut:
        rows.append(ShortcutRow("Hold to talk from any application", native_keys(global_shortcut), TALKING))
    return rows


class KeyboardShortcutsSheet(QDialog):
    def __init__(self, rows: Iterable[ShortcutRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setObjectName("shortcuts_sheet")
        self.rows = list(rows)
        self.filter_box = describe(
            QLineEdit(), "Filter shortcuts", "Shows the shortcuts whose action, keys or group contain this text"
        )
        self.filter_box.setObjectName("shortcuts_filter")
        self.filter_box.setPlaceholderText("Type to filter")
        self.filter_box.setClearButtonEnabled(True)
        self.tree = describe(QTreeWidget(), "Keyboard shortcuts", "Each action and the keys that do it, by group")
        self.tree.setObjectName("shortcuts_table")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setRootIsDecorated(False)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(False)
        self._items: list[tuple[ShortcutRow, QTreeWidgetItem]] = []
        self._groups: dict[str, QTreeWidgetItem] = {}
        self._fill()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.close_button = buttons.button(QDialogButtonBox.StandardButton.Close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_box)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
        self.filter_box.textChanged.connect(self.set_filter)
        self.filter_box.installEventFilter(self)
        self.resize(self.sizeHint().expandedTo(self.fontMetrics().boundingRect("M" * 48).size() * 1.1))
        self.filter_box.setFocus(Qt.FocusReason.OtherFocusReason)

    def _fill(self) -> None:
        groups = self._groups
        for row in self.rows:
            parent = groups.get(row.group)
            if parent is None:
                parent = QTreeWidgetItem(self.tree, [row.group or "General", ""])
                parent.setFlags(Qt.ItemFlag.ItemIsEnabled)
                font = parent.font(0)
                font.setBold(True)
                parent.setFont(0, font)
                parent.setFirstColumnSpanned(True)
                parent.setExpanded(True)
                groups[row.group] = parent
            item = QTreeWidgetItem(parent, [row.action, row.keys])
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            item.setData(0, Qt.ItemDataRole.AccessibleTextRole, f"{row.action}: {row.keys}")
            self._items.append((row, item))

    def set_filter(self, text: str) -> None:
        """Keep the rows whose action, keys or group contain every word typed (any case)."""
        words = text.lower().split()
        for row, item in self._items:
            haystack = f"{row.action} {row.keys} {row.group}".lower()
            item.setHidden(not all(word in haystack for word in words))
        shown_groups = {row.group for row, item in self._items if not item.isHidden()}
        for group, item in self._groups.items():
            item.setHidden(group not in shown_groups)

    def visible_rows(self) -> list[ShortcutRow]:
        return [row for row, item in self._items if not item.isHidden()]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Down in the filter box goes on to the list (its first row shown), so the keyboard need not Tab."""
        if (
            watched is self.filter_box
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Down
        ):
            first = next((item for _row, item in self._items if not item.isHidden()), None)
            if first is not None:
                self.tree.setCurrentItem(first)
            self.tree.setFocus(Qt.FocusReason.TabFocusReason)
            return True
        return super().eventFilter(watched, event)
