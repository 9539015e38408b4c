"""The global shortcut and the tray on a real X server (Xvfb): voicedesk in its own process, another X
client holding the focus, keys and clicks from xdotool, the tray from trayer. What is asserted is what went
on the wire (the app's client events, with the audio appended before each commit or clear), in order."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from tests.desktop.conftest import Event, JsonLines, XDisplay, start_app, start_focus_holder

SHORTCUT = "ctrl+alt+space"
END_OF_PRESS = ("input_audio_buffer.commit", "input_audio_buffer.clear")


def _end_of_press(app: JsonLines) -> Event:
    """What the release sent: a commit, or a clear when too little audio was captured. (Each press first
    clears the buffer with nothing in it: that clear is the start, not the end.)"""
    return app.next(lambda e: e.get("sent") in END_OF_PRESS and not (e["sent"].endswith("clear") and not e["audio_ms"]))


def _focus_elsewhere(display: XDisplay) -> JsonLines:
    holder, window = start_focus_holder(display)
    assert int(display.xdotool("getwindowfocus")) == window, "the other program has the focus"
    return holder


def test_holding_the_shortcut_in_another_program_sends_the_turn_and_a_tap_sends_nothing(x_display: XDisplay) -> None:
    app = start_app(x_display)
    holder = _focus_elsewhere(x_display)

    x_display.hold(SHORTCUT, 0.3)
    app.next(lambda e: e.get("mic") is True)
    app.next(lambda e: e.get("mic") is False)
    ended = _end_of_press(app)
    assert ended["sent"] == "input_audio_buffer.commit" and ended["audio_ms"] >= 100, ended
    app.next(lambda e: e.get("sent") == "response.create")
    # The answer played to its end first: a tick is not queued behind an answer (it would sound too late), and
    # on a loaded machine the answer can still be playing when the next press comes.
    _state(app, until=lambda s: s["activity"] == "idle")

    x_display.hold(SHORTCUT, 0.05)  # a tap: the microphone opens and closes, and nothing is committed
    app.next(lambda e: e.get("mic") is True)
    app.next(lambda e: e.get("mic") is False)
    ended = _end_of_press(app)
    assert ended["sent"] == "input_audio_buffer.clear" and 0 < ended["audio_ms"] < 100, ended

    # The focused program saw the modifiers go down, never the space: the grab took it.
    holder.next(lambda e: e.get("key") == "Alt_L" and e["pressed"] is True)
    holder.next(lambda e: e.get("key") == "Alt_L" and e["pressed"] is True)
    assert not [e for e in holder.seen if e.get("key") == "space"]
    ticks = _state(app)["ticks"]
    assert ticks[:2] == ["open", "close"] and ticks.count("open") == 2, "a tick as the microphone opened and closed"


def test_holding_past_the_key_repeat_is_still_one_turn(x_display: XDisplay) -> None:
    """X repeats a held key after 660 ms (Xvfb's default) as release+press pairs: not the person letting go."""
    app = start_app(x_display)
    _focus_elsewhere(x_display)
    x_display.hold(SHORTCUT, 1.3)
    ended = _end_of_press(app)
    assert ended["sent"] == "input_audio_buffer.commit" and ended["audio_ms"] >= 1200, ended
    app.next(lambda e: e.get("sent") == "response.create")
    opened = [e["mic"] for e in app.seen if "mic" in e]
    assert opened == [True, False], "one press, one release"


def test_with_voice_detection_the_shortcut_mutes_and_unmutes(x_display: XDisplay) -> None:
    app = start_app(x_display, "--vad")
    assert [e["mic"] for e in app.seen if "mic" in e] == [True], "voice detection: it streams once connected"
    _focus_elsewhere(x_display)
    x_display.hold(SHORTCUT, 0.1)
    app.next(lambda e: e.get("mic") is False)
    x_display.hold(SHORTCUT, 0.1)
    app.next(lambda e: e.get("mic") is True)
    assert not [e for e in app.seen if e.get("sent") == "input_audio_buffer.commit"], "the server finds the turns"


def test_a_shortcut_another_program_holds_is_said_in_one_line(x_display: XDisplay) -> None:
    holder, _window = start_focus_holder(x_display, "--grab", SHORTCUT)
    assert holder.seen[0]["grabbed"] is True
    app = start_app(x_display)
    ready = app.seen[-1]["ready"]
    assert ready["shortcut_active"] is False
    assert ready["shortcut_status"] == "Ctrl+Alt+Space is taken by another program: choose another shortcut."
    assert ready["connection"] == "connected", "the rest works"


def test_closing_the_window_keeps_the_session_in_the_tray_and_quit_ends_it(tray_host: XDisplay) -> None:
    display = tray_host
    app = start_app(display)
    ready = app.seen[-1]["ready"]
    assert ready["tray_available"] and ready["tray_visible"] and ready["tray_center"] is not None
    _close_window(display, app)
    state = _state(app, until=lambda s: s["window_visible"] is False)
    assert state["connection"] == "connected", state

    display.hold(SHORTCUT, 0.3)  # the session still answers, from the tray
    ended = _end_of_press(app)
    assert ended["sent"] == "input_audio_buffer.commit", ended

    x, y = state["tray_center"]
    display.xdotool("mousemove", str(x), str(y), "click", "3")  # the tray icon's menu
    display.xdotool("sleep", "0.5", "key", "Up", "Return")  # its last entry: Quit voicedesk
    app.next(lambda e: e.get("closed") is True)
    assert app.process.wait(20) == 0


def test_without_a_tray_closing_the_window_quits(x_display: XDisplay) -> None:
    app = start_app(x_display)
    ready = app.seen[-1]["ready"]
    assert ready["tray_available"] is False
    _close_window(x_display, app)
    app.next(lambda e: e.get("closed") is True)
    assert app.process.wait(20) == 0


def _state(app: JsonLines, until: Callable[[Event], bool] = lambda _s: True, tries: int = 100) -> Event:
    """The app's state once ``until`` holds for it (asked every 0.1 s, ``tries`` times at most)."""
    for _ in range(tries):
        app.send("state")
        state: Event = app.next(lambda e: "state" in e)["state"]
        if until(state):
            return state
        time.sleep(0.1)
    raise AssertionError(f"the app never got there: {state}")


def _close_window(display: XDisplay, app: JsonLines) -> None:
    """What a window manager's close button does: WM_DELETE_WINDOW to the window, once it is on the screen
    (Qt can drop a close request that comes before the window's first exposure; no person is that quick).
    On a loaded machine a request has still gone unseen (1 run in about 30): a person whose click did nothing
    clicks again, and so does this, until the window says it got one."""
    window_id = int(_state(app, until=lambda s: s["window_exposed"] and s["waveform_built"])["window_id"])
    for _attempt in range(3):
        _send_delete(display, window_id)
        try:
            app.next(lambda e: e.get("close_requested") is True, timeout_s=5.0)
            return
        except AssertionError:
            continue
    raise AssertionError(f"the window never got a close request: {app.seen[-6:]}")


def _send_delete(display: XDisplay, window_id: int) -> None:
    from Xlib import X, protocol
    from Xlib.display import Display

    connection = Display(display.name)
    try:
        window = connection.create_resource_object("window", window_id)
        message = protocol.event.ClientMessage(
            window=window,
            client_type=connection.intern_atom("WM_PROTOCOLS"),
            data=(32, [connection.intern_atom("WM_DELETE_WINDOW"), X.CurrentTime, 0, 0, 0]),
        )
        window.send_event(message, event_mask=0)
        connection.flush()
    finally:
        connection.close()


def _voicedesk(display: XDisplay, *args: str) -> subprocess.Popen[str]:
    """The real command line, as a person starts it (the embedded local server, whatever sound there is)."""
    return display.start([sys.executable, "-m", "voicedesk", "-v", "--local", *args], stderr=subprocess.PIPE, text=True)


def _log_until(process: subprocess.Popen[str], wanted: str) -> list[str]:
    assert process.stderr is not None
    lines: list[str] = []
    for line in process.stderr:
        lines.append(line)
        if wanted in line:
            return lines
    raise AssertionError(f"voicedesk ended (exit {process.wait()}) without {wanted!r}:\n{''.join(lines)}")


def test_hidden_starts_in_the_tray_and_a_logout_quits_cleanly(tray_host: XDisplay) -> None:
    process = _voicedesk(tray_host, "--hidden")
    _log_until(process, "started hidden in the tray")
    visible = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", "^voicedesk$"], env=tray_host.env, capture_output=True
    )
    assert visible.returncode == 1 and not visible.stdout.strip(), "no window shown"
    process.send_signal(signal.SIGTERM)  # a logout: the session shuts down cleanly, the tray too
    assert process.wait(30) == 0


def test_hidden_without_a_tray_says_so_and_opens_the_window(x_display: XDisplay) -> None:
    process = _voicedesk(x_display, "--hidden")
    lines = _log_until(process, "window shown")
    assert "voicedesk: --hidden: this desktop shows no tray icons, so the window opens\n" in lines
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0


pytestmark = pytest.mark.timeout(90)
