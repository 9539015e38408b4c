"""The Wayland backend's D-Bus conversation with the desktop portal, on a private session bus with a
stand-in portal (tests/desktop/fake_portal.py): the session and the binding through Response signals,
then Activated/Deactivated as press and release; a refused binding and a portal without GlobalShortcuts
are one line each. (No real Wayland desktop runs here: the README says so.)"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.desktop.conftest import JsonLines
from voicedesk.app.shortcut_keys import parse_shortcut
from voicedesk.ui.shortcut_portal import PortalShortcut, preferred_trigger

FAKE_PORTAL = Path(__file__).parents[1] / "desktop" / "fake_portal.py"
WAIT_MS = 15_000


@pytest.fixture
def session_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    daemon_path = shutil.which("dbus-daemon")
    if daemon_path is None:
        pytest.skip("dbus-daemon is not installed (Debian: apt install dbus-daemon)")
    daemon = subprocess.Popen(
        [daemon_path, "--session", "--nofork", "--nopidfile", "--print-address=1"], stdout=subprocess.PIPE, text=True
    )
    assert daemon.stdout is not None
    address = daemon.stdout.readline().strip()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    try:
        yield address
    finally:
        daemon.terminate()
        daemon.wait(10)


@contextlib.contextmanager
def _portal(address: str, *args: str) -> Iterator[JsonLines]:
    process = subprocess.Popen(
        [sys.executable, str(FAKE_PORTAL), address, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    lines = JsonLines(process)
    lines.next(lambda e: e.get("ready") is True)
    try:
        yield lines
    finally:
        process.terminate()
        process.wait(10)


def test_the_trigger_is_in_the_xdg_shortcuts_format() -> None:
    assert preferred_trigger(parse_shortcut("Ctrl+Alt+Space")) == "CTRL+ALT+space"
    assert preferred_trigger(parse_shortcut("Meta+Shift+F9")) == "SHIFT+LOGO+F9"


def test_the_portal_binds_the_shortcut_and_reports_press_and_release(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, session_bus: str
) -> None:
    with _portal(session_bus) as portal:
        backend = PortalShortcut()
        seen: list[str] = []
        backend.pressed.connect(lambda: seen.append("pressed"))
        backend.released.connect(lambda: seen.append("released"))
        backend.start(parse_shortcut("Ctrl+Alt+Space"))
        qtbot.waitUntil(lambda: backend.active, timeout=WAIT_MS)
        assert backend.status == "Press CTRL+ALT+space works in every application (desktop portal)."
        portal.next(lambda e: e.get("call") == "BindShortcuts")
        assert [e["call"] for e in portal.seen if "call" in e] == ["Get", "CreateSession", "BindShortcuts"]
        portal.send("press")
        portal.send("press")  # a second Activated while held changes nothing
        portal.send("release")
        qtbot.waitUntil(lambda: seen == ["pressed", "released"], timeout=WAIT_MS)
        backend.stop()  # the portal's session is closed (the loop must turn for that: no blocking wait)
        qtbot.waitUntil(lambda: any(e.get("call") == "Close" for e in portal.arrived()), timeout=WAIT_MS)


@pytest.mark.parametrize(
    ("option", "status"),
    [
        ("--refuse", "The desktop did not allow the shortcut (its dialog was cancelled): set it again."),
        ("--old", "This desktop offers no global shortcuts to programs (its portal has no GlobalShortcuts)"),
    ],
)
def test_a_portal_that_cannot_give_the_shortcut_says_so_in_one_line(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, session_bus: str, option: str, status: str
) -> None:
    with _portal(session_bus, option):
        backend = PortalShortcut()
        backend.start(parse_shortcut("Ctrl+Alt+Space"))
        qtbot.waitUntil(lambda: bool(backend.status), timeout=WAIT_MS)
        assert backend.status.startswith(status) and "\n" not in backend.status
        assert not backend.active
