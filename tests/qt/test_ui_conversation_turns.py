"""The conversation pane on its own: turns as separate boxes, tool chips that open and close, the view
pinned to the bottom unless the person scrolled up, finished turns announced once, readable turn colours."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette, QTextCursor, QTextFormat
from PySide6.QtWidgets import QAbstractSlider, QApplication
from pytestqt.qtbot import QtBot

from voicedesk.session.conversation import Item
from voicedesk.ui import conversation_html, theme
from voicedesk.ui.contrast import AA_TEXT, contrast_ratio
from voicedesk.ui.conversation_view import ConversationView


def _msg(item_id: str, role: str, text: str = "", **kw: object) -> Item:
    return Item(item_id, "message", role, kw.pop("status", "completed"), transcript=text, **kw)  # type: ignore[arg-type]


def _call(item_id: str, call_id: str, name: str = "calculator", arguments: str = '{"expression": "12*7"}') -> Item:
    return Item(item_id, "function_call", None, "completed", name=name, call_id=call_id, arguments=arguments)


@pytest.fixture
def view(qtbot: QtBot) -> ConversationView:
    shown = ConversationView()
    qtbot.addWidget(shown)
    shown.resize(520, 320)
    shown.show()
    qtbot.waitExposed(shown)
    return shown


@pytest.fixture
def restore_look(qapp: QApplication) -> Iterator[None]:
    style, palette, sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    chosen = qapp.property("voicedesk_dark")
    yield
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)
    qapp.setProperty("voicedesk_dark", chosen)


def test_each_kind_of_turn_has_a_frame_format_of_its_own(view: ConversationView) -> None:
    view.apply_items(
        [
            _msg("u1", "user", "what is 12 times 7", has_audio=True),
            _call("f1", "call_1"),
            _msg("a1", "assistant", "It is 84."),
            Item("h1", "handoff", None, "completed", text="Concierge → Billing"),
        ],
        complete=True,
    )
    view.refresh()
    formats = {i: view._frames[i].frameFormat() for i in view.shown_ids()}
    kinds = {i: f.property(QTextFormat.Property.UserProperty) for i, f in formats.items()}
    assert kinds == {"u1": "user", "f1": "tool", "a1": "assistant", "h1": "note"}
    backgrounds = {i: f.background().color().name() for i, f in formats.items()}
    assert len(set(backgrounds.values())) == 4, "each kind is tinted differently"
    assert formats["u1"].leftMargin() > formats["a1"].leftMargin(), "your turns are indented"
    assert formats["u1"].border() > 0 and formats["a1"].border() > 0 and formats["u1"].padding() > 0
    text = view.plain_text()
    assert "You spoken ·" in text and "Assistant" in text, "who speaks is written, not only coloured"
    assert text.index("what is 12 times 7") < text.index("⚙ calculator") < text.index("It is 84.")


def test_a_tool_chip_opens_on_click_and_on_enter_and_only_its_frame_is_rewritten(
    qtbot: QtBot, view: ConversationView
) -> None:
    view.apply_items([_msg("u1", "user", "what is 12 times 7"), _call("f1", "call_1"), _msg("a1", "assistant", "84")],
                     complete=True)  # fmt: skip
    view.refresh()
    assert "⚙ calculator · running…" in view.plain_text()
    view.apply_tool_result("call_1", "84", True)
    view.refresh()
    assert "▸ ⚙ calculator · 84" in view.plain_text()
    assert '"expression"' not in view.plain_text() and "Result" not in view.plain_text()

    changes: list[tuple[int, int, int]] = []
    view.browser.document().contentsChange.connect(lambda at, removed, added: changes.append((at, removed, added)))
    frame = view._frames["f1"]
    cursor = QTextCursor(view.browser.document())
    cursor.setPosition(frame.firstPosition() + 3)
    qtbot.mouseClick(view.browser.viewport(), Qt.MouseButton.LeftButton, pos=view.browser.cursorRect(cursor).center())
    qtbot.waitUntil(lambda: view.expanded_tools() == ["call_1"])
    opened = view.plain_text()
    assert "▾ ⚙ calculator · 84" in opened
    assert '"expression": "12*7"' in opened and "Arguments" in opened and "Result" in opened
    assert changes and all(frame.firstPosition() <= at and at + added <= frame.lastPosition() + 1
                           for at, removed, added in changes), "only the chip's frame changed"  # fmt: skip
    assert opened.index("what is 12 times 7") < opened.index("Arguments") < opened.index("Result\n84\n")

    # From the keyboard: Tab to the chip's link, Enter closes it, Enter again opens it.
    view.browser.setFocus()
    qtbot.waitUntil(view.browser.hasFocus)
    view.browser.moveCursor(QTextCursor.MoveOperation.Start)
    qtbot.keyClick(view.browser, Qt.Key.Key_Tab)
    assert view.browser.textCursor().charFormat().isAnchor()
    qtbot.keyClick(view.browser, Qt.Key.Key_Return)
    assert view.expanded_tools() == [] and '"expression"' not in view.plain_text()
    qtbot.keyClick(view.browser, Qt.Key.Key_Return)
    assert view.expanded_tools() == ["call_1"] and '"expression"' in view.plain_text()


def test_a_failed_call_reads_as_failed_and_shows_the_error(view: ConversationView) -> None:
    view.apply_items([_call("f1", "call_9", "get_time", "not json")], complete=True)
    view.apply_tool_result("call_9", "error: no clock here", False)
    view.refresh()
    assert "⚙ get_time · failed: error: no clock here" in view.plain_text()
    assert theme.colors()["cut"] in view.item_html(view._items["f1"])
    view.toggle_tool("call_9")
    assert "Error\nerror: no clock here" in view.plain_text() and "not json" in view.plain_text()


def test_streamed_words_are_appended_without_rewriting_the_turn(view: ConversationView) -> None:
    view.apply_items([_msg("a1", "assistant", status="in_progress", has_audio=True)], complete=False)
    view.apply_transcript("a1", "The")
    view.refresh()
    changes: list[tuple[int, int, int]] = []
    view.browser.document().contentsChange.connect(lambda at, removed, added: changes.append((at, removed, added)))
    for words in ("The answer", "The answer streams", "The answer streams in."):
        view.apply_transcript("a1", words)
        view.refresh()
    assert len(changes) == 3 and all(removed == 0 for _at, removed, _added in changes)
    assert "The answer streams in." in view.plain_text()


def _pinned(view: ConversationView) -> bool:
    return view.pinned  # read through a call: mypy would keep an asserted property narrowed


def _stream_lines(view: ConversationView, item_id: str, start: int, count: int) -> None:
    text = view._text.get(item_id, "")
    for n in range(start, start + count):
        text += f"line {n} of the long answer\n"
        view.apply_transcript(item_id, text)
        view.refresh()


def test_the_view_stays_pinned_to_the_bottom_unless_the_person_scrolled_up(
    qtbot: QtBot, view: ConversationView
) -> None:
    bar = view.browser.verticalScrollBar()
    view.apply_items([_msg(f"t{n}", "user" if n % 2 else "assistant", f"turn {n}") for n in range(12)], complete=True)
    view.apply_items([_msg("a", "assistant", status="in_progress", has_audio=True)], complete=False)
    view.refresh()
    _stream_lines(view, "a", 0, 10)
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    assert _pinned(view)

    bar.triggerAction(QAbstractSlider.SliderAction.SliderPageStepSub)  # the person scrolls up a page
    assert not _pinned(view)
    place, end = bar.value(), bar.maximum()
    _stream_lines(view, "a", 10, 10)
    qtbot.waitUntil(lambda: bar.maximum() > end)
    assert bar.value() == place and not _pinned(view), "new text does not move a view scrolled up"

    bar.triggerAction(QAbstractSlider.SliderAction.SliderToMaximum)  # back at the bottom: pinned again
    assert _pinned(view)
    end = bar.maximum()
    _stream_lines(view, "a", 20, 10)
    qtbot.waitUntil(lambda: bar.maximum() > end and bar.value() == bar.maximum())

    bar.triggerAction(QAbstractSlider.SliderAction.SliderToMinimum)
    view.message_sent()  # what the person just sent is where they look next
    assert _pinned(view) and bar.value() == bar.maximum()


def test_each_finished_turn_is_announced_once_and_never_per_streamed_word(view: ConversationView) -> None:
    view.apply_items([_msg("u1", "user", text="what is 12 times 7")], complete=False)
    view.refresh()
    assert view.announcements == ["You: what is 12 times 7"]
    view.apply_items([_call("f1", "call_1")], complete=False)
    view.refresh()
    view.apply_tool_result("call_1", "84", True)
    view.refresh()
    assert view.announcements[-1] == "Tool calculator finished: 84"

    answer = _msg("a1", "assistant", status="in_progress", has_audio=True)
    view.apply_items([answer], complete=False)
    for words in ("Twelve", "Twelve times seven", "Twelve times seven is 84."):
        view.apply_transcript("a1", words)
        view.refresh()
    assert len(view.announcements) == 2, "nothing while the answer streams"
    done = _msg("a1", "assistant", "Twelve times seven is 84.", has_audio=True)
    view.apply_items([done], complete=False)
    view.refresh()
    assert view.announcements[-1] == "Assistant: Twelve times seven is 84."
    view.apply_theme()  # everything is written again: nothing is announced again
    view.refresh()
    view.apply_items([_msg("u1", "user", text="what is 12 times 7"), _call("f1", "call_1"), done], complete=True)
    view.refresh()
    assert len(view.announcements) == 3

    view.apply_items([Item("h1", "handoff", None, "completed", text="Concierge → Billing")], complete=False)
    view.refresh()
    assert view.announcements[-1] == "Handoff: Concierge → Billing"


def test_an_interrupted_answer_is_announced_once_with_what_was_heard(view: ConversationView) -> None:
    text = "one two three four five six seven eight nine ten " * 10
    view.apply_items([_msg("a1", "assistant", status="in_progress", has_audio=True)], complete=False)
    view.apply_transcript("a1", text)
    view.refresh()
    assert view.announcements == []
    cut = _msg("a1", "assistant", text, status="in_progress", has_audio=True, audio_ms=10_000, truncated_ms=1_000)
    view.apply_items([cut], complete=False)
    view.refresh()
    view.apply_items([_msg("a1", "assistant", text, status="incomplete", has_audio=True, audio_ms=10_000,
                           truncated_ms=1_000)], complete=True)  # fmt: skip
    view.refresh()
    assert view.announcements == [f"Assistant, interrupted: {cut.heard_text}"]
    assert "✂ interrupted at 1.0 s" in view.plain_text()


def test_a_burst_of_finished_turns_is_summed_up_and_long_turns_are_cut_short(view: ConversationView) -> None:
    long = "word " * 200
    view.apply_items([_msg(f"t{n}", "user" if n % 2 else "assistant", f"turn {n}") for n in range(5)]
                     + [_msg("last", "assistant", long)], complete=True)  # fmt: skip
    view.refresh()
    assert len(view.announcements) == 1
    said = view.announcements[0]
    assert said.startswith("6 messages. The last one: Assistant: word word")
    assert len(said) < 260 and said.endswith("…")


def test_the_pane_and_its_input_have_accessible_names(view: ConversationView) -> None:
    assert view.browser.accessibleName() == "Conversation" and view.browser.accessibleDescription()
    assert view.message_box.accessibleName() == "Message to the assistant"
    assert view.send_button.accessibleName() == "Send message"
    flags = view.browser.textInteractionFlags()
    assert flags & Qt.TextInteractionFlag.LinksAccessibleByKeyboard


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_text_on_every_turn_background_reaches_wcag_aa(qapp: QApplication, restore_look: None, dark: bool) -> None:
    theme.apply_theme(qapp, dark)
    text = QApplication.palette().color(QPalette.ColorRole.Text).name()
    assert conversation_html.turn_colors() is (conversation_html.TURNS_DARK if dark else conversation_html.TURNS_LIGHT)
    names = ("user", "assistant", "tool", "cut", "muted")
    shown = (theme.DARK if dark else theme.LIGHT) | {"text": text}
    failures = []
    for kind in conversation_html.BACKGROUNDS:
        background = conversation_html.turn_colors()[kind]
        for name in (*names, "text"):
            ratio = contrast_ratio(shown[name], background)
            if ratio < AA_TEXT:
                failures.append(f"{name} {shown[name]} on {kind} {background}: {ratio:.2f}")
    assert not failures


def test_old_turns_leaving_the_top_do_not_move_a_view_scrolled_up(qtbot: QtBot) -> None:
    view = ConversationView(max_items=12)
    qtbot.addWidget(view)
    view.resize(520, 320)
    view.show()
    qtbot.waitExposed(view)
    bar = view.browser.verticalScrollBar()
    view.apply_items([_msg(f"t{n}", "user" if n % 2 else "assistant", f"turn {n}") for n in range(12)], complete=True)
    view.refresh()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    bar.triggerAction(QAbstractSlider.SliderAction.SliderPageStepSub)
    cursor = view.browser.cursorForPosition(view.browser.viewport().rect().center())
    shown = cursor.block().text()
    assert "turn" in shown
    view.apply_items([_msg("t12", "assistant", "turn 12"), _msg("t13", "user", "turn 13")], complete=False)
    view.refresh()
    assert view.shown_ids()[0] == "t2" and not _pinned(view)
    qtbot.waitUntil(lambda: view.browser.cursorForPosition(view.browser.viewport().rect().center()).block().text()
                    == shown)  # fmt: skip
