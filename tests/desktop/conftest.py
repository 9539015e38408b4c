"""A real X server for the desktop tests: Xvfb on a display number it picks itself (-displayfd), a tray
host (trayer, which owns the system tray selection), another X client holding the focus, and the
voicedesk window in its own process (Qt's xcb platform), driven with xdotool as a person's keys and
mouse would. Each tool that is missing skips the tests that need it, with its name."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WAIT_S = 20.0
Event = dict[str, Any]


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian: apt install {'xvfb' if tool == 'Xvfb' else tool})")
    return path


class JsonLines:
    """A child's JSON lines, read on a thread; ``next`` waits for the next one that matches."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.seen: list[Event] = []
        self._queue: queue.Queue[Event | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                self._queue.put(json.loads(line))
        self._queue.put(None)

    def next(self, predicate: Callable[[Event], bool] = lambda _e: True, timeout_s: float = WAIT_S) -> Event:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                event = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"nothing matching came in {timeout_s} s; seen: {self.seen[-12:]}") from None
            if event is None:
                raise AssertionError(f"the process ended (exit {self.process.wait()}); seen: {self.seen[-12:]}")
            self.seen.append(event)
            if predicate(event):
                return event

    def arrived(self) -> list[Event]:
        """Everything seen so far, without waiting (for a caller that must keep its own loop turning)."""
        while True:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                return self.seen
            if event is not None:
                self.seen.append(event)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()


@dataclass
class XDisplay:
    name: str
    env: dict[str, str]
    children: list[subprocess.Popen[Any]] = field(default_factory=list)

    def start(self, command: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        child: subprocess.Popen[Any] = subprocess.Popen(command, env=self.env, **kwargs)
        self.children.append(child)
        return child

    def xdotool(self, *args: str) -> str:
        result = subprocess.run(
            [_need("xdotool"), *args], env=self.env, capture_output=True, text=True, timeout=30, check=True
        )
        return result.stdout.strip()

    def hold(self, keys: str, seconds: float) -> None:
        """Keys down, ``seconds``, keys up: one xdotool run, no delay between the keys of the chord."""
        self.xdotool("keydown", "--delay", "0", keys, "sleep", f"{seconds:.3f}", "keyup", "--delay", "0", keys)


@pytest.fixture
def x_display(tmp_path: Path) -> Iterator[XDisplay]:
    xvfb = _need("Xvfb")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as ready:  # Xvfb writes the display number once it accepts connections
        number = ready.readline().strip()
    if not number:
        server.kill()
        pytest.skip("Xvfb did not start")
    env = {
        **os.environ,
        "DISPLAY": f":{number}",
        "QT_QPA_PLATFORM": "xcb",
        "PYTHONPATH": str(ROOT),
        "VOICEDESK_CONFIG_DIR": str(tmp_path / "config"),
        "VOICEDESK_DATA_DIR": str(tmp_path / "data"),
        "VOICEDESK_NO_KEYRING": "1",
    }
    for name in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "DBUS_SESSION_BUS_ADDRESS"):
        env.pop(name, None)  # an X11 desktop, and no StatusNotifier host: the tray is trayer's
    display = XDisplay(f":{number}", env)
    try:
        yield display
    finally:
        for child in reversed(display.children):
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        server.terminate()
        server.wait(10)


def _tray_owned(display: str) -> bool:
    from Xlib.display import Display

    connection = Display(display)
    try:
        owner = connection.get_selection_owner(connection.intern_atom("_NET_SYSTEM_TRAY_S0"))
        return bool(owner) and owner != 0
    finally:
        connection.close()


@pytest.fixture
def tray_host(x_display: XDisplay, tmp_path: Path) -> XDisplay:
    trayer = _need("trayer")
    log = tmp_path / "trayer.log"
    deadline = time.monotonic() + WAIT_S
    for _attempt in range(3):
        # Now and then GTK in trayer fails to open a display Xvfb has just opened ("cannot open display"):
        # a tray host that exited at once is started again.
        with log.open("a") as output:
            process = x_display.start(
                [trayer, "--edge", "top", "--align", "right", "--widthtype", "request", "--height", "24"],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        while process.poll() is None and time.monotonic() < deadline:
            if _tray_owned(x_display.name):
                return x_display
            time.sleep(0.05)
    raise AssertionError(f"trayer (exit {process.poll()}) never owned the tray: {log.read_text()[-2000:]}")


def start_app(display: XDisplay, *args: str) -> JsonLines:
    """The voicedesk window in its own process, connected; returns its lines after ``ready``."""
    process = display.start(
        [sys.executable, str(HERE / "app_under_x.py"), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = JsonLines(process)
    lines.next(lambda e: "ready" in e)
    return lines


def start_focus_holder(display: XDisplay, *args: str) -> tuple[JsonLines, int]:
    """Another X client, holding the input focus; returns its lines and its window."""
    process = display.start(
        [sys.executable, str(HERE / "focus_holder.py"), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    lines = JsonLines(process)
    started = lines.next(lambda e: "window" in e)
    return lines, int(started["window"])
