"""``voicedesk`` (the window): Qt's event loop with asyncio running inside it through qasync.

    asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)).run(main())

(Python 3.11's spelling of ``asyncio.run(main(), loop_factory=...)``.) ``main`` builds the runtime and
the window, shows it, and waits until the window has shut down cleanly (disconnect, stop the audio,
flush the journal). ``--smoke`` opens the window, runs one text turn against the embedded local server
with the null audio backend, and exits 0 when the answer completed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import signal
import sys
import time
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from voicedesk import __version__
from voicedesk.app import AppRuntime, LocalServerOptions, RuntimeOptions, null_audio
from voicedesk.config import AppSettings
from voicedesk.session import events as se
from voicedesk.ui import theme
from voicedesk.ui.main_window import MainWindow

log = logging.getLogger(__name__)
SMOKE_TIMEOUT_S = 60.0
SMOKE_MESSAGE = "Hello! Please say something short."
EXIT_OK, EXIT_FAILED = 0, 1


def make_application(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("voicedesk")
    app.setApplicationDisplayName("voicedesk")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("voicedesk")
    app.setDesktopFileName("voicedesk")
    app.setWindowIcon(theme.app_icon())
    theme.apply_theme(app)
    theme.follow_system_theme(app)
    return app


def install_error_handlers(window_getter: Callable[[], MainWindow | None], loop: asyncio.AbstractEventLoop) -> None:
    """Uncaught exceptions (in Qt slots and in asyncio tasks) are logged and shown as a banner."""

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        log.error("uncaught exception:\n%s", "".join(traceback.format_exception(kind, exc, tb)))
        window = window_getter()
        if window is not None:
            window.show_unexpected(exc)

    def loop_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        log.error("asyncio: %s", context.get("message"), exc_info=exc)
        window = window_getter()
        if window is not None and isinstance(exc, Exception):
            window.show_unexpected(exc)

    sys.excepthook = excepthook
    loop.set_exception_handler(loop_handler)


async def _smoke_turn(window: MainWindow) -> int:
    """One typed turn; 0 when the answer completed."""
    finished: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_event(event: se.SessionEvent) -> None:
        if isinstance(event, se.AgentEnd) and not finished.done():
            finished.set_result(event.status)
        elif isinstance(event, se.ErrorOccurred) and event.fatal and not finished.done():
            finished.set_result(f"error: {event.message}")

    window.runtime.subscribe(on_event)
    if not await window.connect_session():
        print("voicedesk --smoke: could not connect to the embedded local server", file=sys.stderr)
        return EXIT_FAILED
    window.conversation.message_box.setText(SMOKE_MESSAGE)
    window.conversation.send_button.click()
    try:
        status = await asyncio.wait_for(finished, SMOKE_TIMEOUT_S)
    except TimeoutError:
        print("voicedesk --smoke: no answer in time", file=sys.stderr)
        return EXIT_FAILED
    await asyncio.sleep(0.3)  # let the answer reach the window
    answer = [i.display_text for i in window.history() if i.role == "assistant"]
    if status != "completed" or not answer:
        print(f"voicedesk --smoke: the answer did not complete ({status})", file=sys.stderr)
        return EXIT_FAILED
    print(f"voicedesk --smoke: ok; the assistant said: {answer[-1]!r}")
    return EXIT_OK


async def _main(
    app: QApplication, settings: AppSettings, connect: bool, smoke: bool, profile: str | None, hidden: bool = False
) -> int:
    started = time.perf_counter()
    if smoke:
        settings = dataclasses.replace(settings, endpoint="local")
        options = RuntimeOptions(
            audio_factory=lambda _s, _p: null_audio("smoke test: the null audio backend"),
            local_options=LocalServerOptions(audio_pace=math.inf, record_audio=False),
            journal=False,
        )
        runtime = AppRuntime(settings, options)
    else:
        runtime = AppRuntime(settings, RuntimeOptions(history="window", profile=profile))
    holder: list[MainWindow] = []
    install_error_handlers(lambda: holder[0] if holder else None, asyncio.get_running_loop())
    window = MainWindow(runtime, persist=not smoke)
    holder.append(window)
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C in the terminal, a logout: close cleanly
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signum, window.desktop.quit)
    if hidden and window.desktop.tray_available:
        log.info("started hidden in the tray")
    else:
        if hidden:
            print("voicedesk: --hidden: this desktop shows no tray icons, so the window opens", file=sys.stderr)
        window.show()
    log.info("window shown %.0f ms after start", (time.perf_counter() - started) * 1000)
    code = EXIT_OK
    await window.start(connect=connect and not smoke)
    if smoke:
        code = await _smoke_turn(window)
        QTimer.singleShot(0, window.desktop.quit)
    await closed.wait()
    return code


def run_app(
    settings: AppSettings, connect: bool = False, smoke: bool = False, profile: str | None = None, hidden: bool = False
) -> int:
    """Open the window and run until it is closed; returns the process exit code."""
    import qasync

    app = make_application()
    app.setQuitOnLastWindowClosed(False)  # main() decides when to stop: after the clean shutdown
    try:
        with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
            return runner.run(_main(app, settings, connect, smoke, profile, hidden))
    except KeyboardInterrupt:
        return EXIT_OK
