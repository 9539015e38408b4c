"""The global shortcut's Qt-free parts: what a shortcut is, X11's auto-repeat, which backend a desktop gets,
and the settings that name them."""

from __future__ import annotations

import pytest

from voicedesk.app.shortcut_keys import (
    HoldState,
    KeyEvent,
    Shortcut,
    ShortcutError,
    choose_backend,
    drop_auto_repeat,
    parse_shortcut,
)
from voicedesk.config import AppSettings


@pytest.mark.parametrize(
    ("text", "modifiers", "key", "keysym", "canonical"),
    [
        ("Ctrl+Alt+Space", {"Ctrl", "Alt"}, "Space", "space", "Ctrl+Alt+Space"),
        ("alt+ctrl+space", {"Ctrl", "Alt"}, "Space", "space", "Ctrl+Alt+Space"),
        ("Meta+F9", {"Meta"}, "F9", "F9", "Meta+F9"),
        ("F13", set(), "F13", "F13", "F13"),
        ("Ctrl+Shift+k", {"Ctrl", "Shift"}, "K", "k", "Ctrl+Shift+K"),
        ("Ctrl+PgDown", {"Ctrl"}, "PgDown", "Next", "Ctrl+PgDown"),
        ("Ctrl++", {"Ctrl"}, "+", "+", "Ctrl++"),
    ],
)
def test_shortcuts_parse_to_modifiers_and_one_key(
    text: str, modifiers: set[str], key: str, keysym: str, canonical: str
) -> None:
    shortcut = parse_shortcut(text)
    assert shortcut == Shortcut(frozenset(modifiers), key)
    assert shortcut.keysym_name == keysym
    assert shortcut.text == canonical


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "no shortcut"),
        ("Ctrl+Alt", "no key"),
        ("Ctrl+K, Ctrl+L", "several keys"),
        ("Hyper+Space", "not a modifier"),
        ("Space", "every other program"),
        ("Shift+A", "every other program"),
    ],
)
def test_a_shortcut_that_cannot_work_is_one_clear_line(text: str, why: str) -> None:
    with pytest.raises(ShortcutError, match=why) as caught:
        parse_shortcut(text)
    assert "\n" not in str(caught.value)


def test_x11_auto_repeat_pairs_are_dropped_and_real_releases_kept() -> None:
    press, release = KeyEvent(True, 1000), KeyEvent(False, 1900)
    repeats = [KeyEvent(False, 1660), KeyEvent(True, 1660), KeyEvent(False, 1700), KeyEvent(True, 1700)]
    assert drop_auto_repeat([press, *repeats, release]) == [press, release]
    # A quick release and press again (different times) are two presses, not a repeat.
    again = [press, KeyEvent(False, 1100), KeyEvent(True, 1180), release]
    assert drop_auto_repeat(again) == again


def test_a_hold_begins_once_and_ends_once() -> None:
    hold = HoldState()
    assert [hold.press(), hold.press(), hold.release(), hold.release()] == [True, False, True, False]


@pytest.mark.parametrize(
    ("qt_platform", "environ", "platform", "backend"),
    [
        ("xcb", {"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}, "linux", "x11"),
        ("wayland", {"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux", "portal"),
        # XWayland: an X11 grab would see keys only while an X11 program has the focus
        ("xcb", {"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux", "portal"),
        ("offscreen", {"DISPLAY": ":0"}, "linux", "none"),
        ("xcb", {}, "linux", "none"),
        ("windows", {}, "win32", "pynput"),
        ("cocoa", {}, "darwin", "pynput"),
    ],
)
def test_the_backend_follows_the_desktop(
    qt_platform: str, environ: dict[str, str], platform: str, backend: str
) -> None:
    assert choose_backend(qt_platform, environ, platform) == backend


def test_the_desktop_settings_round_trip_and_default_sensibly() -> None:
    defaults = AppSettings()
    assert (defaults.global_shortcut, defaults.global_shortcut_enabled) == ("Ctrl+Alt+Space", True)
    assert defaults.keep_in_tray and defaults.mic_sounds
    changed = AppSettings(
        global_shortcut="Meta+F9", global_shortcut_enabled=False, keep_in_tray=False, mic_sounds=False
    )
    again = AppSettings.from_json(changed.to_json())
    assert (again.global_shortcut, again.global_shortcut_enabled, again.keep_in_tray, again.mic_sounds) == (
        "Meta+F9",
        False,
        False,
        False,
    )
    hand_edited = AppSettings.from_json({"keep_in_tray": "yes", "global_shortcut": 5})
    assert hand_edited.keep_in_tray is True and hand_edited.global_shortcut == "Ctrl+Alt+Space"
