"""The real window on a real X display, for the desktop tests and the shortcut benchmark: the main window
(with its global shortcut and tray icon) over the embedded local server, a microphone that delivers
silence in real time (FileSource at speed 1), and a null speaker.

    DISPLAY=:N QT_QPA_PLATFORM=xcb python tests/desktop/app_under_x.py [--vad] [--shortcut KEYS]

It prints one JSON object per line on stdout, flushed at once:
    {"ready": {...}}                  connected, the shortcut's status, the tray's place on the screen
    {"mic": true|false, "t": ...}     the microphone opened/closed (time.monotonic(), as the benchmark reads)
    {"sent": TYPE, "t": ..., "audio_ms": N}   each client event; audio_ms: audio appended since the last
                                      commit or clear, on commits and clears
    {"state": {...}}                  answers to "state" on stdin (connection, window visible, tray)
    {"closed": true}                  the window shut down (Quit); the process then exits 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEvent, QObject  # noqa: E402

from voicedesk.app import AppRuntime, AudioBackend, RuntimeOptions  # noqa: E402
from voicedesk.audio.filesource import FileSource  # noqa: E402
from voicedesk.audio.null import NullSink  # noqa: E402
from voicedesk.config import AppSettings  # noqa: E402
from voicedesk.local.server import LocalServerOptions  # noqa: E402
from voicedesk.realtime.session_config import SessionSettings, TurnDetection  # noqa: E402
from voicedesk.session import events as se  # noqa: E402
from voicedesk.ui.app import make_application  # noqa: E402
from voicedesk.ui.main_window import MainWindow  # noqa: E402

BYTES_PER_MS = 48  # 24 kHz pcm16


def say(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


class Reporter:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.appended_ms = 0
        self.mic_open = False

    def on_event(self, event: se.SessionEvent) -> None:
        now = time.monotonic()
        if isinstance(event, se.StateChanged) and event.mic_open != self.mic_open:
            self.mic_open = event.mic_open
            say(mic=event.mic_open, t=now)
        elif isinstance(event, se.RawModelEvent) and event.direction == "client":
            kind = str(event.data.get("type"))
            if kind == "input_audio_buffer.append":
                audio = str(event.data.get("audio", ""))
                self.appended_ms += int(audio.strip("<").split(" ")[0]) // BYTES_PER_MS if audio[:1] == "<" else 0
                return
            fields: dict[str, Any] = {"sent": kind, "t": now}
            if kind in ("input_audio_buffer.commit", "input_audio_buffer.clear"):
                fields["audio_ms"], self.appended_ms = self.appended_ms, 0
            say(**fields)

    def state(self) -> dict[str, Any]:
        desktop = self.window.desktop
        handle = self.window.windowHandle()
        geometry = desktop.tray.icon.geometry()
        return {
            "connection": self.window.view_model.connection,
            "activity": self.window.view_model.activity,
            "window_id": int(self.window.winId()),
            "window_visible": self.window.isVisible(),
            "window_exposed": handle is not None and handle.isExposed(),
            "waveform_built": self.window.waveform._plot is not None,
            "tray_available": desktop.tray_available,
            "tray_visible": desktop.tray.icon.isVisible(),
            "tray_state": desktop.tray.state,
            "tray_center": [geometry.center().x(), geometry.center().y()] if geometry.isValid() else None,
            "shortcut_active": desktop.shortcut.active,
            "shortcut_status": desktop.shortcut.status,
            "ticks": desktop.cues.played,
        }


class CloseSeen(QObject):
    """Says when the window gets a close request (so a test that waits for the quit can tell why not)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close:
            say(close_requested=True, t=time.monotonic())
        return False


async def main(args: argparse.Namespace) -> int:
    turn = TurnDetection(type="server_vad") if args.vad else TurnDetection(type="none")
    settings = AppSettings(
        endpoint="local", session=SessionSettings(turn_detection=turn), global_shortcut=args.shortcut
    )
    source, sink = FileSource(speed=1.0), NullSink(speed=1.0)
    runtime = AppRuntime(
        settings,
        RuntimeOptions(
            audio_factory=lambda _s, _p: AudioBackend(source, sink),
            local_options=LocalServerOptions(audio_pace=math.inf, record_audio=False),
            journal=False,
        ),
    )
    window = MainWindow(runtime, persist=False)
    reporter = Reporter(window)
    close_seen = CloseSeen(window)
    window.installEventFilter(close_seen)
    runtime.subscribe(reporter.on_event)
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    window.show()
    await window.start(connect=True)
    loop = asyncio.get_running_loop()

    def command() -> None:
        line = sys.stdin.readline()
        if not line:
            loop.remove_reader(sys.stdin.fileno())
        elif line.strip() == "state":
            say(state=reporter.state())
        elif line.strip() == "quit":
            window.desktop.quit()

    loop.add_reader(sys.stdin.fileno(), command)
    say(ready=reporter.state())
    await closed.wait()
    say(closed=True)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--vad", action="store_true", help="server VAD: the shortcut mutes and unmutes")
    parser.add_argument("--shortcut", default="Ctrl+Alt+Space")
    arguments = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    import qasync

    application = make_application()
    application.setQuitOnLastWindowClosed(False)
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(application)) as runner:
        sys.exit(runner.run(main(arguments)))
