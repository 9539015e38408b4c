"""The window on a real X server (run by test_ui_images_x11.py under Xvfb, QT_QPA_PLATFORM=xcb):
connect to the embedded local server, share the whole screen, list the other applications' windows and
share the one titled by the argument; write what the server received as JSON.

    python -m tests.qt.share_probe OUT.json "Window title"
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication

from voicedesk.app import AppRuntime, LocalServerOptions, RuntimeOptions, null_audio
from voicedesk.config import AppSettings
from voicedesk.ui.main_window import MainWindow


async def probe(title: str) -> dict[str, object]:
    options = RuntimeOptions(
        audio_factory=lambda _s, _p: null_audio("probe"),
        local_options=LocalServerOptions(audio_pace=math.inf, record_audio=False),
        journal=False,
    )
    window = MainWindow(AppRuntime(AppSettings(endpoint="local"), options), persist=False)
    window.show()
    await window.start(connect=True)
    report: dict[str, object] = {"platform": QApplication.platformName()}
    try:
        share = window.share_screen
        report["screen_shared"] = share.share_screen()
        windows = share.other_windows() or []
        report["windows"] = [w.title for w in windows]
        chosen = next((w for w in windows if w.title == title), None)
        report["window_shared"] = chosen is not None and share.share_window(chosen)
        server = window.runtime.server
        assert server is not None
        wanted = 1 + bool(report["window_shared"])
        for _ in range(200):
            created = [e for s in server.sessions for e in s.received("conversation.item.create")]
            if len(created) >= wanted:
                break
            await asyncio.sleep(0.05)
        report["created"] = created
        report["banner"] = window.banner.message
    finally:
        await window.shutdown()
    return report


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        report = runner.run(probe(sys.argv[2]))
    Path(sys.argv[1]).write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
