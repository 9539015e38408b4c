"""The window's first minutes with a fresh clone: one notice per fact and one way to act on it, a typed message
never thrown away, nothing claiming to listen without a microphone, hints that follow the turn mode, and one
report of an endpoint that was never reached."""

from __future__ import annotations

import dataclasses
import math
import socket
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QAbstractButton
from pytestqt.qtbot import QtBot

from tests.qt.uikit import WAIT_MS, AppHarness, ptt_settings
from voicedesk.app import AudioBackend, null_audio
from voicedesk.audio.filesource import NullSource
from voicedesk.audio.null import NullSink
from voicedesk.config import AppSettings
from voicedesk.realtime.session_config import TurnDetection
from voicedesk.session import events as se
from voicedesk.ui.main_window import MainWindow

MakeApp = Callable[..., AppHarness]


def _visible_buttons(window: MainWindow, text: str) -> list[QAbstractButton]:
    return [b for b in window.findChildren(QAbstractButton) if b.isVisible() and b.text().replace("&", "") == text]


def _no_sound() -> AudioBackend:
    """What the window gets on a machine with no sound device (the null backend, unpaced for the tests)."""
    backend = null_audio("no speaker or headphones were found")
    return dataclasses.replace(backend, sink=NullSink(speed=math.inf))


def test_an_endpoint_that_cannot_be_used_is_one_notice_with_a_way_to_fix_it(qtbot: QtBot, make_app: MakeApp) -> None:
    settings = AppSettings(endpoint="custom", custom_url="not-a-url")  # `voicedesk --url not-a-url`
    app = make_app(settings, connect=False)
    w = app.window
    assert app.runtime.using_local_server
    notice = w.local_notice.text.text()
    assert "not-a-url" in notice and "local server" in notice, notice
    assert "No API key" not in notice, "the key is not what is wrong"
    assert not w.banner.isVisible(), f"a second banner about the same thing: {w.banner.message}"
    assert w.local_notice.action_button.isVisible(), "the notice says what to fix and offers the way"
    w.local_notice.action_button.click()
    dialog = w.settings_dialog
    assert dialog is not None and dialog.isVisible() and dialog.tabs.currentIndex() == 0
    dialog.reject()


def test_the_local_server_notice_does_not_guess_who_chose_it_and_one_settings_button_shows(
    qtbot: QtBot, make_app: MakeApp
) -> None:
    app = make_app(AppSettings(endpoint="local"), connect=False, audio=_no_sound())  # `voicedesk --local`
    w = app.window
    assert w.local_notice.isVisible() and w.audio_notice.isVisible()
    assert "in Settings" not in w.local_notice.message, "it may well have been the command line"
    assert len(_visible_buttons(w, "Settings")) == 1, "the one in the top bar"


def test_a_message_typed_while_disconnected_is_kept_and_sent_on_connect(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app(connect=False)
    w = app.window
    w.conversation.message_box.setText("what time is it")
    w.conversation.send_button.click()
    assert w.conversation.message_box.text() == "what time is it", "the message is kept"
    assert w.banner.isVisible() and "kept" in w.banner.text.text()
    assert w.banner.action_button.text() == "Connect and send"
    w.banner.action_button.click()
    qtbot.waitUntil(
        lambda: any(i.role == "user" and "what time" in i.display_text for i in w.history()), timeout=WAIT_MS
    )
    assert w.conversation.message_box.text() == "", "sent, so the box is free again"
    qtbot.waitUntil(app.seen(se.AgentEnd, lambda e: e.status == "completed"), timeout=WAIT_MS)


def test_without_a_microphone_nothing_says_listening(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app(AppSettings(endpoint="local"), audio=_no_sound())  # voice detection, the default mode
    w = app.window
    qtbot.waitUntil(lambda: w.view_model.connected, timeout=WAIT_MS)
    talk = w.controls.talk_button
    assert "Listening" not in talk.text() and not talk.isEnabled(), talk.text()
    assert "microphone" in talk.text().lower()
    assert w.status.activity_label.text() != "Listening"
    assert "Hold" not in w.conversation.browser.placeholderText()
    w.send_text("hello")
    qtbot.waitUntil(app.seen(se.AgentEnd, lambda e: e.status == "completed"), timeout=WAIT_MS)
    assert w.status.activity_label.text() != "Listening"


def test_the_conversation_hint_follows_the_turn_mode(qtbot: QtBot, make_app: MakeApp, run: Callable[..., Any]) -> None:
    app = make_app(AppSettings(endpoint="local"), connect=False)  # voice detection, the default mode
    w = app.window
    hint = w.conversation.browser.placeholderText()
    assert "Hold" not in hint and "speak" in hint, hint
    push_to_talk = dataclasses.replace(app.runtime.settings)
    push_to_talk.session = dataclasses.replace(push_to_talk.session, turn_detection=TurnDetection(type="none"))
    run(w.apply_settings(push_to_talk))
    qtbot.waitUntil(lambda: "Hold" in w.conversation.browser.placeholderText(), timeout=WAIT_MS)
    assert w.controls.push_to_talk, "the controls follow the new mode before any connect, too"


def test_no_playback_latency_without_a_speaker(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app(audio=_no_sound())
    w = app.window
    w.send_text("hello")
    qtbot.waitUntil(lambda: "ms" in w.status.latency_label.text(), timeout=WAIT_MS)
    assert "played" not in w.status.latency_label.text()


def test_an_endpoint_never_reached_is_reported_once_in_the_right_words(qtbot: QtBot, make_app: MakeApp) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ptt_settings()
    settings.endpoint, settings.custom_url = "custom", f"ws://127.0.0.1:{port}/v1/realtime"
    app = make_app(settings)
    w = app.window
    qtbot.waitUntil(lambda: w.banner.isVisible() and w.banner.level == "error", timeout=WAIT_MS)
    assert len(w.banner.history) == 1, w.banner.history
    assert "lost" not in w.banner.message and "reach" in w.banner.message, w.banner.message
    assert w.banner.action_button.text() == "Retry"
    assert not app.of(se.ErrorOccurred), "nothing was lost: connect()'s answer is the report"
    assert w.voice_visual.state == "error" and w.voice_visual.caption.text() == "Connection problem"
    (said,) = w.banner.announcer.announcements  # a screen reader hears it once, with what to do
    assert said.startswith(f"Error: {w.banner.message}") and "Retry" in said


def test_push_to_talk_without_a_microphone_offers_typing(qtbot: QtBot, make_app: MakeApp) -> None:
    audio = AudioBackend(NullSource(), NullSink(speed=math.inf), None, "no microphone was found")
    app = make_app(ptt_settings(), connect=True, audio=audio)
    w = app.window
    assert not w.controls.talk_button.isEnabled()
    assert "Hold" not in w.conversation.browser.placeholderText()
