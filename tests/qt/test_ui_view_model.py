"""The view model follows the session (through the real window, local server and controller), the controls
show what it says, and one display clock drives what is redrawn on a schedule."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from pytestqt.qtbot import QtBot

from tests.qt.uikit import WAIT_MS, AppHarness
from tests.signals import speech_like
from voicedesk.audio.base import Levels
from voicedesk.config import AppSettings
from voicedesk.local.server import LocalServerOptions
from voicedesk.realtime.session_config import SessionSettings, TurnDetection
from voicedesk.session import events as se
from voicedesk.session.controller import SessionController
from voicedesk.session.conversation import Item
from voicedesk.ui.controls import TalkControls
from voicedesk.ui.conversation_view import ConversationView
from voicedesk.ui.display_clock import DisplayClock
from voicedesk.ui.ring import Ring
from voicedesk.ui.top_bar import TopBar
from voicedesk.ui.view_model import SessionViewModel

MakeApp = Callable[..., AppHarness]
PROPERTIES = ("connection", "activity", "push_to_talk", "muted", "mic_open", "connected", "can_interrupt")


def expect(vm: SessionViewModel, **wanted: object) -> None:
    """The view model's properties include ``wanted`` (read afresh: mypy would keep them narrowed across
    the events that change them)."""
    state = {name: getattr(vm, name) for name in PROPERTIES}
    assert {name: state[name] for name in wanted} == wanted, f"the view model shows {state}"


class Recorder:
    """Every change signal of a view model, in order, as (property, value)."""

    def __init__(self, vm: SessionViewModel) -> None:
        self.changes: list[tuple[str, object]] = []
        for name in PROPERTIES:
            signal = getattr(vm, f"{name}_changed")
            signal.connect(lambda value, name=name: self.changes.append((name, value)))

    def of(self, name: str) -> list[object]:
        return [value for changed, value in self.changes if changed == name]


def test_the_view_model_follows_push_to_talk_and_disconnect(
    qtbot: QtBot, make_app: MakeApp, run: Callable[..., Any]
) -> None:
    app = make_app(connect=False)
    w = app.window
    vm = w.view_model
    seen = Recorder(vm)
    expect(vm, connection="disconnected", connected=False, push_to_talk=True, mic_open=False)
    run(w.connect_session())
    expect(vm, connection="connected", connected=True, activity="idle")
    assert seen.of("connection") == ["connecting", "connected"] and seen.of("connected") == [True]
    assert w.controls.talk_button.isEnabled() and w.top_bar.connect_button.text() == "Disconnect"

    qtbot.mousePress(w.controls.talk_button, Qt.MouseButton.LeftButton)
    expect(vm, activity="listening", mic_open=True)
    run(app.source.play(speech_like(0.6)))
    qtbot.mouseRelease(w.controls.talk_button, Qt.MouseButton.LeftButton)
    expect(vm, mic_open=False)  # released: the microphone is closed at once
    assert seen.of("mic_open") == [True, False]
    qtbot.waitUntil(lambda: bool(app.of(se.AgentEnd)), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: vm.activity == "idle", timeout=WAIT_MS)
    assert "thinking" in seen.of("activity") and True in seen.of("can_interrupt")
    expect(vm, can_interrupt=False)
    assert not w.controls.interrupt_button.isEnabled()

    w.toggle_connection()
    qtbot.waitUntil(lambda: vm.connection == "disconnected", timeout=WAIT_MS)
    assert seen.of("connected") == [True, False]
    assert w.top_bar.connect_button.text() == "Connect" and not w.controls.talk_button.isEnabled()
    assert w.status.connection_label.text() == "● Disconnected"


def test_mute_in_voice_detection_mode_follows_the_talk_button(qtbot: QtBot, make_app: MakeApp) -> None:
    settings = AppSettings(endpoint="local", session=SessionSettings(turn_detection=TurnDetection(type="server_vad")))
    app = make_app(settings)
    w = app.window
    vm = w.view_model
    expect(vm, push_to_talk=False, muted=False, mic_open=True)
    seen = Recorder(vm)
    button = w.controls.talk_button
    assert button.isCheckable() and w.controls.action_text == "Mute microphone"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    expect(vm, muted=True, mic_open=False)
    assert button.isChecked() and w.controls.action_text == "Unmute microphone"
    w.menus.mute.trigger()  # Session → Mute / unmute (Ctrl+M) does what the button does
    expect(vm, muted=False, mic_open=True)
    w.menus.mute.trigger()
    expect(vm, muted=True, mic_open=False)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    expect(vm, muted=False, mic_open=True)
    assert not button.isChecked()
    assert seen.of("muted") == [True, False, True, False] and seen.of("mic_open") == [False, True, False, True]
    controller = app.runtime.controller
    assert controller is not None and not controller.mic_muted, "the window told the controller"


def test_the_controls_show_a_full_snapshot(qtbot: QtBot) -> None:
    # What the controller reports once it fills StateChanged's push_to_talk, muted and mic_open.
    vm = SessionViewModel()
    controls, top = TalkControls(), TopBar()
    qtbot.addWidget(controls)
    qtbot.addWidget(top)
    controls.follow(vm)
    top.follow(vm)
    assert controls.action_text == "Connect to talk" and not controls.talk_button.isEnabled()
    assert top.connect_button.text() == "Connect"
    vm.on_event(se.StateChanged("connected", "speaking", push_to_talk=True))
    expect(vm, can_interrupt=True)
    assert controls.interrupt_button.isEnabled()
    assert controls.talk_button.isEnabled() and controls.action_text == "Hold to talk"
    assert controls.talk_button.text() == "Hold to talk\nSpace", "what a press does, and its key"
    vm.on_event(se.StateChanged("connected", "idle", push_to_talk=False, muted=True, mic_open=False))
    expect(vm, muted=True, mic_open=False, can_interrupt=False)
    assert not controls.interrupt_button.isEnabled()
    assert controls.talk_button.isChecked() and controls.action_text == "Unmute microphone"
    assert "Ctrl+M" in controls.talk_button.text()
    vm.on_event(se.StateChanged("connected", "listening", push_to_talk=False, muted=False, mic_open=True))
    expect(vm, muted=False, mic_open=True)
    assert not controls.talk_button.isChecked()
    vm.on_event(se.StateChanged("reconnecting", "idle", push_to_talk=False))
    expect(vm, connected=False, connection="reconnecting")
    assert top.connect_button.text() == "Disconnect"
    assert not controls.talk_button.isEnabled()


def test_one_display_clock_drives_the_window(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    repeating = [t for t in w.findChildren(QTimer) if t.isActive() and not t.isSingleShot()]
    assert len(repeating) == 1 and repeating[0].parent() is w.clock
    frames = w.waveform.frames
    w.inspector.add("server", {"type": "response.done"})
    app.source.levels = lambda: Levels(0.5, 0.2)  # type: ignore[method-assign]  # a voice at the microphone
    qtbot.waitUntil(lambda: w.waveform.frames > frames + 3, timeout=WAIT_MS)
    assert w.waveform.history.latest()[0] > 0.0
    w.drawer.toggle_action.trigger()  # the Events pane lives in the drawer, hidden by default
    w.side_tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: "response.done" in w.inspector.visible_types(), timeout=WAIT_MS)


def test_the_clock_calls_each_subscriber_at_its_own_pace(qtbot: QtBot) -> None:
    clock = DisplayClock(fps=30)
    calls: dict[str, int] = {"frame": 0, "quarter": 0}
    clock.every(0, lambda: calls.__setitem__("frame", calls["frame"] + 1))
    stop = clock.every(250, lambda: calls.__setitem__("quarter", calls["quarter"] + 1))
    for _ in range(24):
        clock.tick()
    assert calls == {"frame": 24, "quarter": 3}
    stop()
    for _ in range(24):
        clock.tick()
    assert calls == {"frame": 48, "quarter": 3}


def test_a_ring_keeps_the_newest_in_order_without_copying() -> None:
    ring: Ring[str] = Ring(3)
    for word in ("a", "b", "c", "d", "e"):
        ring.push(word)
    assert list(ring) == ["c", "d", "e"] and ring[0] == "c" and ring[-1] == "e" and ring.dropped == 2
    view = ring.latest()
    assert list(view) == ["c", "d", "e"] and view.base is not None, "a view into the ring"
    ring.drop_oldest()
    assert list(ring) == ["d", "e"] and ring.dropped == 3
    ring.clear()
    assert len(ring) == 0 and list(ring.latest(2)) == [None, None]


def test_a_streamed_answer_appended_in_place_reads_as_if_written_whole(qtbot: QtBot) -> None:
    streamed, whole = ConversationView(), ConversationView()
    for view in (streamed, whole):
        qtbot.addWidget(view)
        view.apply_items([Item("item_a", "message", "assistant", "in_progress", has_audio=True)], complete=False)
    text = "The answer streams in,\nline by line, word by word."
    for end in range(4, len(text) + 1, 5):
        streamed.apply_transcript("item_a", text[:end])
        streamed.refresh()
    streamed.apply_transcript("item_a", text)
    streamed.refresh()
    whole.apply_transcript("item_a", text)
    whole.refresh()
    assert streamed.plain_text() == whole.plain_text()
    # A correction that is not a continuation rewrites the turn.
    streamed.apply_transcript("item_a", "A different answer.")
    streamed.refresh()
    assert "A different answer." in streamed.plain_text() and "streams" not in streamed.plain_text()


def test_the_window_never_reads_the_controller_for_state(
    qtbot: QtBot, make_app: MakeApp, run: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """State reaches the views through session events only; the window just calls the controller."""
    state = {"connection", "activity", "mic_muted", "push_to_talk_mode"}
    reads: list[tuple[str, str]] = []
    getattribute = SessionController.__getattribute__

    def spy(controller: SessionController, name: str) -> Any:
        if name in state:
            caller = sys._getframe(1).f_code.co_filename
            # the runtime moves to the app layer: it is not a view
            if f"{os.sep}ui{os.sep}" in caller and not caller.endswith(("runtime.py", "export.py")):
                reads.append((name, caller))
        return getattribute(controller, name)

    app = make_app(connect=False, options=LocalServerOptions(audio_pace=math.inf, transcripts=["hello"]))
    w = app.window
    monkeypatch.setattr(SessionController, "__getattribute__", spy)
    run(w.connect_session())
    qtbot.mousePress(w.controls.talk_button, Qt.MouseButton.LeftButton)
    run(app.source.play(speech_like(0.5)))
    qtbot.mouseRelease(w.controls.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(app.of(se.AgentEnd)), timeout=WAIT_MS)
    w.send_text("what is 2 times 3")
    qtbot.waitUntil(lambda: len(app.of(se.AgentEnd)) >= 3, timeout=WAIT_MS)
    w.toggle_connection()
    qtbot.waitUntil(lambda: w.view_model.connection == "disconnected", timeout=WAIT_MS)
    monkeypatch.undo()
    assert reads == []
