"""SessionRuntime: everything behind the window that is not Qt.

It turns AppSettings into a running session the way ``voicedesk ask`` does: resolve the endpoint (no
key -> start the embedded local server on loopback, in-process), open the audio engine (or fall back
to the null backend when the machine has no usable sound devices), build the SessionController, and
record both sides' audio for export. The window holds one runtime and calls the controller it
exposes; the runtime reports controller events, device problems and its own notices to its listeners
as ``voicedesk.session.events`` values. No Qt here: this module is plain asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voicedesk.audio.base import SAMPLE_RATE, AudioProblem, AudioSink, AudioSource, BlockCallback, Levels, Pcm16
from voicedesk.audio.filesource import NullSource
from voicedesk.audio.null import NullSink
from voicedesk.config import AppSettings, ConfigError, data_dir, resolve_endpoint
from voicedesk.local.server import LocalRealtimeServer, LocalServerOptions
from voicedesk.realtime.client import Backoff
from voicedesk.realtime.endpoint import Endpoint, EndpointError, custom_endpoint
from voicedesk.session import events as se
from voicedesk.session.controller import SessionController
from voicedesk.tools.builtins import default_registry
from voicedesk.tools.registry import ToolRegistry

log = logging.getLogger(__name__)

Listener = Callable[[se.SessionEvent], None]
ProblemHandler = Callable[[AudioProblem], None]
RECENT_EVENTS = 5000


# ---------------------------------------------------------------------- audio backends


@dataclass
class AudioBackend:
    source: AudioSource
    sink: AudioSink
    engine: Any = None
    """The voicedesk.audio.engine.AudioEngine when real devices are in use, else None."""
    fallback_reason: str | None = None
    """Why the null backend is used (shown in the window), None on real devices."""

    @property
    def has_devices(self) -> bool:
        return self.engine is not None


AudioFactory = Callable[[AppSettings, ProblemHandler], AudioBackend]


def null_audio(reason: str = "no audio devices") -> AudioBackend:
    return AudioBackend(NullSource(), NullSink(speed=1.0), None, reason)


def device_audio(settings: AppSettings, on_problem: ProblemHandler) -> AudioBackend:
    """The real-device engine, or the null backend (with the reason) when it cannot work here."""
    try:
        from voicedesk.audio.devices import list_devices
        from voicedesk.audio.engine import AudioEngine
    except (ImportError, OSError) as exc:  # sounddevice without a PortAudio library
        return null_audio(f"audio is unavailable on this machine ({exc})")
    try:
        inputs, outputs = list_devices("input"), list_devices("output")
    except Exception as exc:  # PortAudio errors of any kind
        return null_audio(f"cannot list audio devices ({exc})")
    if not outputs:
        return null_audio("no speaker or headphones were found")
    try:
        engine = AudioEngine(settings.input_device, settings.output_device, settings.echo, on_problem=on_problem)
    except Exception as exc:
        log.warning("the audio engine could not start: %s", exc)
        return null_audio(f"the audio engine could not start ({exc})")
    if not inputs:
        return AudioBackend(NullSource(), engine.sink, engine, "no microphone was found")
    return AudioBackend(engine.source, engine.sink, engine, None)


def available_devices() -> tuple[list[str], list[str]]:
    """Input and output device names, empty lists when audio is unavailable."""
    try:
        from voicedesk.audio.devices import list_devices

        return [d.name for d in list_devices("input")], [d.name for d in list_devices("output")]
    except Exception:
        return [], []


class TapSource:
    """An AudioSource that shows each block to ``tap`` after the controller has taken it."""

    def __init__(self, inner: AudioSource, tap: BlockCallback) -> None:
        self.inner = inner
        self._tap = tap

    async def start(self, on_block: BlockCallback) -> None:
        def both(pcm: Pcm16) -> None:
            on_block(pcm)
            self._tap(pcm)

        await self.inner.start(both)

    async def stop(self) -> None:
        await self.inner.stop()

    def levels(self) -> Levels:
        return self.inner.levels()


def test_tone(seconds: float = 0.6, frequency: float = 440.0, level: float = 0.25) -> Pcm16:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.02)
    return (np.sin(2 * np.pi * frequency * t) * fade * level * 32767).astype(np.int16)


# ---------------------------------------------------------------------- the runtime


def _endpoint_key(endpoint: Endpoint | None) -> tuple[Any, ...] | None:
    if endpoint is None:
        return None
    return (endpoint.kind, endpoint.url, endpoint.protocol, tuple(sorted(endpoint.headers.items())))


class SessionRuntime:
    def __init__(
        self,
        settings: AppSettings,
        *,
        audio_factory: AudioFactory = device_audio,
        local_options: LocalServerOptions | None = None,
        backoff: Backoff | None = None,
        recordings_dir: Path | None = None,
        journal: bool = True,
    ) -> None:
        self.settings = settings
        self._audio_factory = audio_factory
        self.local_options = local_options or LocalServerOptions(record_audio=False)
        self._backoff = backoff
        self._journal = journal
        self._listeners: list[Listener] = []
        self.controller: SessionController | None = None
        self.audio: AudioBackend | None = None
        self.server: LocalRealtimeServer | None = None
        self.endpoint: Endpoint | None = None
        self.endpoint_reason = ""
        self.config_problem: str | None = None
        self.recent_events: deque[dict[str, Any]] = deque(maxlen=RECENT_EVENTS)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.recorder_dir = recordings_dir or data_dir() / "recordings" / stamp
        from voicedesk.ui.export import AudioRecorder  # no Qt there either

        self.recorder = AudioRecorder(self.recorder_dir)
        self._unsubscribe: Callable[[], None] | None = None
        self._t0 = time.monotonic()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ listeners

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, event: se.SessionEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("runtime listener failed on %s", event.kind)

    def _on_controller_event(self, event: se.SessionEvent) -> None:
        if isinstance(event, se.RawModelEvent):
            self.recent_events.append(
                {"t": round(time.monotonic() - self._t0, 4), "direction": event.direction, "event": event.data}
            )
        elif isinstance(event, se.AudioChunk):
            self._record(self.recorder.record_assistant, event.pcm)
        self.emit(event)

    def _on_audio_problem(self, problem: AudioProblem) -> None:
        """The engine's ``on_problem``: through the controller (as ``ask --mic`` does), or straight to the
        listeners before a controller exists. From a PortAudio thread it hops onto the loop first."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._on_audio_problem, problem)
            return
        if self.controller is not None:
            self.controller.report_audio_problem(problem)
        else:
            self.emit(se.AudioDeviceProblem.of(problem))

    def _on_mic_block(self, pcm: Pcm16) -> None:
        if self.mic_open:
            self._record(self.recorder.record_mic, pcm)

    def _record(self, write: Callable[[Pcm16], None], pcm: Pcm16) -> None:
        try:
            write(pcm)
        except OSError as exc:  # a full disk must not stop the conversation
            self.recorder.enabled = False
            self.emit(se.ErrorOccurred(f"Recording stopped: {exc}", "recording_failed", hint="Free some disk space."))

    # ------------------------------------------------------------------ state

    @property
    def using_local_server(self) -> bool:
        return self.endpoint is not None and self.endpoint.kind == "local"

    @property
    def mic_open(self) -> bool:
        c = self.controller
        if c is None or c.connection != "connected":
            return False
        if c.push_to_talk_mode:
            return c.activity == "listening"
        return not c.mic_muted

    def tool_registry(self, names: list[str]) -> ToolRegistry:
        registry = default_registry()
        return registry.subset([n for n in names if n in registry])

    # ------------------------------------------------------------------ lifecycle

    async def prepare(self) -> None:
        """Resolve the endpoint, start the local server when needed, open audio, build the controller.
        A configuration that cannot work is reported as an error and the local server is used instead."""
        self._loop = asyncio.get_running_loop()
        self.config_problem = None
        endpoint: Endpoint | None
        try:
            resolved = resolve_endpoint(self.settings)
            endpoint, self.endpoint_reason = resolved.endpoint, resolved.reason
        except (ConfigError, EndpointError) as exc:
            self.config_problem = str(exc)
            endpoint, self.endpoint_reason = None, f"the settings cannot be used ({exc}), so the local server runs"
            self.emit(se.ErrorOccurred(f"Cannot use the configured endpoint: {exc}", "config", hint="Open Settings."))
        if endpoint is None:
            if self.server is None:
                self.server = LocalRealtimeServer(self.local_options)
                await self.server.start()
            endpoint = custom_endpoint(self.server.url, protocol=None, kind="local")
        elif self.server is not None:
            await self.server.stop()
            self.server = None
        self.endpoint = endpoint
        if self.audio is None:
            self.audio = self._audio_factory(self.settings, self._on_audio_problem)
        self._build_controller(endpoint)

    def _build_controller(self, endpoint: Endpoint) -> None:
        assert self.audio is not None
        if self._unsubscribe is not None:
            self._unsubscribe()
        controller = SessionController(
            endpoint,
            self.settings.session,
            source=TapSource(self.audio.source, self._on_mic_block),
            sink=self.audio.sink,
            tools=self.tool_registry(self.settings.tools),
            journal_dir=data_dir() / "journal" if self._journal else None,
            session_timeout_s=self.settings.session_timeout_s,
            backoff=self._backoff,
        )
        controller.raw_events = True
        self._unsubscribe = controller.subscribe(self._on_controller_event)
        self.controller = controller

    async def connect(self) -> None:
        """Connect the session; raises ConnectFailed (AuthenticationFailed, EndpointUnreachable)."""
        if self.controller is None:
            await self.prepare()
        assert self.controller is not None
        await self.controller.connect()

    async def disconnect(self) -> None:
        if self.controller is not None:
            await self.controller.disconnect()

    async def apply_settings(self, new: AppSettings) -> bool:
        """Apply settings live where possible. Returns True when the session was rebuilt (a new endpoint,
        key or model), which starts a new conversation; a connected session reconnects."""
        new.session.validate()
        old, self.settings = self.settings, new
        engine = self.audio.engine if self.audio is not None else None
        if engine is not None:
            if new.input_device != old.input_device:
                await engine.switch_input(new.input_device)
            if new.output_device != old.output_device:
                await engine.switch_output(new.output_device)
            if new.echo != old.echo:
                engine.set_echo_mode(new.echo)
        controller = self.controller
        try:
            wanted = _endpoint_key(resolve_endpoint(new).endpoint)
        except (ConfigError, EndpointError):
            wanted = ("invalid",)
        current = None if self.using_local_server else _endpoint_key(self.endpoint)
        if controller is None or wanted != current or new.session.model != old.session.model:
            was_connected = controller is not None and controller.connection in ("connected", "reconnecting")
            if controller is not None:
                await controller.disconnect()
            await self.prepare()
            if was_connected:
                await self.connect()
            return True
        controller.update_settings(new.session)
        if new.tools != old.tools:
            wanted_tools = self.tool_registry(new.tools)
            for name in list(controller.tools.names()):
                if name not in wanted_tools:
                    controller.remove_tool(name)
            for tool in wanted_tools:
                if tool.name not in controller.tools:
                    controller.add_tool(tool.func, name=tool.name, description=tool.description)
        return False

    async def play_test_tone(self) -> None:
        """A short tone on the output device (the sink is started for it when no session runs)."""
        if self.audio is None:
            return
        sink = self.audio.sink
        running = self.controller is not None and self.controller.connection != "disconnected"
        if not running:
            await sink.start()
        sink.write(test_tone())
        if not running:
            await asyncio.sleep(0.8)
            if self.controller is None or self.controller.connection == "disconnected":
                await sink.stop()

    async def shutdown(self) -> None:
        """Disconnect (which stops the audio and closes the journal), stop the local server, close WAVs."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            await self.disconnect()
        if self.audio is not None and self.audio.engine is not None:
            with contextlib.suppress(Exception):
                await self.audio.engine.stop()
        if self.server is not None:
            with contextlib.suppress(Exception):
                await self.server.stop()
            self.server = None
        self.recorder.close()


def with_session(settings: AppSettings, **changes: Any) -> AppSettings:
    """A copy of ``settings`` with model settings changed (dataclasses.replace on the nested session)."""
    copy = dataclasses.replace(settings)
    copy.session = dataclasses.replace(settings.session, **changes)
    return copy
