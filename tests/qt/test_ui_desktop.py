"""The window's desktop side, offscreen: the global shortcut drives the same push-to-talk path as Space
(a stand-in for the operating system's key hook reports the presses), Settings → Desktop, and the tray
icon's menu and state. The real X11 grab and tray host are tested under Xvfb in tests/desktop."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtGui import QKeySequence
from pytestqt.qtbot import QtBot

from tests.qt.uikit import WAIT_MS, AppHarness, ptt_settings
from tests.signals import speech_like
from voicedesk.app.shortcut_keys import Shortcut
from voicedesk.config import AppSettings
from voicedesk.local.server import LocalServerOptions
from voicedesk.realtime.session_config import SessionSettings, TurnDetection
from voicedesk.ui.global_shortcut import GlobalShortcut
from voicedesk.ui.settings_dialog import SettingsDialog
from voicedesk.ui.shortcut_backend import ShortcutBackend

MakeApp = Callable[..., AppHarness]
EXAMPLE_PROFILES = Path(__file__).parents[2] / "docs" / "examples" / "profiles.toml"


def _result(dialog: SettingsDialog) -> AppSettings | None:
    return dialog.result_settings


class HookStandIn(ShortcutBackend):
    """What an operating system's key hook reports, without the operating system."""

    name = "stand-in"

    def start(self, shortcut: Shortcut) -> None:
        self.activate(shortcut, f"{shortcut.text} works (stand-in)")


def _shortcut(app: AppHarness) -> HookStandIn:
    keys = HookStandIn()
    GlobalShortcut(app.window.controls, keys, app.window).apply(app.runtime.settings)
    assert keys.active
    return keys


def test_the_shortcut_is_push_to_talk_through_the_same_path_as_space(
    qtbot: QtBot, make_app: MakeApp, run: Callable[..., Any]
) -> None:
    app = make_app(options=LocalServerOptions(audio_pace=math.inf, transcripts=["said from another app"]))
    w, controller = app.window, app.runtime.controller
    assert controller is not None
    keys = _shortcut(app)
    w.hide()  # from the tray: the window is not even shown
    keys.key(True)
    keys.key(True)  # the key repeating while held changes nothing
    assert controller.activity == "listening" and w.controls.holding
    run(app.source.play(speech_like(0.8)))
    keys.key(False)
    qtbot.waitUntil(lambda: "said from another app" in w.conversation.plain_text(), timeout=WAIT_MS)
    assert app.sent_types().count("input_audio_buffer.commit") == 1
    # A tap: the rule of the talk button (under 0.1 s of audio is not sent), with its hint.
    keys.key(True)
    keys.key(False)
    qtbot.waitUntil(lambda: "0.1 s" in w.statusBar().currentMessage(), timeout=WAIT_MS)
    assert app.sent_types().count("input_audio_buffer.commit") == 1


def test_with_voice_detection_the_shortcut_mutes_and_unmutes(qtbot: QtBot, make_app: MakeApp) -> None:
    session = SessionSettings(turn_detection=TurnDetection(type="server_vad"))
    app = make_app(AppSettings(endpoint="local", session=session))
    controller = app.runtime.controller
    assert controller is not None

    def microphone() -> tuple[bool, bool]:
        return controller.mic_muted, controller.mic_open

    assert microphone() == (False, True)
    keys = _shortcut(app)
    keys.key(True)
    keys.key(False)
    assert microphone() == (True, False)
    keys.key(True)
    assert microphone() == (False, True)


