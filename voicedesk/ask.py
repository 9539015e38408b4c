"""``voicedesk ask``: a whole conversation from files, headless, with everything written as it happens.

Each input (a WAV file or a ``--text`` message) is one user turn, sent in order; an ``--image`` goes with the
next turn (or, last, is a turn of its own), scaled to the model's limits first. A WAV is streamed as a
live microphone would (real time, or ``--fast``), followed by silence until the server's VAD commits
the turn (with turn detection ``none``, ``ask`` commits itself). Every answer, tool round trips
included, is awaited before the next turn. Written to the output directory as things happen:
``assistant.wav`` (what the person would have heard), ``you.wav`` (the audio sent), ``conversation.jsonl``,
``events.jsonl``. The session itself is assembled by the app layer (voicedesk.app), as for the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

from voicedesk.app import (
    AppRuntime,
    AudioBackend,
    AuthenticationFailed,
    ConnectFailed,
    Item,
    LocalServerOptions,
    RuntimeOptions,
    open_devices,
)
from voicedesk.app.history import history_path
from voicedesk.app.images import ImageError, load_image_file
from voicedesk.audio.base import Pcm16
from voicedesk.audio.filesource import FileSource
from voicedesk.audio.null import NullSink
from voicedesk.audio.wavfile import AudioFileError, read_wav
from voicedesk.config import AppSettings, data_dir
from voicedesk.history import HistoryError, HistoryStore
from voicedesk.private_files import private_dir
from voicedesk.session import events as se
from voicedesk.session.controller import SessionController
from voicedesk.session.items import IMAGES_NEED_GA, ImagePart
from voicedesk.session.journal import JsonlWriter
from voicedesk.tools.approval import Answer, FixedApprover

EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_UNREACHABLE, EXIT_SERVER_ERROR = 0, 2, 3, 4, 5
MCP_START_WAIT_S = 15.0
VAD_COMMIT_WAIT_S = 8.0
"""How long ``ask`` sends silence after a file before committing the turn itself (the VAD heard nothing)."""


@dataclass(frozen=True)
class Turn:
    kind: Literal["wav", "text", "image"]
    value: str
    pcm: Pcm16 | None = None
    images: tuple[ImagePart, ...] = ()
    """Sent with this turn, in the same message as its text or just before its audio."""


@dataclass
class AskOptions:
    turns: list[Turn]
    out_dir: Path
    settings: AppSettings
    fast: bool = False
    interrupt_after_s: float | None = None
    answer_timeout_s: float = 300.0
    quiet: bool = False
    local_options: LocalServerOptions = field(
        default_factory=lambda: LocalServerOptions(record_audio=False, keep_sessions=False)
    )
    mic: bool = False
    """Live: the real microphone and speaker (the audio engine) until Ctrl-C or a goodbye."""
    history: bool = True
    """Store the conversation in the history."""
    resume: str | None = None
    """Go on with this stored conversation (an id, a unique prefix, or "last")."""
    only_tools: list[str] | None = None
    tools_dir: Path | None = None
    mcp_config: Path | None = None
    approve_all: bool = False
    """Run tools whose policy is "ask" without asking (``--approve all``); else they are declined."""
    profiles: Path | None = None
    """The assistants (``--profiles``); default: the config dir's profiles.toml."""
    profile: str | None = None
    """The profile that talks first (``--profile``)."""


class UsageError(Exception):
    pass


OUTPUT_NAMES = ("conversation.jsonl", "events.jsonl", "assistant.wav", "you.wav")
"""What ``ask`` writes into its out-dir."""


