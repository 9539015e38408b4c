"""A whole conversation through the window: push-to-talk, typed messages, tools, interrupting."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from pytestqt.qtbot import QtBot

from tests.qt.uikit import WAIT_MS, AppHarness, ptt_settings
from tests.signals import speech_like
from voicedesk.local.server import LocalServerOptions
from voicedesk.session import events as se

MakeApp = Callable[..., AppHarness]


def _assistant_texts(app: AppHarness) -> list[str]:
    return [i.display_text for i in app.window.history() if i.role == "assistant" and i.display_text]


def test_push_to_talk_shows_the_user_transcript_and_the_streamed_answer(
    qtbot: QtBot, make_app: MakeApp, run: Callable[..., Any]
) -> None:
    app = make_app(options=LocalServerOptions(audio_pace=math.inf, transcripts=["hello there, desk"]))
    w = app.window
    assert w.controls.talk_button.isEnabled()
    assert not w.controls.interrupt_button.isEnabled(), "nothing plays yet"
    qtbot.mousePress(w.controls.talk_button, Qt.MouseButton.LeftButton)
    assert app.runtime.controller is not None and app.runtime.controller.activity == "listening"
    assert w.controls.action_text == "Release to send"
    run(app.source.play(speech_like(1.2)))
    qtbot.mouseRelease(w.controls.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "hello there, desk" in w.conversation.plain_text(), timeout=WAIT_MS)
    qtbot.waitUntil(app.seen(se.AgentEnd), timeout=WAIT_MS)
    answer = _assistant_texts(app)[-1]
    qtbot.waitUntil(lambda: answer in w.conversation.plain_text(), timeout=WAIT_MS)
    text = w.conversation.plain_text()
    assert text.index("hello there, desk") < text.index(answer), "the user turn comes before the answer"
    assert "You" in text and "Assistant" in text
    assert "input_audio_buffer.commit" in app.sent_types()
    qtbot.waitUntil(lambda: "latency" in w.status.latency_label.text() and "ms" in w.status.latency_label.text())
    qtbot.waitUntil(lambda: "tokens" in w.status.usage_label.text() and "local" in w.status.usage_label.text())
    # The mic and the assistant were recorded for export.
    assert app.runtime.recorder.mic_path.exists()
    assert app.runtime.recorder.assistant_path.exists()


def test_a_short_press_commits_nothing_and_says_why(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    qtbot.mouseClick(w.controls.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "0.1 s" in w.statusBar().currentMessage(), timeout=WAIT_MS)
    assert "input_audio_buffer.commit" not in app.sent_types()
    assert "response.create" not in app.sent_types()


def test_space_is_push_to_talk_unless_typing(qtbot: QtBot, make_app: MakeApp, run: Callable[..., Any]) -> None:
    app = make_app(options=LocalServerOptions(audio_pace=math.inf, transcripts=["spoken with the space bar"]))
    w = app.window
    controller = app.runtime.controller
    assert controller is not None
    w.activateWindow()
    w.controls.talk_button.setFocus()  # Space must not "click" a focused button
    window = w.windowHandle()  # keys arrive as from the platform: window first, then the focus widget
    qtbot.keyPress(window, Qt.Key.Key_Space)
    assert controller.activity == "listening"
    run(app.source.play(speech_like(0.8)))
    qtbot.keyRelease(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: "spoken with the space bar" in w.conversation.plain_text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: controller.activity == "idle", timeout=WAIT_MS)
    # In the text box, Space types a space.
    w.conversation.message_box.setFocus()
    for key in (Qt.Key.Key_A, Qt.Key.Key_Space, Qt.Key.Key_B):
        qtbot.keyClick(window, key)
    assert w.conversation.message_box.text() == "a b"
    now = controller  # for mypy, which would keep controller.activity narrowed to "listening" across the keys
    assert now.activity == "idle"


def test_a_typed_message_gets_an_answer(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    qtbot.keyClicks(w.conversation.message_box, "Good morning, voicedesk")
    qtbot.keyClick(w.conversation.message_box, Qt.Key.Key_Return)
    assert w.conversation.message_box.text() == ""
    qtbot.waitUntil(lambda: "Good morning, voicedesk" in w.conversation.plain_text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(_assistant_texts(app)) == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: _assistant_texts(app)[0] in w.conversation.plain_text(), timeout=WAIT_MS)


def test_a_tool_call_appears_in_the_tool_log_and_inline(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    w.send_text("what is 12 times 7")
    model = w.tool_log.model
    qtbot.waitUntil(lambda: len(model.calls) == 1 and model.calls[0].ok is not None, timeout=WAIT_MS)
    call = model.calls[0]
    assert call.name == "calculator" and call.ok and call.output is not None and "84" in call.output
    assert model.index(0, 5).data() == "ok"
    assert "ms" in str(model.index(0, 4).data())
    w.tool_log.table.selectRow(0)
    assert "84" in w.tool_log.details.toPlainText() and "calculator" in w.tool_log.details.toPlainText()
    conversation = w.conversation
    qtbot.waitUntil(lambda: "⚙ calculator · 84" in conversation.plain_text(), timeout=WAIT_MS)
    assert '"expression"' not in conversation.plain_text(), "a closed chip is one line"
    qtbot.waitUntil(lambda: any("84" in t for t in _assistant_texts(app)), timeout=WAIT_MS)
    # The chip opens on a click to the arguments and the whole result, and closes on the next.
    chip = call_item_id(app)
    assert chip in conversation.shown_ids()

    def click_chip() -> None:
        cursor = QTextCursor(conversation.browser.document())
        cursor.setPosition(conversation._frames[chip].firstPosition() + 3)
        at = conversation.browser.cursorRect(cursor).center()
        qtbot.mouseClick(conversation.browser.viewport(), Qt.MouseButton.LeftButton, pos=at)

    click_chip()
    qtbot.waitUntil(lambda: '"expression"' in conversation.plain_text(), timeout=WAIT_MS)
    assert "Result\n84" in conversation.plain_text()
    click_chip()
    qtbot.waitUntil(lambda: '"expression"' not in conversation.plain_text(), timeout=WAIT_MS)
    assert "Result" not in conversation.plain_text()
    # Each finished turn was announced once: the question, the tool's result, the answer.
    qtbot.waitUntil(lambda: any(a.startswith("Assistant:") for a in conversation.announcements), timeout=WAIT_MS)
    said = conversation.announcements
    assert said.count("You: what is 12 times 7") == 1 and said.count("Tool calculator finished: 84") == 1
    assert len([a for a in said if a.startswith("Assistant:")]) == 1
    assert said.index("You: what is 12 times 7") < said.index("Tool calculator finished: 84")


def call_item_id(app: AppHarness) -> str:
    return next(i.id for i in app.window.history() if i.type == "function_call")


def test_interrupting_mid_answer_silences_it_and_marks_the_cut(
    qtbot: QtBot, make_app: MakeApp, run: Callable[..., Any]
) -> None:
    # Real-time playback (NullSink speed 1.0), answer audio streamed at 4x real time.
    app = make_app(ptt_settings(), LocalServerOptions(audio_pace=4.0, record_audio=False), speed=1.0)
    w = app.window
    controller = app.runtime.controller
    assert controller is not None
    w.send_text("talk for 20 seconds")
    qtbot.waitUntil(lambda: controller.activity == "speaking", timeout=WAIT_MS)
    qtbot.waitUntil(w.controls.interrupt_button.isEnabled, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: (controller.current_audio_heard() or se_zero()).audio_end_ms >= 1200, timeout=WAIT_MS)
    w.activateWindow()
    qtbot.keyClick(w.windowHandle(), Qt.Key.Key_Escape)
    qtbot.waitUntil(app.seen(se.AudioInterrupted), timeout=2000)
    cut = app.of(se.AudioInterrupted)[0]
    assert 1000 <= cut.audio_end_ms < 20000
    assert app.sink.buffered_samples == 0, "playback was flushed at once"
    qtbot.waitUntil(lambda: "interrupted at" in w.conversation.plain_text(), timeout=WAIT_MS)
    assert f"{cut.audio_end_ms / 1000:.1f} s" in w.conversation.plain_text()
    qtbot.waitUntil(lambda: not w.controls.interrupt_button.isEnabled(), timeout=WAIT_MS)
    truncate = [
        e for e in app.events if isinstance(e, se.RawModelEvent) and e.data.get("type") == "conversation.item.truncate"
    ]
    assert truncate and truncate[0].data["audio_end_ms"] == cut.audio_end_ms
    item = next(i for i in w.history() if i.role == "assistant")
    assert item.truncated_ms == cut.audio_end_ms
    assert item.heard_text and item.heard_text in w.conversation.plain_text()


class se_zero:
    audio_end_ms = 0


def test_an_answer_cut_off_by_the_token_limit_says_why_in_the_conversation(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app(ptt_settings(max_output_tokens=20))
    app.window.send_text("talk for 20 seconds")
    qtbot.waitUntil(lambda: "token limit" in app.window.conversation.plain_text(), timeout=WAIT_MS)
    assert "token limit" in app.window.banner.message
