"""AppRuntime: the one place that turns AppSettings into a running session, for every front end.

It resolves the endpoint (no key: the embedded local server, started and stopped here), opens the audio
(devices, files or null), builds the SessionController, records both sides' audio, keeps the event log,
and reports to its listeners as ``voicedesk.session.events`` values: the controller's events, device
problems straight from the audio engine, and its own notices. ``voicedesk ask`` and the window are thin
front ends over it. No Qt here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicedesk.app import exports, recordings
from voicedesk.app.assistants import open_profiles
from voicedesk.app.audio import AudioBackend, AudioFactory, calibration_tone, device_audio
from voicedesk.app.event_log import DEFAULT_LIMIT, EventLog
from voicedesk.app.history import SessionHistory, apply_retention, history_path
from voicedesk.app.profiles import Profile
from voicedesk.app.recorder import ConversationRecorder
from voicedesk.app.recordings import new_recording_folder
from voicedesk.app.tools import SessionTools, ToolChoice
from voicedesk.audio.base import SAMPLE_RATE, AudioProblem, Pcm16
from voicedesk.config import AppSettings, ConfigError, data_dir, resolve_endpoint
from voicedesk.history import HistoryError
from voicedesk.local.server import LocalRealtimeServer, LocalServerOptions
from voicedesk.realtime.client import Backoff
from voicedesk.realtime.endpoint import Endpoint, EndpointError, custom_endpoint
from voicedesk.session import events as se
from voicedesk.session.controller import SessionController
from voicedesk.session.conversation import Item
from voicedesk.session.handoffs import Assistant
from voicedesk.session.listeners import Listener, Listeners
from voicedesk.tools.approval import Approver

log = logging.getLogger(__name__)


@dataclass
class RuntimeOptions:
    """How a front end wants its session assembled (the settings say what to talk to)."""

    audio_factory: AudioFactory = device_audio
    local_options: LocalServerOptions = field(
        default_factory=lambda: LocalServerOptions(record_audio=False, keep_sessions=False)
    )
    """The embedded server's; it always gets a key of its own (a random one unless these name one)."""
    backoff: Backoff | None = None
    recordings_dir: Path | None = None
    """Where you.wav and assistant.wav go; default: a new folder under the data dir's recordings/."""
    journal: bool = True
    """Keep the crash-safe conversation journal under the data dir."""
    events_jsonl: Path | None = None
    """Also append every wire event to this file (``ask``'s events.jsonl)."""
    event_limit: int = DEFAULT_LIMIT
    tools_dir: Path | None = None
    """The person's Python tools; default: the ``tools`` folder in the config dir."""
    mcp_config: Path | None = None
    """MCP servers (mcp.json's format); default: ``mcp.json`` in the config dir."""
    only_tools: list[str] | None = None
    """Exactly these tools, whatever their source (``ask --tools``); None: as the settings say."""
    approver: Approver | None = None
    """Asks the person before a tool whose policy is "ask" runs; None: such calls are declined."""
    history: str | None = None
    """Store conversations in the history under this source name ("window", "ask"); None: not stored."""
    profiles: Path | None = None
    """The assistants (profiles.toml); default: the config dir's, created with one profile on first start."""
    profile: str | None = None
    """The profile that talks first; default: the file's first."""
    strict_endpoint: bool = False
    """Raise ConfigError/EndpointError for unusable endpoint settings (``ask``) instead of reporting them and
    using the local server (the window, where the person can then open Settings)."""


def _with_own_key(options: LocalServerOptions) -> LocalServerOptions:
    """A key made for this start and known only to this process, so no other program or page can drive the
    server the session talks to."""
    return dataclasses.replace(options, api_key=options.api_key or secrets.token_urlsafe(32))


def _endpoint_key(endpoint: Endpoint | None) -> tuple[Any, ...] | None:
    if endpoint is None:
        return None
    return (endpoint.kind, endpoint.url, endpoint.protocol, tuple(sorted(endpoint.headers.items())))