def prepare_out_dir(out_dir: Path, *, overwrite: bool) -> None:
    """Refuse an out-dir that holds anything (a second run would mix its files with the first's) unless
    ``overwrite``, which removes the files an earlier run wrote; checked before anything starts."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out-dir {out_dir} is a file, not a folder")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    if not overwrite:
        raise UsageError(f"--out-dir {out_dir} is not empty: choose an empty folder, or add --overwrite to replace")
    for name in OUTPUT_NAMES:
        with contextlib.suppress(FileNotFoundError):
            (out_dir / name).unlink()


def check_resume(reference: str) -> str:
    """The stored conversation ``--resume`` names, checked before anything starts (UsageError if none)."""
    try:
        with HistoryStore(history_path(data_dir())) as store:
            return store.resolve(reference)
    except HistoryError as exc:
        raise UsageError(f"--resume: {exc}") from None


def load_turns(turns: Sequence[tuple[str, str]]) -> list[Turn]:
    """Read every WAV and image up front so a bad file fails before anything is sent. Images go with the
    next text or WAV turn; images after the last one are a turn of their own."""
    loaded: list[Turn] = []
    images: list[ImagePart] = []
    for kind, value in turns:
        if kind == "image":
            try:
                images.append(load_image_file(Path(value)))
            except ImageError as exc:
                raise UsageError(f"--image: {exc}") from None
            continue
        if kind == "text":
            if not value.strip():
                raise UsageError("--text needs a non-empty message")
            loaded.append(Turn("text", value, images=tuple(images)))
            images.clear()
            continue
        try:
            pcm = read_wav(Path(value))
        except AudioFileError as exc:
            raise UsageError(str(exc)) from None
        except OSError as exc:
            raise UsageError(f"cannot read {value}: {exc.strerror or exc}") from None
        loaded.append(Turn("wav", value, pcm, images=tuple(images)))
        images.clear()
    if images:
        loaded.append(Turn("image", ", ".join(image.source for image in images), images=tuple(images)))
    if not loaded:
        raise UsageError("nothing to ask: give WAV files, --text messages and/or --image files")
    return loaded


UNANSWERED_CODES = frozenset(
    {"timeout", "turn_failed", "response_lost"}
)  # a turn the connection or the clock lost: exit 4
REFUSED_CODES = frozenset({"rate_limited", "quota", "busy", "response_failed"})


class _Narrator:
    """Writes conversation.jsonl as items finish; the transcript goes to stdout, notices and warnings to
    stderr, each problem on one line prefixed ``voicedesk:`` as the command line's own errors are."""

    def __init__(self, out_dir: Path, out: TextIO | None, notices: TextIO | None) -> None:
        self._conversation = JsonlWriter(out_dir / "conversation.jsonl", fsync=False)
        self._out = out
        self._notices = notices
        self.fatal: se.ErrorOccurred | None = None
        self.unanswered: se.ErrorOccurred | None = None
        """A turn that was never answered (no fatal error, but not a success either)."""
        self.ended_by_tool = False
        self.committed = asyncio.Event()

    def item_finished(self, item: Item) -> None:
        self._conversation.write(item.to_record())
        if item.type == "message" and item.role in ("user", "assistant"):
            cut = " [interrupted]" if item.truncated_ms is not None else ""
            text = item.heard_text if item.truncated_ms is not None else item.display_text
            shown = " ".join([*(f"[image {image.describe()}]" for image in item.images), text]).strip()
            self.say(f"{item.role}: {shown or '(no transcript)'}{cut}")

    def on_event(self, event: se.SessionEvent) -> None:
        match event:
            case se.RawModelEvent(direction="server", data=data) if data.get("type") == "input_audio_buffer.committed":
                self.committed.set()
            case se.ToolEnd(name=name, arguments=arguments, output=output, ok=ok):
                self.say(f"tool {name}({arguments}) -> {output}{'' if ok else ' [error]'}")
            case se.ErrorOccurred() if event.fatal:
                self.fatal = event
                self.notify(f"voicedesk: {event.message}")
            case se.ErrorOccurred():
                if event.code in UNANSWERED_CODES | REFUSED_CODES:
                    self.unanswered = event
                self.notify(f"voicedesk: warning: {event.message}")
            case se.AudioDeviceProblem(message=message):
                self.notify(f"voicedesk: audio: {message}")
            case se.SessionEnded(reason="tool"):
                self.ended_by_tool = True
            case se.SessionRenewed(reason=reason, carried_items=carried):
                self.notify(f"(session renewed after {reason}; {carried} items carried over)")
            case se.Handoff(from_agent=source, to_agent=target, voice_note=voice_note):
                self.say(f"handoff: {source} → {target}")
                if voice_note:
                    self.notify(f"voicedesk: note: {voice_note}")
            case se.GuardrailTripped():
                self.say(f"guardrail tripped: {event.reason}")
            case _:
                pass

    def say(self, text: str) -> None:
        if self._out is not None:
            print(text, file=self._out, flush=True)

    def notify(self, text: str) -> None:
        if self._notices is not None:
            print(text, file=self._notices, flush=True)

    @property
    def done(self) -> bool:
        return self.fatal is not None or self.ended_by_tool

    def close(self) -> None:
        self._conversation.close()


