"""Settings, the API key, errors as banners, device trouble, the local-server notice, persistence."""

from __future__ import annotations

import json
import math
import socket
import sys
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from tests.qt.uikit import WAIT_MS, AppHarness, ptt_settings
from voicedesk.audio.base import AudioProblem
from voicedesk.config import AppSettings, load_settings, settings_path
from voicedesk.local.server import LocalRealtimeServer, LocalServerOptions
from voicedesk.session import events as se
from voicedesk.ui.settings_dialog import SettingsDialog

MakeApp = Callable[..., AppHarness]


def _ok(dialog: SettingsDialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def test_without_a_key_the_window_says_it_uses_the_local_server(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app(AppSettings(endpoint="auto"), connect=False)
    w = app.window
    assert app.runtime.using_local_server
    assert w.local_notice.isVisible()
    assert "No API key" in w.local_notice.text.text()
    assert w.local_notice.action_button.text() == "Enter API key…"
    assert "local" in w.status.usage_label.text()
    w.local_notice.action_button.click()
    dialog = w.settings_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.tabs.currentIndex() == 0
    assert dialog.key_edit.echoMode() == dialog.key_edit.EchoMode.Password
    dialog.reject()


def test_changing_settings_applies_them_live_and_saves_them(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app(persist=True)
    w = app.window
    controller = app.runtime.controller
    assert controller is not None and w.controls.push_to_talk
    dialog = w.open_settings()
    dialog.instructions_edit.setPlainText("Answer like a pirate.")
    dialog.voice_box.setCurrentText("marin")
    dialog.turn_box.setCurrentIndex(dialog.turn_box.findData("server_vad"))
    dialog.silence_spin.setValue(700)
    dialog.tools_tab.on_items["get_time"].setCheckState(Qt.CheckState.Unchecked)
    _ok(dialog)
    qtbot.waitUntil(lambda: controller.settings.instructions == "Answer like a pirate.", timeout=WAIT_MS)
    assert app.runtime.controller is controller, "a model setting does not start a new conversation"
    assert controller.settings.voice == "marin"
    assert controller.settings.turn_detection.type == "server_vad"
    assert controller.settings.turn_detection.silence_duration_ms == 700
    assert "get_time" not in controller.tools
    updates = [e.data for e in app.events if isinstance(e, se.RawModelEvent) and e.data.get("type") == "session.update"]
    assert updates[-1]["session"]["instructions"] == "Answer like a pirate."
    # VAD mode: the talk button now mutes and unmutes.
    qtbot.waitUntil(lambda: w.controls.talk_button.isCheckable(), timeout=WAIT_MS)
    qtbot.mouseClick(w.controls.talk_button, Qt.MouseButton.LeftButton)
    assert controller.mic_muted and w.controls.action_text == "Unmute microphone"
    qtbot.mouseClick(w.controls.talk_button, Qt.MouseButton.LeftButton)
    now = controller  # for mypy, which would keep controller.mic_muted narrowed to True across the click
    assert not now.mic_muted
    saved = json.loads(settings_path().read_text())
    assert saved["session"]["instructions"] == "Answer like a pirate."
    assert "get_time" not in saved["tools"]
    assert "key" not in json.dumps(saved).lower().replace("api_key", "")


def test_invalid_values_are_refused_in_the_dialog(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    dialog = w.open_settings()
    dialog.model_box.setCurrentText("   ")
    _ok(dialog)
    assert dialog.isVisible(), "the dialog stays open"
    assert dialog.error_label.isVisible() and "model name is empty" in dialog.error_label.text()
    dialog.model_box.setCurrentText("gpt-realtime")
    dialog.endpoint_box.setCurrentIndex(dialog.endpoint_box.findData("custom"))
    dialog.custom_url_edit.setText("ftp://nowhere")
    _ok(dialog)
    assert dialog.isVisible() and "websocket URL" in dialog.error_label.text()
    dialog.reject()
    assert app.runtime.settings.endpoint == "local"


def test_a_key_the_keychain_cannot_store_is_reported_then_used_for_this_run(
    qtbot: QtBot, make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voicedesk.config import KeyStoreError

    app = make_app(connect=False)

    def no_keychain(kind: str, key: str | None) -> None:
        raise KeyStoreError("the system keychain is not available (NoKeyringError); set OPENAI_API_KEY instead")

    dialog = SettingsDialog(app.runtime.settings, parent=app.window, save_key=no_keychain)
    dialog.endpoint_box.setCurrentIndex(dialog.endpoint_box.findData("auto"))
    dialog.key_edit.setText("sk-test-1234567890")
    dialog.show()
    _ok(dialog)
    assert dialog.isVisible() and "could not be saved" in dialog.error_label.text()
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    _ok(dialog)
    assert not dialog.isVisible() and dialog.key_changed
    import os

    assert os.environ["OPENAI_API_KEY"] == "sk-test-1234567890"
    monkeypatch.delenv("OPENAI_API_KEY")


def test_a_wrong_key_shows_a_banner(
    qtbot: QtBot,
    make_app: MakeApp,
    extra_server: Callable[[LocalServerOptions], LocalRealtimeServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = extra_server(LocalServerOptions(api_key="sk-right", audio_pace=math.inf))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-000")
    settings = ptt_settings()
    settings.endpoint, settings.custom_url = "custom", server.url
    app = make_app(settings)
    w = app.window
    qtbot.waitUntil(w.banner.isVisible, timeout=WAIT_MS)
    assert w.banner.level == "error"
    assert "refused the API key" in w.banner.text.text()
    assert "sk-wrong-key-000" not in w.banner.text.text()
    assert w.banner.action_button.text() == "Enter API key…"
    assert not w.local_notice.isVisible()
    assert w.top_bar.connect_button.text() == "Connect"


def test_an_unreachable_endpoint_shows_a_banner(qtbot: QtBot, make_app: MakeApp) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ptt_settings()
    settings.endpoint, settings.custom_url = "custom", f"ws://127.0.0.1:{port}/v1/realtime"
    app = make_app(settings)
    w = app.window
    qtbot.waitUntil(lambda: w.banner.isVisible() and "Could not connect" in w.banner.text.text(), timeout=WAIT_MS)
    assert w.banner.action_button.text() == "Retry"
    assert "Traceback" not in w.banner.text.text()


def test_a_device_failure_shows_on_the_sound_notice_and_the_session_goes_on(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    assert app.problem is not None
    app.problem(AudioProblem("Output device 'USB Headset' failed (the stream ended); switching to the default",
                             "USB Headset", recovered=True))  # fmt: skip
    notice = w.audio_notice
    qtbot.waitUntil(notice.isVisible, timeout=WAIT_MS)
    assert notice.level == "warning" and not w.banner.isVisible(), "sound news on the sound notice only"
    assert "USB Headset" in notice.text.text() and "goes on" in notice.text.text()
    assert not notice.action_button.isVisible(), "voicedesk worked around it: nothing to do"
    w.send_text("are you still there")
    qtbot.waitUntil(app.seen(se.AgentEnd, lambda e: e.status == "completed"), timeout=WAIT_MS)
    assert app.runtime.controller is not None and app.runtime.controller.connection == "connected"


def test_a_silent_microphone_is_flagged_until_it_hears_again(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    assert app.problem is not None
    app.problem(AudioProblem("The microphone 'Built-in' records only silence. It may be muted.", "Built-in",
                             recovered=False, cause="silence"))  # fmt: skip
    notice = w.audio_notice
    qtbot.waitUntil(notice.isVisible, timeout=WAIT_MS)
    assert notice.level == "warning" and "Unmute it" in notice.text.text()
    assert notice.action_button.text() == "Audio settings…", "the way to the page that fixes it, not a second Settings"
    notice.action_button.click()
    dialog = w.settings_dialog
    assert dialog is not None and dialog.tabs.tabText(dialog.tabs.currentIndex()) == "Audio"
    dialog.reject()
    app.problem(AudioProblem("The microphone 'Built-in' hears sound again.", "Built-in", cause="silence", cleared=True))
    qtbot.waitUntil(lambda: notice.level == "info", timeout=WAIT_MS)
    assert "hears sound again" in notice.text.text() and notice.isVisible()
    assert not w.banner.isVisible()


def test_server_errors_and_renewals_reach_the_banner(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    app.runtime.emit(se.ErrorOccurred("Rate limit reached", "rate_limited", hint="Wait a moment and try again."))
    assert w.banner.isVisible() and w.banner.level == "warning" and "Wait a moment" in w.banner.text.text()
    w.banner.dismiss()
    app.runtime.emit(se.SessionRenewed("expired", 6, 2))
    w = w  # for mypy, which would keep w.banner.level narrowed to "warning" across the event
    assert w.banner.isVisible() and w.banner.level == "info" and "6 items" in w.banner.text.text()


def test_an_uncaught_exception_becomes_a_banner(qtbot: QtBot, make_app: MakeApp, run: Callable[..., Any]) -> None:
    import asyncio

    from voicedesk.ui.app import install_error_handlers

    app = make_app(connect=False)
    w = app.window
    previous = sys.excepthook
    try:
        install_error_handlers(lambda: w, asyncio.get_running_loop() if False else asyncio.get_event_loop())
        try:
            raise ValueError("a bug in a slot")
        except ValueError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
        assert w.banner.isVisible() and "a bug in a slot" in w.banner.text.text()
        assert "Traceback" not in w.banner.text.text()
    finally:
        sys.excepthook = previous


def test_layout_and_choices_persist_between_runs(qtbot: QtBot, make_app: MakeApp, run: Callable[..., Any]) -> None:
    first = make_app(connect=False, persist=True)
    w = first.window
    w.resize(760, 560)  # within the offscreen screen (800x600)
    assert w.drawer.isHidden(), "the developer drawer is hidden until asked for"
    w.menus.view_menu.actions()[0].trigger()  # View → Tool log and events
    assert w.drawer.isVisible() and w.drawer.toggle_action.isChecked()
    w.side_tabs.setCurrentIndex(1)
    w.inspector.filter_box.setText("response.")
    w.drawer.open_on_tool.setChecked(True)
    qtbot.wait(50)  # let the layout follow the new size and tab
    run(w.shutdown())
    ui = load_settings().ui
    assert ui["drawer_shown"] is True and ui["side_tab"] == 1 and ui["event_filter"] == "response."
    assert ui["drawer_opens_on_tool"] is True
    second = make_app(AppSettings(endpoint="local", ui=ui), connect=False, persist=True)
    w2 = second.window
    qtbot.waitUntil(w2.drawer.isVisible, timeout=WAIT_MS)
    assert w2.side_tabs.currentIndex() == 1
    assert w2.inspector.filter_box.text() == "response."
    assert w2.drawer.open_on_tool.isChecked()
    assert w2.size().width() == 760
    w2.drawer.toggle_action.trigger()  # closed again: remembered closed
    run(w2.shutdown())
    assert load_settings().ui["drawer_shown"] is False


def test_the_status_line_warns_before_the_limit_and_estimates_cost(qtbot: QtBot, make_app: MakeApp) -> None:
    import time

    app = make_app()
    status = app.window.status
    assert status.connection_label.text() == "● Connected"
    status.connected_at = time.monotonic() - 56 * 60
    status.refresh()
    assert status.time_label.property("warning") is True and "60-minute limit" in status.time_label.text()
    status.local, status.model = False, "gpt-realtime"
    details = {"output_token_details": {"text_tokens": 0, "audio_tokens": 1000}}
    status.apply_event(se.UsageReported("resp_1", 0, 1000, 1000, details))
    assert "1,000 tokens" in status.usage_label.text()
    assert "$0.0640 (estimate)" in status.usage_label.text()


def test_closing_the_window_shuts_the_session_down_cleanly(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    controller, server = app.runtime.controller, app.runtime.server
    assert controller is not None and server is not None and controller.journal_path is not None
    w.send_text("hello")
    qtbot.waitUntil(app.seen(se.AgentEnd), timeout=WAIT_MS)
    journal = controller.journal_path
    w.close()  # asynchronous: the window stays until the session is down
    qtbot.waitUntil(lambda: w._closed, timeout=WAIT_MS)
    assert not w.isVisible()
    now = controller  # for mypy, which would keep controller.journal_path narrowed to Path across the close
    assert now.connection == "disconnected" and now.journal_path is None
    assert app.runtime.server is None, "the embedded server was stopped"
    assert journal is not None and "hello" in journal.read_text()


def test_device_choices_switch_the_engine_live(qtbot: QtBot, make_app: MakeApp, run: Callable[..., Any]) -> None:
    import dataclasses

    class EngineDouble:  # stands in for voicedesk.audio.engine.AudioEngine (no sound card here)
        def __init__(self) -> None:
            self.calls: list[tuple[str, object]] = []

        async def switch_input(self, name: str | None) -> None:
            self.calls.append(("input", name))

        async def switch_output(self, name: str | None) -> None:
            self.calls.append(("output", name))

        def set_echo_mode(self, mode: str) -> None:
            self.calls.append(("echo", mode))

        def set_noise_suppression(self, on: bool) -> None:
            self.calls.append(("noise", on))

        async def stop(self) -> None:
            pass

    app = make_app()
    assert app.runtime.audio is not None
    engine = EngineDouble()
    app.runtime.audio.engine = engine
    controller = app.runtime.controller
    new = dataclasses.replace(
        app.runtime.settings, input_device="USB Mic", output_device="Headphones", echo="off", noise_suppression=True
    )
    run(app.window.apply_settings(new))
    assert engine.calls == [("input", "USB Mic"), ("output", "Headphones"), ("echo", "off"), ("noise", True)]
    assert app.runtime.controller is controller and controller is not None and controller.connection == "connected"