class AppRuntime:
    def __init__(self, settings: AppSettings, options: RuntimeOptions | None = None) -> None:
        self.settings = settings
        self.options = options or RuntimeOptions()
        self._listeners = Listeners()
        self.controller: SessionController | None = None
        self.audio: AudioBackend | None = None
        self.server: LocalRealtimeServer | None = None
        self.endpoint: Endpoint | None = None
        self.endpoint_reason = ""
        self.config_problem: str | None = None
        self.event_log = EventLog(self.options.event_limit, self.options.events_jsonl)
        self.recorder = self._new_recorder()
        self._archiving: list[asyncio.Future[None]] = []
        self.stored: SessionHistory | None = None
        self._follow_history_setting()
        self._apply_retention()
        self.profiles = open_profiles(self.options.profiles, self.options.profile)
        self.tools = SessionTools(self._tool_choice(settings), approver=self.options.approver)
        self._resumed: tuple[str, list[Item]] | None = None
        self.playing_until = 0.0
        """While a kept recording plays (time.monotonic()), else 0."""
        self._unsubscribe: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    # ------------------------------------------------------------------ listeners

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self._listeners.subscribe(listener)

    def emit(self, event: se.SessionEvent) -> None:
        self._listeners.emit(event)

    def _on_controller_event(self, event: se.SessionEvent) -> None:
        self.profiles.follow(event)
        self.event_log.on_event(event)
        self.recorder.on_event(event)
        self.emit(event)

    def _on_audio_problem(self, problem: AudioProblem) -> None:
        """The engine's ``on_problem``, straight to the listeners; from a PortAudio thread it hops onto the
        loop first."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._on_audio_problem, problem)
            return
        self.emit(se.AudioDeviceProblem.of(problem))

    def _follow_history_setting(self) -> None:
        """Store conversations when the front end wants a history and the person did not switch it off."""
        wanted = self.options.history is not None and self.settings.keep_history
        if wanted and self.stored is None and self.options.history is not None:
            journals = data_dir() / "journal" if self.options.journal else None
            self.stored = SessionHistory(history_path(data_dir()), source=self.options.history, journal_dir=journals)
            if self.controller is not None and self.endpoint is not None:
                self.stored.attach(self.controller, self.endpoint.kind)
        elif not wanted and self.stored is not None:
            self.stored.close()
            self.stored = None

    def _apply_retention(self) -> None:
        """At start, on the history's thread: what is older than the retention goes, with its audio."""
        days = max(0, self.settings.retention_days)
        if self.stored is not None:
            self.stored.writer.submit(lambda store: apply_retention(store, data_dir(), days))
        elif self.options.recordings_dir is None:  # no history: the recordings alone
            threading.Thread(target=recordings.clean_up, args=(data_dir(), days), daemon=True).start()

    def _new_recorder(self) -> ConversationRecorder:
        directory = self.options.recordings_dir or new_recording_folder(data_dir(), keep=self.settings.keep_audio)
        return ConversationRecorder(directory, on_failure=self._recording_failed)

    def _finish_recording(self) -> None:
        """The conversation is over: close its recording; keep it (FLAC, linked to the stored conversation)
        or delete it, on a worker thread. ``ask``'s recordings are its output: left as they are."""
        recorder = self.recorder
        recorder.close()
        if self.options.recordings_dir is not None:
            return
        folder, keep, stored = recorder.directory, self.settings.keep_audio, self.stored
        conversation_id = stored.conversation_id if stored is not None else None

        def finish() -> None:
            if not keep:
                recordings.discard(folder)
            else:
                kept_folder, files = recordings.archive(folder)
                if files and stored is not None and conversation_id is not None:
                    stored.writer.submit(lambda store: store.add_audio(conversation_id, kept_folder))

        self._archiving.append(asyncio.get_running_loop().run_in_executor(None, finish))

    def _recording_failed(self, exc: OSError) -> None:
        self.emit(se.ErrorOccurred(f"Recording stopped: {exc}", "recording_failed", hint="Free some disk space."))

    # ------------------------------------------------------------------ state

    @property
    def using_local_server(self) -> bool:
        return self.endpoint is not None and self.endpoint.kind == "local"

    @property
    def mic_open(self) -> bool:
        """Whether microphone audio goes to the model now (the controller decides; this only asks)."""
        return self.controller is not None and self.controller.mic_open

    @property
    def running(self) -> bool:
        return self.controller is not None and self.controller.connection != "disconnected"

    def history(self) -> tuple[Item, ...]:
        return self.controller.history() if self.controller is not None else ()

    def _tool_choice(self, settings: AppSettings) -> ToolChoice:
        choice = ToolChoice.of(settings, self.options.tools_dir, self.options.mcp_config)
        if self.options.only_tools is not None:
            choice.only = frozenset(self.options.only_tools)
        choice.builtins = self.profiles.with_named_builtins(choice.builtins)  # each profile offers its own
        return choice

    # ------------------------------------------------------------------ lifecycle

    async def prepare(self) -> None:
        """Resolve the endpoint, start the local server when needed, open audio, build the controller.
        A configuration that cannot work is reported as an error and the local server is used instead."""
        self._loop = asyncio.get_running_loop()
        self.config_problem = None
        for problem in self.tools.problems:  # said once, now that the front end listens
            self.emit(se.ErrorOccurred(f"Tools: {problem}", "tools_config", hint="The other tools still work."))
        self.tools.problems.clear()
        if self.profiles.problem and not self.profiles.told:  # once; the Settings make the assistant meanwhile
            self.profiles.told = True
            self.emit(se.ErrorOccurred(f"Profiles: {self.profiles.problem}", "profiles", hint="Fix profiles.toml."))
        endpoint: Endpoint | None
        try:
            resolved = resolve_endpoint(self.settings)
            endpoint, self.endpoint_reason = resolved.endpoint, resolved.reason
        except (ConfigError, EndpointError) as exc:
            if self.options.strict_endpoint:
                raise
            self.config_problem = str(exc)
            endpoint, self.endpoint_reason = None, f"the settings cannot be used ({exc}), so the local server runs"
            self.emit(se.ErrorOccurred(f"Cannot use the configured endpoint: {exc}", "config", hint="Open Settings."))
        if endpoint is None:
            if self.server is None:
                self.server = LocalRealtimeServer(_with_own_key(self.options.local_options))
                await self.server.start()
            endpoint = custom_endpoint(self.server.url, self.server.options.api_key, protocol=None, kind="local")
        elif self.server is not None:
            await self.server.stop()
            self.server = None
        self.endpoint = endpoint
        if self.audio is None:
            self.audio = self.options.audio_factory(self.settings, self._on_audio_problem)
        self._build_controller(endpoint)

    def _build_controller(self, endpoint: Endpoint) -> None:
        assert self.audio is not None
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.controller is not None:  # a new conversation: the last one's recording is complete
            self._finish_recording()
            self.recorder = self._new_recorder()
        controller = SessionController(
            endpoint,
            self.settings.session,
            source=self.audio.source,
            sink=self.audio.sink,
            tools=self.tools.registry(),
            journal_dir=data_dir() / "journal" if self.options.journal else None,
            session_timeout_s=self.settings.session_timeout_s,
            response_timeout_s=self.settings.response_timeout_s,
            backoff=self.options.backoff,
            on_input_sent=self.recorder.record_sent,
            assistants=self._assistants(),
            assistant=self.profiles.current,
        )
        controller.raw_events = True
        controller.approve_calls_with(self.tools.decide)
        self.tools.follow(controller.tools, controller.tools_changed)
        self._unsubscribe = controller.subscribe(self._on_controller_event)
        self.controller = controller
        if self.stored is not None:
            self.stored.profile = controller.assistant
            self.stored.attach(controller, endpoint.kind)
            self._carry_resumed()
        self.emit(controller.state)  # views start from the new session's state (its turn mode, say)

    async def connect(self) -> None:
        """Connect the session; raises ConnectFailed (AuthenticationFailed, EndpointUnreachable)."""
        if self.controller is None:
            await self.prepare()
        assert self.controller is not None
        self.tools.start()  # MCP servers, in the background: the connection never waits for them
        await self.controller.connect()

    def resume(self, reference: str) -> int:
        """Carry a stored conversation into the session (before ``connect``): its items are re-created in the
        new server session as a renewal carries its own, and new items are stored with it. Returns how many
        items; HistoryError when the history is off or has no such conversation."""
        if self.stored is None:
            raise HistoryError("the history is off")
        self._resumed = self.stored.load(reference)
        carried = len(self._resumed[1])
        if self.controller is not None:
            self._carry_resumed()
        return carried

    def _carry_resumed(self) -> None:
        if self._resumed is None or self.controller is None or self.stored is None:
            return
        conversation_id, items = self._resumed
        self._resumed = None
        self.controller.conversation.restore(items)
        self.stored.conversation_id = conversation_id
        self.emit(se.HistoryUpdated(self.controller.history()))

    async def disconnect(self) -> None:
        if self.controller is not None:
            await self.controller.disconnect()

    async def apply_settings(self, new: AppSettings) -> bool:
        """Apply settings live where possible. Returns True when the session was rebuilt (a new endpoint,
        key or model), which starts a new conversation; a connected session reconnects."""
        new.session.validate()
        old, self.settings = self.settings, new
        if new.keep_history != old.keep_history:
            self._follow_history_setting()
        engine = self.audio.engine if self.audio is not None else None
        if engine is not None:
            if new.input_device != old.input_device:
                await engine.switch_input(new.input_device)
            if new.output_device != old.output_device:
                await engine.switch_output(new.output_device)
            if new.echo != old.echo:
                engine.set_echo_mode(new.echo)
            if new.noise_suppression != old.noise_suppression:
                engine.set_noise_suppression(new.noise_suppression)
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
        assistants = self._assistants()
        if assistants:  # the profiles over the new Settings
            controller.set_assistants(assistants, self.profiles.current)
        else:
            controller.update_settings(new.session)
        if (new.tools, new.disabled_tools, new.tool_policies) != (old.tools, old.disabled_tools, old.tool_policies):
            self.tools.reconfigure(self._tool_choice(new))
        return False

    def _assistants(self) -> list[Assistant]:
        return self.profiles.built(self.settings, self.emit)

    def select_profile(self, name: str) -> se.Handoff | None:
        """The person picked a profile: it talks from now on (a connected session is updated). KeyError."""
        self.profiles.select(name)
        return self.controller.switch_assistant(name) if self.controller is not None else None

    def set_profiles(self, profiles: list[Profile]) -> None:
        """Edited profiles: saved to profiles.toml (ProfileError when they cannot be) and used at once."""
        self.profiles.replace(profiles)
        self.tools.reconfigure(self._tool_choice(self.settings))
        if self.controller is not None:
            self.controller.set_assistants(self._assistants(), self.profiles.current)

    async def play_test_tone(self) -> None:
        """A short tone on the output device (the sink is started for it when no session runs)."""
        if self.audio is None:
            return
        sink = self.audio.sink
        was_running = self.running
        if not was_running:
            await sink.start()
        sink.write(calibration_tone())
        if not was_running:
            await asyncio.sleep(0.8)
            if not self.running:
                await sink.stop()

    async def play_recording(self, pcm: Pcm16) -> bool:
        """Play a kept recording on the speaker; only while no session runs (False then: nothing played).
        Playing another one, or ``stop_playback``, ends the one playing."""
        if self.audio is None or self.running:
            return False
        sink = self.audio.sink
        sink.flush()
        await sink.start()
        sink.write(pcm)
        self.playing_until = time.monotonic() + pcm.size / SAMPLE_RATE
        return True

    async def stop_playback(self) -> None:
        if self.audio is not None and not self.running:
            self.audio.sink.flush()
            await self.audio.sink.stop()
        self.playing_until = 0.0

    async def shutdown(self) -> None:
        """Disconnect (which stops the audio and closes the journal), stop the local server, close files."""
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
        with contextlib.suppress(Exception):
            await self.tools.close()  # every MCP server's process ends with the app
        self._finish_recording()
        for archiving in self._archiving:
            with contextlib.suppress(Exception):
                await archiving
        self.event_log.close()
        if self.stored is not None:
            self.stored.close()

    # ------------------------------------------------------------------ exports

    def bundle_parts(self, notes: dict[str, Any]) -> exports.BundleParts:
        """What the debug bundle holds: settings (no key), recent events, the conversation, and notes."""
        c = self.controller
        everything = {
            "endpoint": c.endpoint.describe() if c else None,
            "connection": c.connection if c else None,
            "audio": self.audio.fallback_reason or "devices" if self.audio else None,
            **notes,
        }
        journal = c.journal_path if c else None
        return exports.BundleParts(self.settings, self.event_log.snapshot(), self.history(), everything, journal)

    def export_all_to(self, directory: Path, notes: dict[str, Any]) -> list[Path]:
        return exports.export_everything(directory, self.history(), self.recorder, self.bundle_parts(notes))
