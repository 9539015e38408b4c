"""How fast the global push-to-talk shortcut acts, on a real X server (Xvfb):

    python benchmarks/bench_shortcut.py [--presses 20] [--hold 0.3]

voicedesk runs in its own process (tests/desktop/app_under_x.py: the main window with its shortcut, the
embedded local server, a real-time microphone), another X client holds the focus, and the shortcut
(Ctrl+Alt+Space) is pressed ``--presses`` times. Measured, on the one monotonic clock both processes read:

- press → microphone open: from the moment the space key goes down to the session's microphone opening
  (the controller's ``mic_open`` turning true);
- release → commit sent: from the moment it goes up to ``input_audio_buffer.commit`` written to the socket.

Two ways to make the key event: an XTest request from this process (what xdotool sends; the figure is
voicedesk's own), and the ``xdotool`` command itself (its process start included). Targets: 30 ms each.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HELPERS = ROOT / "tests" / "desktop"


class Lines:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                self._queue.put(json.loads(line))

    def wait(self, key: str, value: Any, timeout_s: float = 30.0, *, has: bool = False) -> dict[str, Any]:
        """The next line whose ``key`` is ``value`` (with ``has``: that has ``key`` at all)."""
        deadline = time.monotonic() + timeout_s
        while True:
            event = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            if (key in event) if has else event.get(key) == value:
                return event

    def drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as ready:
        return server, f":{ready.readline().strip()}"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name:<34} median {statistics.median(values):6.2f} ms   p95 {percentile(values, 0.95):6.2f} ms   "
        f"max {max(values):6.2f} ms   (n={len(values)})"
    )


def run(presses: int, hold_s: float) -> None:
    from Xlib import XK, X
    from Xlib.display import Display
    from Xlib.ext import xtest

    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        sys.exit("bench_shortcut needs Xvfb and xdotool (Debian: apt install xvfb xdotool)")
    server, display_name = start_xvfb()
    children: list[subprocess.Popen[str]] = []
    with tempfile.TemporaryDirectory() as home:
        env = {
            **os.environ,
            "DISPLAY": display_name,
            "QT_QPA_PLATFORM": "xcb",
            "PYTHONPATH": str(ROOT),
            "VOICEDESK_CONFIG_DIR": f"{home}/config",
            "VOICEDESK_DATA_DIR": f"{home}/data",
            "VOICEDESK_NO_KEYRING": "1",
        }
        try:
            app = subprocess.Popen(
                [sys.executable, str(HELPERS / "app_under_x.py")],
                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            children.append(app)
            lines = Lines(app)
            lines.wait("ready", None, has=True)
            holder = subprocess.Popen(
                [sys.executable, str(HELPERS / "focus_holder.py")],
                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            children.append(holder)
            assert holder.stdout is not None
            holder.stdout.readline()
            x = Display(display_name)
            codes = [x.keysym_to_keycode(XK.string_to_keysym(k)) for k in ("Control_L", "Alt_L", "space")]

            def key(code: int, down: bool) -> None:
                xtest.fake_input(x, X.KeyPress if down else X.KeyRelease, code)
                x.sync()

            def xdotool(*args: str) -> None:
                subprocess.run(["xdotool", *args], env=env, check=True)

            results: dict[str, list[float]] = {}
            for how in ("xtest", "xdotool"):
                opened, committed = results.setdefault(f"{how}: press", []), results.setdefault(f"{how}: release", [])
                for _ in range(presses):
                    key(codes[0], True)
                    key(codes[1], True)
                    time.sleep(0.05)
                    lines.drain()
                    started = time.monotonic()
                    key(codes[2], True) if how == "xtest" else xdotool("keydown", "space")
                    opened.append((lines.wait("mic", True)["t"] - started) * 1000)
                    time.sleep(hold_s)
                    started = time.monotonic()
                    key(codes[2], False) if how == "xtest" else xdotool("keyup", "space")
                    committed.append((lines.wait("sent", "input_audio_buffer.commit")["t"] - started) * 1000)
                    key(codes[1], False)
                    key(codes[0], False)
                    time.sleep(0.4)  # let the answer start, as between a person's turns
            print(f"global shortcut on Xvfb ({display_name}), {presses} presses each, held {hold_s:.2f} s")
            print("press → microphone open / release → input_audio_buffer.commit sent (target: 30 ms each)")
            for name, values in results.items():
                print(summary(name, values))
        finally:
            for child in children:
                child.terminate()
                child.wait(10)
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--hold", type=float, default=0.3, help="seconds each press is held")
    arguments = parser.parse_args()
    run(arguments.presses, arguments.hold)
