"""Approval before a tool runs, in the window: a card under the conversation with the tool, where it comes from
and its arguments; Approve (the keyboard reaches it), Deny (Esc), Always allow (kept in the settings)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.qt.uikit import WAIT_MS, AppHarness
from voicedesk.session import events as se

MakeApp = Callable[..., AppHarness]
SHOUT = "def shout(text: str) -> str:\n    '''Say it loudly.'''\n    return text.upper() + '!'\n"


def _tools(tmp_path: Path) -> Path:
    folder = tmp_path / "tools"
    folder.mkdir()
    (folder / "words.py").write_text(SHOUT)
    return folder


def _ask_for_shout(qtbot: QtBot, app: AppHarness, text: str) -> None:
    box = app.window.conversation.message_box
    qtbot.keyClicks(box, f'call the tool shout with {{"text": "{text}"}}')
    qtbot.keyClick(box, Qt.Key.Key_Return)


def _ends(app: AppHarness) -> list[se.ToolEnd]:
    return app.of(se.ToolEnd)


def test_a_tool_from_the_tools_folder_waits_for_the_person(qtbot: QtBot, make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app(tools_dir=_tools(tmp_path))
    w = app.window
    cards = w.approvals
    # Approve, from the keyboard: the card takes the focus.
    _ask_for_shout(qtbot, app, "first")
    qtbot.waitUntil(lambda: len(cards.cards) == 1, timeout=WAIT_MS)
    card = cards.cards[0]
    assert cards.isVisible()
    assert card.request.tool == "shout" and dict(card.request.arguments) == {"text": "first"}
    assert card.approve_button.hasFocus()
    qtbot.keyClick(card.approve_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: len(_ends(app)) == 1, timeout=WAIT_MS)
    assert _ends(app)[0].ok and _ends(app)[0].approval == "approved" and "FIRST!" in _ends(app)[0].output
    assert _ends(app)[0].source == "file"
    qtbot.waitUntil(lambda: w.tool_log.model.calls[0].status == "ok (approved)", timeout=WAIT_MS)
    assert w.tool_log.model.index(0, 1).data() == "shout · file"
    assert not cards.isVisible()
    qtbot.waitUntil(lambda: "FIRST!" in w.conversation.plain_text(), timeout=WAIT_MS)
    # Deny with Esc: the tool never runs, the model is told, and answers.
    _ask_for_shout(qtbot, app, "second")
    qtbot.waitUntil(lambda: len(cards.cards) == 1, timeout=WAIT_MS)
    qtbot.keyClick(cards.cards[0], Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: len(_ends(app)) == 2, timeout=WAIT_MS)
    denied = _ends(app)[1]
    assert not denied.ok and denied.approval == "denied" and "declined" in denied.output
    qtbot.waitUntil(lambda: "declined" in w.tool_log.model.calls[1].status, timeout=WAIT_MS)
    # Always allow: this call runs, and the next one without a card.
    _ask_for_shout(qtbot, app, "third")
    qtbot.waitUntil(lambda: len(cards.cards) == 1, timeout=WAIT_MS)
    qtbot.mouseClick(cards.cards[0].always_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(_ends(app)) == 3, timeout=WAIT_MS)
    assert app.runtime.settings.tool_policies["shout"] == "always"
    _ask_for_shout(qtbot, app, "fourth")
    qtbot.waitUntil(lambda: len(_ends(app)) == 4, timeout=WAIT_MS)
    assert _ends(app)[3].ok and "FOURTH!" in _ends(app)[3].output and not cards.cards
    assert not app.contract_errors
