"""Accessible names and descriptions: what a screen reader says for each control, and a check that finds the
focusable widgets nobody named.

A name is set explicitly (``setAccessibleName``); a tooltip is not a name. A button's own visible text is
its name too (that is what Qt's accessibility reports for it), so "OK" needs nothing more; a button whose text
is only a symbol ("▶", "×") does need a name.
"""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QFormLayout,
    QKeySequenceEdit,
    QLabel,
    QLayout,
    QMenu,
    QScrollBar,
    QTabBar,
    QWidget,
)

W = TypeVar("W", bound=QWidget)

COMPOUND_WIDGETS = (QComboBox, QAbstractSpinBox, QKeySequenceEdit, QTabBar)
"""Widgets whose internal children (a combo's line edit, a spin box's editor, a tab bar's scroll buttons) a
screen reader reaches through the outer widget: the outer one carries the name."""


def plain_label(text: str) -> str:
    """A row label as a name: "&Keep for:" -> "Keep for" ("&&" stays one "&")."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").strip().rstrip(":").strip()


def describe(widget: W, name: str, description: str = "") -> W:
    """Give ``widget`` an accessible name (and a description: what it does, when the name alone does not say)."""
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)
    return widget


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def accessible_name(widget: QWidget) -> str:
    """The name a screen reader gets: the explicit one, else a button's own text (when it has words)."""
    if widget.accessibleName():
        return widget.accessibleName()
    if isinstance(widget, QAbstractButton) and _has_words(widget.text()):
        return plain_label(widget.text())
    return ""


def _fields(item_widget: QWidget | None, item_layout: QLayout | None) -> list[QWidget]:
    if item_widget is not None:
        return [item_widget]
    if item_layout is None:
        return []
    found = []
    for index in range(item_layout.count()):
        child = item_layout.itemAt(index)
        if child is not None:
            found += _fields(child.widget(), child.layout())
    return found


def name_form_fields(form: QFormLayout) -> list[QWidget]:
    """Name each row's field after its label ("API key:" -> "API key"), unless it has a name already. A row
    whose field is a layout names its first widget that is not a button (a button has its own text). Returns
    the widgets named."""
    named: list[QWidget] = []
    for row in range(form.rowCount()):
        label_item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
        field_item = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
        label = label_item.widget() if label_item is not None else None
        if field_item is None or not isinstance(label, QLabel) or not plain_label(label.text()):
            continue
        fields = _fields(field_item.widget(), field_item.layout())
        candidates = [w for w in fields if not isinstance(w, QAbstractButton)]
        if candidates and not candidates[0].accessibleName():
            candidates[0].setAccessibleName(plain_label(label.text()))
            if label.buddy() is None:
                label.setBuddy(candidates[0])
            named.append(candidates[0])
    return named


def _takes_tab_focus(widget: QWidget) -> bool:
    return bool(widget.focusPolicy().value & Qt.FocusPolicy.TabFocus.value)


def _hidden_by_choice(widget: QWidget) -> bool:
    """Hidden by its own hide() (a row that does not apply), not merely inside a window not shown yet."""
    return widget.isHidden() and widget.testAttribute(Qt.WidgetAttribute.WA_WState_ExplicitShowHide)


def _internal_part(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None and not parent.isWindow():
        if isinstance(parent, COMPOUND_WIDGETS):
            return True
        parent = parent.parentWidget()
    return isinstance(widget, QScrollBar)


def unnamed_focusable(root: QWidget) -> list[QWidget]:
    """The widgets under ``root`` (in ``root``'s own window) that Tab can reach and that have no accessible
    name: each one a screen reader would announce only by its kind ("edit", "combo box")."""
    window = root.window()
    found = []
    for widget in root.findChildren(QWidget):
        if widget.window() is not window or isinstance(widget, QMenu):
            continue  # another window (a dialog, a menu) is checked on its own
        if not _takes_tab_focus(widget) or _hidden_by_choice(widget) or _internal_part(widget):
            continue
        proxy = widget.focusProxy()
        if proxy is not None and not _internal_part(proxy):
            continue  # Tab lands on the proxy (a tab widget's bar), which is checked itself
        if not accessible_name(widget):
            found.append(widget)
    return found


def describe_unnamed(widgets: list[QWidget]) -> list[str]:
    """For a failing assertion: each widget's class, object name and the text nearby."""
    return [
        f"{type(w).__name__}#{w.objectName() or '?'} in {type(w.parentWidget()).__name__}"
        + (f" (tooltip {w.toolTip()!r})" if w.toolTip() else "")
        for w in widgets
    ]
