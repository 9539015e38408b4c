"""Start the real window on an X display (Xvfb), play a scripted conversation against the embedded local
server, and save PNG screenshots of the window as a person would see it: idle, answering after a tool call,
interrupted and an endpoint that cannot be reached, at 1400x900 and 800x600, as
docs/screenshots/{idle,answering,interrupted,error}-WxH[-dark].png, plus the Settings dialog.

    packaging/screenshots.sh                 # runs this under Xvfb for the light and the dark look
    python packaging/screenshots.py --out docs/screenshots --theme light   # on any X display

Audio: a FileSource plays speech-like audio into push-to-talk as a microphone would, and a NullSink
plays the answers in real time, so the waveform, the activity indicator and the interrupt button
behave as with a sound card. Nothing here needs a key or a network.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from voicedesk.app import AppRuntime, AudioBackend, RuntimeOptions  # noqa: E402
from voicedesk.audio.base import SAMPLE_RATE, Pcm16  # noqa: E402
from voicedesk.audio.filesource import FileSource  # noqa: E402
from voicedesk.audio.null import NullSink  # noqa: E402
from voicedesk.config import AppSettings  # noqa: E402
from voicedesk.local.server import LocalServerOptions  # noqa: E402
from voicedesk.realtime.session_config import SessionSettings, TurnDetection  # noqa: E402
from voicedesk.session import events as se  # noqa: E402
from voicedesk.ui.app import make_application  # noqa: E402
from voicedesk.ui.main_window import MainWindow  # noqa: E402

SPOKEN = "Hi there! Could you help me plan a picnic for Saturday?"


def speech_like(seconds: float, level: float = 0.35) -> Pcm16:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    phase = 2 * np.pi * np.cumsum(140 + 20 * np.sin(2 * np.pi * 0.7 * t)) / SAMPLE_RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 6))
    signal = voice * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t))
    return (signal / float(np.max(np.abs(signal))) * level * 32767).astype(np.int16)


async def until(predicate: object, within_s: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not predicate():  # type: ignore[operator]
        if loop.time() > deadline:
            raise TimeoutError("the scripted conversation got stuck")
        await asyncio.sleep(0.02)


async def save(window: MainWindow, out: Path, name: str) -> Path:
    await asyncio.sleep(0.15)  # let Qt paint (never processEvents() inside a task: it re-enters the loop)
    screen = window.screen()
    geometry = window.frameGeometry()
    shot = screen.grabWindow(0, geometry.x(), geometry.y(), geometry.width(), geometry.height())
    if shot.isNull():  # a platform without screen grabs: render the widget tree instead
        shot = window.grab()
    path = out / name
    shot.save(str(path))
    print(path)
    return path


SIZES = ((1400, 900), (800, 600))


def _runtime(settings: AppSettings, source: FileSource, sink: NullSink) -> AppRuntime:
    options = RuntimeOptions(
        audio_factory=lambda _s, _p: AudioBackend(source, sink),
        local_options=LocalServerOptions(audio_pace=1.5, transcripts=[SPOKEN], record_audio=False),
        journal=False,
        recordings_dir=Path(tempfile.mkdtemp(prefix="voicedesk-shots-")),
    )
    return AppRuntime(settings, options)


async def _open(runtime: AppRuntime, size: tuple[int, int], connect: bool) -> MainWindow:
    window = MainWindow(runtime, persist=False)
    window.resize(*size)
    window.move(0, 0)
    window.show()
    await window.start(connect=connect)
    return window


async def conversation(out: Path, size: tuple[int, int], suffix: str) -> None:
    """Idle, answering after a tool call, interrupted (the drawer open on the larger size)."""
    source, sink = FileSource(speed=1.0), NullSink(speed=1.0)
    settings = AppSettings(
        endpoint="auto",  # no key: the window says it uses the local server
        session=SessionSettings(turn_detection=TurnDetection(type="none"), instructions="Be brief and friendly."),
    )
    window = await _open(_runtime(settings, source, sink), size, connect=True)
    tag = f"{size[0]}x{size[1]}{suffix}"
    controller = window.runtime.controller
    assert controller is not None
    ended: list[se.AgentEnd] = []
    window.runtime.subscribe(lambda e: ended.append(e) if isinstance(e, se.AgentEnd) else None)
    await save(window, out, f"idle-{tag}.png")

    # 1. Push-to-talk: hold the button while the "microphone" speaks.
    QTest.mousePress(window.controls.talk_button, Qt.MouseButton.LeftButton)
    await source.play(speech_like(1.8))
    QTest.mouseRelease(window.controls.talk_button, Qt.MouseButton.LeftButton)
    await until(lambda: len(ended) >= 1)
    await until(lambda: controller.activity == "idle")

    # 2. A typed question that makes the model call a tool; the answer is spoken.
    QTest.keyClicks(window.conversation.message_box, "what is 12 times 7")
    QTest.keyClick(window.conversation.message_box, Qt.Key.Key_Return)
    await until(lambda: len(ended) >= 2 and controller.activity == "speaking")
    await asyncio.sleep(0.6)  # a few words into the answer
    await save(window, out, f"answering-{tag}.png")
    await until(lambda: controller.activity == "idle")

    # 3. A long answer, cut with Esc; on the large window with the developer drawer open on the events.
    window.send_text("talk for 20 seconds")
    await until(lambda: (controller.current_audio_heard() or _Nothing()).audio_end_ms > 3500)
    window.activateWindow()
    # Esc as the platform delivers it; from a Qt timer, not inside this task (delivery spins Qt's loop).
    QTimer.singleShot(0, lambda: QTest.keyClick(window.windowHandle(), Qt.Key.Key_Escape))
    await until(lambda: controller.activity == "idle")
    if size[0] >= 1200:
        window.drawer.show()
        window.side_tabs.setCurrentIndex(1)
        window.inspector.filter_box.setText("response.")
        await asyncio.sleep(0.6)
    await save(window, out, f"interrupted-{tag}.png")
    if size[0] >= 1200:
        dialog = window.open_settings("turns")
        await asyncio.sleep(0.3)
        path = out / f"settings{suffix}.png"
        dialog.grab().save(str(path))
        print(path)
        dialog.reject()
    await window.shutdown()


async def unreachable(out: Path, size: tuple[int, int], suffix: str) -> None:
    """An endpoint that refuses the connection: the error as a person sees it."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = AppSettings(endpoint="custom", custom_url=f"ws://127.0.0.1:{port}/v1/realtime")
    window = await _open(_runtime(settings, FileSource(speed=1.0), NullSink(speed=1.0)), size, connect=False)
    await window.connect_session()
    await save(window, out, f"error-{size[0]}x{size[1]}{suffix}.png")
    await window.shutdown()


class _Nothing:
    audio_end_ms = 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    args = parser.parse_args()
    os.environ["VOICEDESK_THEME"] = args.theme
    os.environ.setdefault("VOICEDESK_NO_KEYRING", "1")
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"):
        os.environ.pop(name, None)
    tmp = Path(tempfile.mkdtemp(prefix="voicedesk-shots-cfg-"))
    os.environ["VOICEDESK_CONFIG_DIR"], os.environ["VOICEDESK_DATA_DIR"] = str(tmp / "config"), str(tmp / "data")
    args.out.mkdir(parents=True, exist_ok=True)
    import qasync

    app = make_application()
    suffix = "" if args.theme == "light" else "-dark"
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        for size in SIZES:
            runner.run(asyncio.wait_for(conversation(args.out, size, suffix), 120))
            runner.run(asyncio.wait_for(unreachable(args.out, size, suffix), 60))
    return 0


if __name__ == "__main__":
    del math
    raise SystemExit(main())