def test_offscreen_has_no_global_shortcut_and_settings_say_so(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app(connect=False)
    desktop = app.window.desktop
    assert not desktop.shortcut.active
    assert "no global shortcuts" in desktop.shortcut.status
    dialog = app.window.open_settings()
    page = dialog.desktop_tab
    assert page.status_label.text() == desktop.shortcut.status
    assert page.shortcut_text() == "Ctrl+Alt+Space" and page.shortcut_box.isChecked()
    assert "no tray" in " ".join(label.text() for label in page.findChildren(type(page.status_label)))
    dialog.reject()


def test_settings_desktop_page_saves_and_refuses_a_shortcut_that_cannot_work(qtbot: QtBot) -> None:
    dialog = SettingsDialog(ptt_settings())
    qtbot.addWidget(dialog)
    page = dialog.desktop_tab
    page.shortcut_edit.setKeySequence(QKeySequence("Space"))
    dialog.accept()
    assert _result(dialog) is None
    assert "global shortcut" in dialog.error_label.text() and "every other program" in dialog.error_label.text()
    page.shortcut_edit.setKeySequence(QKeySequence("Meta+F9"))
    page.tray_box.setChecked(False)
    page.sounds_box.setChecked(False)
    dialog.accept()
    saved = _result(dialog)
    assert saved is not None
    assert (saved.global_shortcut, saved.global_shortcut_enabled, saved.keep_in_tray, saved.mic_sounds) == (
        "Meta+F9",
        True,
        False,
        False,
    )


def test_applied_settings_catch_the_new_shortcut_or_let_it_go(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app(connect=False)
    keys = HookStandIn()
    shortcut = app.window.desktop.shortcut = GlobalShortcut(app.window.controls, keys, app.window)
    shortcut.apply(app.runtime.settings)
    assert keys.shortcut == Shortcut(frozenset({"Ctrl", "Alt"}), "Space")
    app.runtime.settings.global_shortcut = "Ctrl+Shift+F5"
    app.window.desktop.apply(app.runtime.settings)
    assert keys.shortcut == Shortcut(frozenset({"Ctrl", "Shift"}), "F5")
    app.runtime.settings.global_shortcut_enabled = False
    app.window.desktop.apply(app.runtime.settings)
    assert not keys.active and shortcut.status == "The global shortcut is off."


def test_the_tray_menu_and_icon_follow_the_session(
    qtbot: QtBot, make_app: MakeApp, run: Callable[..., Any], tmp_path: Path
) -> None:
    profiles = Path(shutil.copy(EXAMPLE_PROFILES, tmp_path / "profiles.toml"))
    session = SessionSettings(turn_detection=TurnDetection(type="server_vad"))
    app = make_app(AppSettings(endpoint="local", session=session), profiles=profiles)
    w, tray, controller = app.window, app.window.desktop.tray, app.runtime.controller
    assert controller is not None
    tray.refresh_menu()

    def state() -> str:
        return tray.state

    def muted() -> bool:
        return controller.mic_muted

    assert state() == "listening", "voice detection: the microphone is open"
    assert not tray.interrupt_action.isEnabled(), "nothing to interrupt"
    assert tray.mute_action.isEnabled()
    tray.mute_action.trigger()
    assert muted() and state() == "idle" and "muted" in tray.icon.toolTip()
    tray.mute_action.trigger()
    assert not muted()
    names = [action.text() for action in tray.profiles_menu.actions()]
    assert names == ["Concierge", "Billing"] and tray.profiles_menu.menuAction().isVisible()
    tray.profiles_menu.actions()[1].trigger()
    assert app.runtime.profiles.current == "Billing" and w.profiles_ui.picker.currentText() == "Billing"
    tray.toggle_window()
    assert not w.isVisible() and tray.show_action.text() == "Show voicedesk"
    tray.toggle_window()
    assert w.isVisible() and tray.show_action.text() == "Hide voicedesk"
    w.banner.show_message("Could not connect: refused.", "", "error")
    assert state() == "error"
    w.banner.dismiss()
    assert state() == "listening"


def test_push_to_talk_has_no_tray_mute_and_quit_shuts_the_window_down(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    tray = app.window.desktop.tray
    tray.refresh_menu()
    assert not tray.mute_action.isEnabled(), "push-to-talk: the microphone is closed unless held"
    assert not tray.profiles_menu.menuAction().isVisible(), "one profile: no picker"
    with qtbot.waitSignal(app.window.closed, timeout=WAIT_MS):
        tray.quit_action.trigger()
    assert app.window._closed and app.runtime.controller is not None
    assert app.runtime.controller.connection == "disconnected"