async def run_ask(options: AskOptions) -> int:
    private_dir(options.out_dir)
    speed = math.inf if options.fast else 1.0
    source = FileSource(speed=speed)
    runtime = AppRuntime(
        options.settings,
        RuntimeOptions(
            audio_factory=open_devices if options.mic else lambda _s, _p: AudioBackend(source, NullSink(speed=speed)),
            local_options=options.local_options,
            recordings_dir=options.out_dir,
            events_jsonl=options.out_dir / "events.jsonl",
            strict_endpoint=True,
            history="ask" if options.history else None,
            tools_dir=options.tools_dir,
            mcp_config=options.mcp_config,
            only_tools=options.only_tools,
            approver=FixedApprover(Answer.APPROVE if options.approve_all else Answer.DENY),
            profiles=options.profiles,
            profile=options.profile,
        ),
    )
    narrator = _Narrator(options.out_dir, *((None, None) if options.quiet else (sys.stdout, sys.stderr)))
    runtime.subscribe(narrator.on_event)
    try:
        if options.resume is not None:
            carried = runtime.resume(options.resume)
            narrator.notify(f"(going on with a stored conversation: {carried} items carried over)")
        await runtime.prepare()
        controller = runtime.controller
        assert controller is not None
        if any(turn.images for turn in options.turns) and not controller.takes_images:
            print(f"voicedesk: --image: {IMAGES_NEED_GA}", file=sys.stderr)
            return EXIT_USAGE
        controller.conversation.on_finished(narrator.item_finished)
        if runtime.tools.servers is None and _unknown_profile_tool(runtime):
            return EXIT_USAGE
        if runtime.using_local_server:
            narrator.notify(f"({runtime.endpoint_reason})")
        try:
            await runtime.connect()
        except ConnectFailed as exc:
            print(f"voicedesk: {exc}", file=sys.stderr)
            return EXIT_AUTH if isinstance(exc, AuthenticationFailed) else EXIT_UNREACHABLE
        # Unattended, the first turn waits (a while) for the MCP servers' tools; the connection did not.
        if not await runtime.tools.settled(MCP_START_WAIT_S):
            narrator.notify(f"voicedesk: warning: MCP servers still starting after {MCP_START_WAIT_S:.0f} s")
        if runtime.tools.servers is not None and _unknown_profile_tool(runtime):
            return EXIT_USAGE  # known only now that the MCP servers have said what they have
        await _converse(options, controller, source, narrator)
    finally:
        await runtime.shutdown()
        narrator.close()
    if narrator.fatal is not None:
        if narrator.fatal.code == "auth_failed":
            return EXIT_AUTH
        if narrator.fatal.code == "connection_lost":
            return EXIT_UNREACHABLE
        return EXIT_SERVER_ERROR
    if narrator.unanswered is not None:
        return EXIT_UNREACHABLE if narrator.unanswered.code in UNANSWERED_CODES else EXIT_SERVER_ERROR
    return EXIT_OK


def _unknown_profile_tool(runtime: AppRuntime) -> bool:
    """A tool a profile names that no source has: said in one line."""
    unknown = runtime.profiles.unknown_tools(entry.name for entry in runtime.tools.catalogue())
    if unknown:
        print(f"voicedesk: {unknown[0]}", file=sys.stderr)
    return bool(unknown)


async def _converse(
    options: AskOptions, controller: SessionController, source: FileSource, narrator: _Narrator
) -> None:
    watcher = asyncio.create_task(_interrupt_watcher(controller, options.interrupt_after_s))
    try:
        if options.mic:
            await _live(narrator)
            return
        for turn in options.turns:
            if narrator.done:
                break
            await _send_turn(controller, source, narrator, turn)
            if not await controller.wait_idle(options.answer_timeout_s) and not narrator.fatal:
                narrator.on_event(se.ErrorOccurred("no answer came in time", "timeout"))
                break
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _live(narrator: _Narrator) -> None:
    """Talk until Ctrl-C (or SIGTERM), a goodbye that ends the session, or a fatal error."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: Ctrl-C raises instead
            loop.add_signal_handler(signum, stop.set)
    narrator.say("listening: talk to the assistant, Ctrl-C to stop")
    try:
        while not stop.is_set() and not narrator.done:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)


async def _send_turn(controller: SessionController, source: FileSource, narrator: _Narrator, turn: Turn) -> None:
    if turn.kind != "wav":  # a text, or images alone (answered: nothing follows them)
        controller.send_text(turn.value if turn.kind == "text" else "", turn.images, respond=True)
        return
    assert turn.pcm is not None
    if turn.images:  # in the conversation before the audio, answered with it
        controller.send_text("", turn.images, respond=False)
    if controller.push_to_talk_mode:
        controller.start_push_to_talk()
        await source.play(turn.pcm)
        if not controller.stop_push_to_talk():
            narrator.on_event(se.ErrorOccurred(f"{turn.value} is shorter than 100 ms: not sent", "commit_empty"))
        return
    narrator.committed.clear()
    await source.play(turn.pcm)
    # Keep "listening" (the source sends silence) until the server's VAD commits the turn.
    try:
        await asyncio.wait_for(narrator.committed.wait(), VAD_COMMIT_WAIT_S)
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
