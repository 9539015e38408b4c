"""Share screen on a real X server: Xvfb at 2560×1440 with another application's window open. The window
(in its own process, on Qt's xcb platform) captures the whole screen and that window, found in the X
server's list; what the local server received is checked as every image path is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.images import check_sent_image

ROOT = Path(__file__).resolve().parents[2]
OTHER_TITLE = "Notes — another application"
OTHER_APP = f"""
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel("some notes to look at")
label.setWindowTitle({OTHER_TITLE!r})
label.resize(700, 500)
label.move(100, 80)
label.show()
app.exec()
"""


def _free_display() -> int:
    for number in range(140, 240):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise RuntimeError("no free X display number")


@pytest.fixture
def xvfb() -> Iterator[str]:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    number = _free_display()
    server = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "2560x1440x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.skip("Xvfb did not start")
            time.sleep(0.05)
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


def _env(display: str) -> dict[str, str]:
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(ROOT)}
    env.pop("WAYLAND_DISPLAY", None)
    return env


def _wait_for_window(display: str, title: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = subprocess.run(
            ["xdotool", "search", "--name", title], env=_env(display), capture_output=True, text=True, check=False
        )
        if found.stdout.strip():
            return
        time.sleep(0.1)
    raise AssertionError(f"the window {title!r} never appeared")


def test_share_the_screen_and_another_applications_window_under_xvfb(xvfb: str, tmp_path: Path) -> None:
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed")
    other = subprocess.Popen([sys.executable, "-c", OTHER_APP], env=_env(xvfb))
    try:
        _wait_for_window(xvfb, OTHER_TITLE)
        out = tmp_path / "probe.json"
        probe = subprocess.run(
            [sys.executable, "-m", "tests.qt.share_probe", str(out), OTHER_TITLE],
            env=_env(xvfb),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert probe.returncode == 0, probe.stderr[-3000:]
    finally:
        other.terminate()
        other.wait(10)
    report = json.loads(out.read_text())
    assert report["platform"] == "xcb"
    assert report["screen_shared"] is True, report["banner"]
    assert OTHER_TITLE in report["windows"] and "voicedesk" not in report["windows"], "its own window is left out"
    assert report["window_shared"] is True
    screen, window = report["created"]
    check_sent_image(screen, 2048, 1152, "image/jpeg")  # 2560×1440 scaled to the long side 2048
    check_sent_image(window, 700, 500)
