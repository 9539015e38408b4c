"""Profiles in the window: the picker beside Connect, a handoff and a guardrail trip shown in the conversation,
the tool log and the event inspector, and the Settings page that edits profiles.toml."""

from __future__ import annotations

import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.qt.uikit import WAIT_MS, AppHarness
from voicedesk.app.profiles import load_profiles
from voicedesk.session import events as se

MakeApp = Callable[..., AppHarness]
EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "profiles.toml"


def _example(tmp_path: Path) -> Path:
    return Path(shutil.copy(EXAMPLE, tmp_path / "profiles.toml"))


def _say(qtbot: QtBot, app: AppHarness, text: str) -> None:
    ends = len(app.of(se.AgentEnd))
    app.window.conversation.message_box.setText(text)
    qtbot.mouseClick(app.window.conversation.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(app.of(se.AgentEnd)) > ends, timeout=WAIT_MS)
    assert app.runtime.controller is not None
    qtbot.waitUntil(lambda: app.runtime.controller is not None and app.runtime.controller.activity == "idle")


def test_a_handoff_and_a_guardrail_trip_are_shown_everywhere(qtbot: QtBot, make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app(profiles=_example(tmp_path))
    w = app.window
    picker = w.profiles_ui.picker
    row = w.top_bar.row
    assert row.indexOf(picker) == row.indexOf(w.top_bar.connect_button) + 1, "beside Connect"
    assert [picker.itemText(i) for i in range(picker.count())] == ["Concierge", "Billing"]
    assert picker.currentText() == "Concierge" and picker.isVisible()
    _say(qtbot, app, "Hello!")  # the concierge speaks: its voice (marin) is the session's from here on
    _say(qtbot, app, "I have a billing question: what card number do you have on file?")
    qtbot.waitUntil(app.seen(se.GuardrailTripped), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: app.runtime.controller is not None and app.runtime.controller.activity == "idle")

    qtbot.waitUntil(lambda: "⛔ Guardrail: it matched the blocked pattern" in w.conversation.plain_text())
    text = w.conversation.plain_text()
    assert "⇄ Concierge → Billing" in text
    assert text.index("Concierge → Billing") < text.index("Billing here.") < text.index("⛔ Guardrail")
    assert "The voice stays marin" in text and "The voice stays marin" in w.banner.message
    assert picker.currentText() == "Billing", "the picker follows the model's handoff"
    calls = w.tool_log.model.calls
    rows = [(calls[i].name, calls[i].arguments, calls[i].status) for i in range(len(calls))]
    assert ("handoff", "Concierge → Billing", "handoff") in rows
    assert ("guardrail", "blocked_patterns", "answer cut") in rows
    w.inspector.refresh()
    kinds = [(e.direction, e.type) for e in w.inspector.model.rows]
    assert ("session", "handoff") in kinds and ("session", "guardrail_tripped") in kinds
    handoff = next(e for e in w.inspector.model.rows if e.type == "handoff")
    assert handoff.data["from_agent"] == "Concierge" and handoff.data["to_agent"] == "Billing"
    assert handoff.cells()[1].text() == "◆"


def test_picking_a_profile_while_connected_updates_the_session(qtbot: QtBot, make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app(profiles=_example(tmp_path))
    picker = app.window.profiles_ui.picker
    sent_before = len(app.log.sent)
    picker.setCurrentIndex(picker.findText("Billing"))
    picker.activated.emit(picker.currentIndex())  # what a click on the item does
    qtbot.waitUntil(lambda: "session.update" in app.sent_types()[sent_before:], timeout=WAIT_MS)
    update = next(e for e in app.log.sent[sent_before:] if e["type"] == "session.update")
    assert update["session"]["instructions"].startswith("You are the billing specialist.")
    assert [t["name"] for t in update["session"]["tools"]] == ["calculator", "transfer_to_concierge"]
    assert "response.create" not in app.sent_types()[sent_before:]
    qtbot.waitUntil(lambda: "⇄ Concierge → Billing" in app.window.conversation.plain_text(), timeout=WAIT_MS)
    assert app.runtime.profiles.current == "Billing"
    assert app.of(se.Handoff)[0].requested_by == "person"


def test_the_settings_page_edits_and_saves_profiles(qtbot: QtBot, make_app: MakeApp, tmp_path: Path) -> None:
    path = _example(tmp_path)
    app = make_app(profiles=path)
    dialog = app.window.open_settings()
    tab = dialog.profiles_tab
    assert tab is not None
    assert [tab.list.item(i).text() for i in range(tab.list.count())] == ["Concierge", "Billing"]
    tab.list.setCurrentRow(1)
    assert tab.name_edit.text() == "Billing" and r"\b(?:\d[ -]?){13,16}\b" in tab.patterns_edit.toPlainText()
    assert tab.own_tools.isChecked() and "calculator" in [tab.tools_list.item(i).text() for i in range(3)]
    # A mistake is shown and nothing is saved.
    before = path.read_text()
    tab.patterns_edit.setPlainText("(")
    dialog.accept()
    assert dialog.isVisible() and "Assistants not saved" in dialog.error_label.text()
    assert "blocked_patterns" in dialog.error_label.text() and path.read_text() == before
    # Renamed, new instructions, a second pattern: saved for the owner only and used at once.
    tab.patterns_edit.setPlainText(r"\b(?:\d[ -]?){13,16}\b" + "\n" + r"\bIBAN\b")
    tab.name_edit.setText("Payments")
    tab.instructions_edit.setPlainText("You handle payments.")
    tab.list.setCurrentRow(0)  # the other one: its handoff follows the rename
    dialog.accept()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
    concierge, payments = load_profiles(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert payments.name == "Payments" and payments.instructions == "You handle payments."
    assert payments.guardrails.blocked_patterns == (r"\b(?:\d[ -]?){13,16}\b", r"\bIBAN\b")
    assert concierge.handoffs == ("Payments",) and concierge.voice == "marin"
    picker = app.window.profiles_ui.picker
    assert [picker.itemText(i) for i in range(picker.count())] == ["Concierge", "Payments"]
    assert app.runtime.controller is not None and app.runtime.controller.assistants == ["Concierge", "Payments"]
    qtbot.waitUntil(lambda: "transfer_to_payments" in str(app.log.sent[-1]), timeout=WAIT_MS)
