"""``voicedesk ask``: a whole conversation from files, headless, with everything written as it happens.

Each input (a WAV file or a ``--text`` message) is one user turn, sent in order. A WAV is streamed as a
live microphone would (real time, or ``--fast``), followed by silence until the server's VAD commits
the turn (with turn detection ``none``, ``ask`` commits itself). Every answer, tool round trips
included, is awaited before the next turn. Written to the output directory as items finish:
``assistant.wav`` (what the person would have heard), ``conversation.jsonl``, ``events.jsonl``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

import numpy as np

from voicedesk.audio.base import SAMPLE_RATE, AudioProblem, AudioSink, AudioSource, Pcm16
from voicedesk.audio.filesource import FileSource
from voicedesk.audio.null import WavFileSink
from voicedesk.audio.wavfile import AudioFileError, WavWriter, read_wav
from voicedesk.config import AppSettings, data_dir, resolve_endpoint
from voicedesk.local.server import LocalRealtimeServer, LocalServerOptions
from voicedesk.realtime.client import AuthenticationFailed, ConnectFailed
from voicedesk.realtime.endpoint import Endpoint, custom_endpoint
from voicedesk.session import events as se
from voicedesk.session.controller import SessionController
from voicedesk.session.conversation import Item
from voicedesk.session.journal import JsonlWriter
from voicedesk.tools.builtins import default_registry

if TYPE_CHECKING:
    from voicedesk.audio.engine import AudioEngine

EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_UNREACHABLE, EXIT_SERVER_ERROR = 0, 2, 3, 4, 5
VAD_COMMIT_WAIT_S = 8.0
"""How long ``ask`` sends silence after a file before committing the turn itself (the VAD heard nothing)."""


@dataclass(frozen=True)
class Turn:
    kind: Literal["wav", "text"]
    value: str
    pcm: Pcm16 | None = None


@dataclass
class AskOptions:
    turns: list[Turn]
    out_dir: Path
    settings: AppSettings
    fast: bool = False
    interrupt_after_s: float | None = None
    answer_timeout_s: float = 300.0
    quiet: bool = False
    local_options: LocalServerOptions = field(default_factory=lambda: LocalServerOptions(record_audio=False))
    mic: bool = False
    """Live: the real microphone and speaker (the audio engine) until Ctrl-C or a goodbye."""


class UsageError(Exception):
    pass


def load_turns(turns: Sequence[tuple[str, str]]) -> list[Turn]:
    """Read every WAV up front so a bad file fails before anything is sent."""
    loaded = []
    for kind, value in turns:
        if kind == "text":
            if not value.strip():
                raise UsageError("--text needs a non-empty message")
            loaded.append(Turn("text", value))
            continue
        try:
            pcm = read_wav(Path(value))
        except AudioFileError as exc:
            raise UsageError(str(exc)) from None
        except OSError as exc:
            raise UsageError(f"cannot read {value}: {exc.strerror or exc}") from None
        loaded.append(Turn("wav", value, pcm))
    if not loaded:
        raise UsageError("nothing to ask: give WAV files and/or --text messages")
    return loaded


class _Recorder:
    """Writes conversation.jsonl and events.jsonl as things happen, and narrates on the terminal."""

    def __init__(self, out_dir: Path, out: TextIO | None) -> None:
        self._conversation = JsonlWriter(out_dir / "conversation.jsonl", fsync=False)
        self._events = JsonlWriter(out_dir / "events.jsonl", fsync=False)
        self._t0 = time.monotonic()
        self._out = out
        self.fatal: se.ErrorOccurred | None = None
        self.ended_by_tool = False
        self.committed = asyncio.Event()

    def item_finished(self, item: Item) -> None:
        self._conversation.write(item.to_record())
        if self._out is None:
            return
        if item.type == "message" and item.role in ("user", "assistant"):
            cut = " [interrupted]" if item.truncated_ms is not None else ""
            text = item.heard_text if item.truncated_ms is not None else item.display_text
            print(f"{item.role}: {text or '(no transcript)'}{cut}", file=self._out, flush=True)

    def on_event(self, event: se.SessionEvent) -> None:
        match event:
            case se.RawModelEvent(direction=direction, data=data):
                t = round(time.monotonic() - self._t0, 4)
                self._events.write({"t": t, "direction": direction, "event": data})
                if direction == "server" and data.get("type") == "input_audio_buffer.committed":
                    self.committed.set()
            case se.ToolEnd(name=name, arguments=arguments, output=output, ok=ok) if self._out:
                print(f"tool {name}({arguments}) -> {output}{'' if ok else ' [error]'}", file=self._out, flush=True)
            case se.ErrorOccurred() if event.fatal:
                self.fatal = event
                self._say(f"error: {event.message}")
            case se.ErrorOccurred():
                self._say(f"warning: {event.message}")
            case se.AudioDeviceProblem(message=message):
                self._say(f"audio: {message}")
            case se.SessionEnded(reason="tool"):
                self.ended_by_tool = True
            case se.SessionRenewed(reason=reason, carried_items=carried):
                self._say(f"(session renewed after {reason}; {carried} items carried over)")
            case _:
                pass

    def _say(self, text: str) -> None:
        if self._out is not None:
            print(text, file=self._out, flush=True)

    def close(self) -> None:
        self._conversation.close()
        self._events.close()


async def run_ask(options: AskOptions) -> int:
    out = None if options.quiet else sys.stdout
    resolved = resolve_endpoint(options.settings)
    server: LocalRealtimeServer | None = None
    if resolved.endpoint is None:
        server = LocalRealtimeServer(options.local_options)
        await server.start()
        endpoint = custom_endpoint(server.url, protocol=None, kind="local")
        if out:
            print(f"({resolved.reason})", file=out, flush=True)
    else:
        endpoint = resolved.endpoint
    try:
        return await _converse(options, endpoint, out)
    finally:
        if server is not None:
            await server.stop()


async def _converse(options: AskOptions, endpoint: Endpoint, out: TextIO | None) -> int:
    options.out_dir.mkdir(parents=True, exist_ok=True)
    speed = math.inf if options.fast else 1.0
    source: AudioSource
    sink: AudioSink
    heard_writer: HeardAudioWriter | None = None
    relay = ProblemRelay()
    if options.mic:
        engine = _open_engine(options, relay)
        source, sink = engine.source, engine.sink
        heard_writer = HeardAudioWriter(options.out_dir / "assistant.wav")
    else:
        source = FileSource(speed=speed)
        sink = WavFileSink(options.out_dir / "assistant.wav", speed=speed)
    registry = default_registry().subset(options.settings.tools)
    controller = SessionController(
        endpoint,
        options.settings.session,
        source=source,
        sink=sink,
        tools=registry,
        journal_dir=data_dir() / "journal",
        session_timeout_s=options.settings.session_timeout_s,
    )
    controller.raw_events = True
    recorder = _Recorder(options.out_dir, out)
    controller.conversation.on_finished(recorder.item_finished)
    controller.subscribe(recorder.on_event)
    if heard_writer is not None:
        controller.subscribe(heard_writer.on_event)
    relay.forward_to(controller.report_audio_problem)
    try:
        await controller.connect()
    except AuthenticationFailed as exc:
        recorder.close()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_AUTH
    except ConnectFailed as exc:
        recorder.close()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    watcher = asyncio.create_task(_interrupt_watcher(controller, options.interrupt_after_s))
    try:
        if options.mic:
            await _live(controller, recorder, out)
        for turn in [] if options.mic else options.turns:
            if recorder.fatal or recorder.ended_by_tool:
                break
            assert isinstance(source, FileSource)
            await _send_turn(controller, source, recorder, turn)
            if not await controller.wait_idle(options.answer_timeout_s) and not recorder.fatal:
                recorder.on_event(se.ErrorOccurred("no answer came in time", "timeout"))
                break
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await controller.disconnect()
        recorder.close()
        if heard_writer is not None:
            heard_writer.close()
    if recorder.fatal is not None:
        if recorder.fatal.code == "auth_failed":
            return EXIT_AUTH
        if recorder.fatal.code == "connection_lost":
            return EXIT_UNREACHABLE
        return EXIT_SERVER_ERROR
    return EXIT_OK


class ProblemRelay:
    """The engine's ``on_problem``: holds device problems until the controller exists, then forwards them."""

    def __init__(self) -> None:
        self._held: list[AudioProblem] = []
        self._target: Callable[[AudioProblem], None] | None = None

    def __call__(self, problem: AudioProblem) -> None:
        if self._target is None:
            self._held.append(problem)
        else:
            self._target(problem)

    def forward_to(self, target: Callable[[AudioProblem], None]) -> None:
        self._target = target
        for problem in self._held:
            target(problem)
        self._held.clear()


