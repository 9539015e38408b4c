"""The desktop window, driven for real: offscreen Qt, asyncio inside Qt's loop, the embedded local
server on loopback, and the file/null audio backends.

How asyncio runs in these tests (the pattern, and why):

* ``qloop`` creates ``qasync.QEventLoop(qapp, already_running=True)``. "Already running" tells qasync
  that Qt's event loop drives it: qasync registers itself as the thread's running asyncio loop at
  once, and its callbacks (timers, socket notifiers, call_soon) are ordinary Qt events.
* So anything that spins Qt's event loop also runs asyncio: ``qtbot.waitUntil``, ``qtbot.wait``,
  ``qtbot.waitSignal``. The tests are plain synchronous pytest-qt tests (no pytest-asyncio): they
  start coroutines with ``run(coro)`` (a task, awaited by spinning Qt until it is done) or let the
  window start them (its ``asyncSlot``/``spawn`` handlers), then wait for what a person would see.
* Teardown shuts the window down cleanly (disconnect, audio, journal, local server), cancels
  leftover tasks, and unregisters the loop, so one test's loop never leaks into the next.

Every client event the window makes the controller send is validated against the ``openai``
package's models (tests/contract.py), as the integration tests do.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.contract import validate_client_event
from tests.qt.uikit import FAST_BACKOFF, WAIT_MS, AppHarness, T, ptt_settings
from voicedesk.app import AppRuntime, AudioBackend, RuntimeOptions
from voicedesk.audio.filesource import FileSource
from voicedesk.audio.null import NullSink
from voicedesk.config import AppSettings
from voicedesk.local.server import LocalRealtimeServer, LocalServerOptions
from voicedesk.session import events as se
from voicedesk.ui.main_window import MainWindow


@pytest.fixture(scope="session")
def _qasync_loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.events._set_running_loop(None)  # registered per test by ``qloop``
    yield loop
    asyncio.events._set_running_loop(loop)
    loop.stop()
    asyncio.events._set_running_loop(None)
    loop.close()


@pytest.fixture
def qloop(qapp: QApplication, _qasync_loop: asyncio.AbstractEventLoop) -> Iterator[asyncio.AbstractEventLoop]:
    """The Qt-driven asyncio loop, running for this test only.

    One loop for the whole session (as the app has one): qasync's ``stop()`` calls ``QApplication.exit()``,
    after which a new loop never runs a callback again in this process. Between tests the loop is
    unregistered as the thread's running loop, so pytest-asyncio tests elsewhere are unaffected.
    """
    loop = _qasync_loop
    asyncio.events._set_running_loop(loop)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        deadline = loop.time() + 3.0
        while any(not t.done() for t in pending) and loop.time() < deadline:
            qapp.processEvents()
        asyncio.events._set_running_loop(None)
        asyncio.set_event_loop(None)


@pytest.fixture
def run(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    """``run(coro, timeout_ms)``: run a coroutine on the Qt-driven loop and return its result."""

    def runner(coro: Coroutine[Any, Any, T], timeout_ms: int = WAIT_MS) -> T:
        task = qloop.create_task(coro)
        qtbot.waitUntil(task.done, timeout=timeout_ms)
        return task.result()

    return runner


@pytest.fixture
def make_app(qtbot: QtBot, run: Callable[..., Any]) -> Iterator[Callable[..., AppHarness]]:
    harnesses: list[AppHarness] = []

    def make(
        settings: AppSettings | None = None,
        options: LocalServerOptions | None = None,
        *,
        speed: float = math.inf,
        connect: bool = True,
        persist: bool = False,
        audio: AudioBackend | None = None,
        history: bool = False,
        tools_dir: Path | None = None,
        profiles: Path | None = None,
        profile: str | None = None,
    ) -> AppHarness:
        settings = settings or ptt_settings()
        options = options or LocalServerOptions(audio_pace=math.inf, record_audio=False)
        source, sink = FileSource(speed=speed), NullSink(speed=speed)
        holder: dict[str, Any] = {}

        def audio_factory(_settings: AppSettings, on_problem: Callable[[Any], None]) -> AudioBackend:
            holder["problem"] = on_problem
            return audio or AudioBackend(source, sink)

        runtime = AppRuntime(
            settings,
            RuntimeOptions(
                audio_factory=audio_factory,
                local_options=options,
                backoff=FAST_BACKOFF,
                history="window" if history else None,
                tools_dir=tools_dir,
                profiles=profiles,
                profile=profile,
            ),
        )
        window = MainWindow(runtime, persist=persist)
        harness = AppHarness(window, runtime, source, sink, options)

        def record(event: se.SessionEvent) -> None:
            harness.events.append(event)
            if isinstance(event, se.RawModelEvent) and event.direction == "client" and runtime.endpoint is not None:
                try:
                    validate_client_event(event.data, runtime.endpoint.protocol)
                except AssertionError as exc:
                    harness.contract_errors.append(str(exc))

        runtime.subscribe(record)
        window.show()
        qtbot.waitExposed(window)
        run(window.start(connect=connect))
        harness.problem = holder.get("problem")
        harnesses.append(harness)
        return harness

    yield make
    for harness in harnesses:  # before pytest-qt would close the window: a clean async shutdown first
        if not harness.window._closed:
            run(harness.window.shutdown())
        harness.window.deleteLater()
    errors = [e for h in harnesses for e in h.contract_errors]
    assert not errors, "client events that do not validate against the openai models:\n" + "\n".join(errors)


@pytest.fixture
def extra_server(run: Callable[..., Any]) -> Iterator[Callable[[LocalServerOptions], LocalRealtimeServer]]:
    """A separate local server (e.g. one that wants an API key) reached through a custom URL."""
    servers: list[LocalRealtimeServer] = []

    def make(options: LocalServerOptions) -> LocalRealtimeServer:
        server = LocalRealtimeServer(options)
        run(server.start())
        servers.append(server)
        return server

    yield make
    for server in servers:
        run(server.stop())
