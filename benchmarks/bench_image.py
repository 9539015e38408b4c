"""A screenshot shared → ``conversation.item.create`` sent (target ≤ 300 ms for a 2560×1440 screen).

Xvfb at 2560×1440 shows a screenshot-like picture full screen (flat panels, lines of "text", a photo); the
window's own path then runs as when the person picks Share screen → Whole screen: ``QScreen.grabWindow(0)``,
scaled to 2048×1152 and encoded (voicedesk.app.images' policy), handed to the SessionController, and timed
until the client's send loop has written the event to the socket (the ``on_sent`` hook). The local server
runs in its own process (``voicedesk serve``), as a real service would.

Two encoders on the same capture: Qt (QImage smooth scaling, Qt's JPEG writer: what the window uses) and
Pillow (the QImage's pixels handed to Pillow: what ``ask --image`` uses). Without Xvfb (or with
``--synthetic``) the capture is replaced by the same picture as a QImage, on Qt's offscreen platform.

Run: .venv/bin/python benchmarks/bench_image.py [--runs 21] [--synthetic]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WIDTH, HEIGHT = 2560, 1440


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_xvfb() -> subprocess.Popen[bytes] | None:
    if shutil.which("Xvfb") is None:
        return None
    number = next(n for n in range(150, 250) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    xvfb = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", f"{WIDTH}x{HEIGHT}x24", "-nolisten", "tcp"])
    deadline = time.monotonic() + 20
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if xvfb.poll() is not None or time.monotonic() > deadline:
            return None
        time.sleep(0.05)
    os.environ["DISPLAY"] = f":{number}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return xvfb


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _measure(runs: int, url: str, capture: Callable[[], object]) -> dict[str, dict[str, list[float]]]:
    from PIL import Image
    from PySide6.QtGui import QImage

    from voicedesk.app.images import PillowRaster, prepare
    from voicedesk.audio.filesource import NullSource
    from voicedesk.audio.null import NullSink
    from voicedesk.realtime.endpoint import custom_endpoint
    from voicedesk.realtime.session_config import SessionSettings, TurnDetection
    from voicedesk.session import events as se
    from voicedesk.session.controller import SessionController
    from voicedesk.ui.image_input import QtRaster

    def with_qt(image: QImage) -> object:
        return prepare(QtRaster(image), source="screen")

    def with_pillow(image: QImage) -> object:
        rgb = image.convertToFormat(QImage.Format.Format_RGB888)
        pixels = Image.frombuffer("RGB", (rgb.width(), rgb.height()), bytes(rgb.constBits()), "raw", "RGB",
                                  rgb.bytesPerLine(), 1)  # fmt: skip
        return prepare(PillowRaster(pixels), source="screen")

    settings = SessionSettings(turn_detection=TurnDetection(type="none"))
    controller = SessionController(custom_endpoint(url), settings, source=NullSource(), sink=NullSink())
    controller.raw_events = True
    sent = asyncio.Event()

    def on_event(event: se.SessionEvent) -> None:
        client = isinstance(event, se.RawModelEvent) and event.direction == "client"
        if client and event.data.get("type") == "conversation.item.create":  # type: ignore[union-attr]
            sent.set()

    controller.subscribe(on_event)
    await controller.connect()
    results: dict[str, dict[str, list[float]]] = {}
    try:
        for _ in range(runs):
            for name, encode in (("Qt", with_qt), ("Pillow", with_pillow)):
                sent.clear()
                started = time.perf_counter()
                image = capture()
                captured = time.perf_counter()
                part = encode(image)  # type: ignore[arg-type]
                prepared = time.perf_counter()
                controller.send_text("", [part])  # type: ignore[list-item]
                await sent.wait()
                done = time.perf_counter()
                stages = results.setdefault(name, {"capture": [], "scale + encode": [], "send": [], "total": []})
                stages["capture"].append((captured - started) * 1000)
                stages["scale + encode"].append((prepared - captured) * 1000)
                stages["send"].append((done - prepared) * 1000)
                stages["total"].append((done - started) * 1000)
                await asyncio.sleep(0.05)
            results.setdefault("size", {}).setdefault("bytes", []).append(float(part.size))  # type: ignore[attr-defined]
    finally:
        await controller.disconnect()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--synthetic", action="store_true", help="no Xvfb: a QImage stands in for the capture")
    args = parser.parse_args()
    xvfb = None if args.synthetic else _start_xvfb()
    if xvfb is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "voicedesk.app.serve", "--port", str(port), "--pace", "inf"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()
        import qasync
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QGuiApplication, QImage, QPixmap
        from PySide6.QtWidgets import QApplication, QLabel

        from tests.images import screenshot_like

        app = QApplication(sys.argv[:1])
        pixels = np.ascontiguousarray(screenshot_like(WIDTH, HEIGHT))
        picture = QImage(pixels.data, WIDTH, HEIGHT, WIDTH * 3, QImage.Format.Format_RGB888).copy()
        if xvfb is not None:
            label = QLabel()
            label.setWindowFlag(Qt.WindowType.FramelessWindowHint)
            label.setPixmap(QPixmap.fromImage(picture))
            label.setGeometry(0, 0, WIDTH, HEIGHT)
            label.show()
            screen = QGuiApplication.primaryScreen()

            def capture() -> object:
                return screen.grabWindow(0).toImage()
        else:

            def capture() -> object:
                return picture.copy()

        url = f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"
        with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
            runner.run(asyncio.sleep(0.5))  # the label painted on the X server
            results = runner.run(_measure(args.runs, url, capture))
    finally:
        server.terminate()
        server.wait(10)
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
    where = "Xvfb 2560×1440, QScreen.grabWindow(0)" if xvfb is not None else "synthetic 2560×1440 QImage"
    print(f"screenshot shared → conversation.item.create sent; {where}; {args.runs} runs; ms median / p95")
    for name in ("Qt", "Pillow"):
        stages = results[name]
        row = "  ".join(
            f"{stage} {statistics.median(v):6.1f} / {_percentile(v, 0.95):6.1f}" for stage, v in stages.items()
        )
        print(f"{name:7s} {row}")
    print(f"last image sent: {results['size']['bytes'][-1] / 1000:.0f} KB (2048×1152 JPEG)")


if __name__ == "__main__":
    main()