def _open_engine(options: AskOptions, problems: ProblemRelay) -> AudioEngine:
    """The real devices (a missing one falls back to the default, reported through ``problems``)."""
    from voicedesk.audio.engine import AudioEngine

    settings = options.settings
    return AudioEngine(settings.input_device, settings.output_device, echo=settings.echo, on_problem=problems)


async def _live(controller: SessionController, recorder: _Recorder, out: TextIO | None) -> None:
    """Talk until Ctrl-C (or SIGTERM), a goodbye that ends the session, or a fatal error."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: Ctrl-C raises instead
            loop.add_signal_handler(signum, stop.set)
    if out is not None:
        print("listening: talk to the assistant, Ctrl-C to stop", file=out, flush=True)
    try:
        while not stop.is_set() and not recorder.fatal and not recorder.ended_by_tool:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)


class HeardAudioWriter:
    """assistant.wav for live use: each answer's audio as received, cut where the person cut it."""

    def __init__(self, path: Path) -> None:
        self._writer = WavWriter(path)
        self._pending: dict[str, list[Pcm16]] = {}

    def on_event(self, event: se.SessionEvent) -> None:
        match event:
            case se.AudioChunk(item_id=item_id, pcm=pcm):
                self._pending.setdefault(item_id, []).append(pcm)
            case se.AudioEnd(item_id=item_id):
                self._write(item_id, None)
            case se.AudioInterrupted(item_id=item_id, audio_end_ms=end_ms):
                self._write(item_id, end_ms * SAMPLE_RATE // 1000)
            case _:
                pass

    def _write(self, item_id: str, limit: int | None) -> None:
        chunks = self._pending.pop(item_id, [])
        if chunks:
            audio = np.concatenate(chunks)
            self._writer.write(audio if limit is None else audio[:limit])

    def close(self) -> None:
        for item_id in list(self._pending):
            self._write(item_id, None)
        self._writer.close()


async def _send_turn(controller: SessionController, source: FileSource, recorder: _Recorder, turn: Turn) -> None:
    if turn.kind == "text":
        controller.send_text(turn.value)
        return
    assert turn.pcm is not None
    if controller.push_to_talk_mode:
        controller.start_push_to_talk()
        await source.play(turn.pcm)
        if not controller.stop_push_to_talk():
            recorder.on_event(se.ErrorOccurred(f"{turn.value} is shorter than 100 ms: not sent", "commit_empty"))
        return
    recorder.committed.clear()
    await source.play(turn.pcm)
    # Keep "listening" (the source sends silence) until the server's VAD commits the turn.
    try:
        await asyncio.wait_for(recorder.committed.wait(), VAD_COMMIT_WAIT_S)
    except TimeoutError:
        # The VAD heard no end of speech (e.g. a quiet file): commit ourselves, as push-to-talk would.
        controller.commit_input()


async def _interrupt_watcher(controller: SessionController, after_s: float | None) -> None:
    """``--interrupt-after S``: cut each answer once S seconds of it have been played."""
    if after_s is None:
        return
    interrupted: set[str] = set()
    while True:
        await asyncio.sleep(0.01)
        heard = controller.current_audio_heard()
        if heard is None or heard.item_id in interrupted:
            continue
        if heard.audio_end_ms >= after_s * 1000:
            interrupted.add(heard.item_id)
            controller.interrupt()
