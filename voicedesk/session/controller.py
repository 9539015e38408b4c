"""SessionController: the one object the GUI and the headless ``ask`` command talk to.

A small front over the session's parts: the response state machine (response_state), the input buffer's
bookkeeping (input_buffer), server-event routing (server_events), renewal and reconnect (renewal), and the
one place intents become wire events (intents). It decides when the microphone is sent and what the
person is shown (activity), and reports everything as typed events (voicedesk.session.events). It never
imports Qt: the window calls its methods and listens to its events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from voicedesk.audio.base import AudioSink, AudioSource, Pcm16
from voicedesk.realtime import events as ev
from voicedesk.realtime.client import Backoff, ConnectionState, ConnectionStatus, RealtimeClient
from voicedesk.realtime.endpoint import Endpoint
from voicedesk.realtime.session_config import SessionSettings, build_session_payload
from voicedesk.realtime.transport import TransportFactory, open_websocket
from voicedesk.session import events as se
from voicedesk.session.activity import TICK_S, SessionStatus
from voicedesk.session.answers import Answers
from voicedesk.session.conversation import Conversation, Item
from voicedesk.session.guardrails import GuardrailRunner
from voicedesk.session.handoffs import Assistant, Handoffs, handoff_note
from voicedesk.session.inspector import for_inspection
from voicedesk.session.intents import UpdateSession
from voicedesk.session.items import IMAGES_NEED_GA, ImagePart, ImagesNotSupported
from voicedesk.session.journal import SessionJournal
from voicedesk.session.listeners import Listener, Listeners
from voicedesk.session.parts import SessionParts
from voicedesk.session.playback_timeline import Heard
from voicedesk.session.rate_limits import RateLimitRetries, RequestGate
from voicedesk.session.renewal import Renewal
from voicedesk.session.server_events import ServerEventRouter
from voicedesk.session.talk import TalkInput
from voicedesk.session.tool_calls import ApproveCall, ToolCallRunner
from voicedesk.session.watchdog import DEFAULT_TIMEOUT_S, ResponseWatchdog
from voicedesk.session.wire_audio import AudioCodec
from voicedesk.tools.registry import ToolRegistry

log = logging.getLogger(__name__)


class SessionController:
    def __init__(
        self,
        endpoint: Endpoint,
        settings: SessionSettings,
        *,
        source: AudioSource,
        sink: AudioSink,
        tools: ToolRegistry | None = None,
        journal_dir: Path | None = None,
        session_timeout_s: float | None = None,
        transport_factory: TransportFactory = open_websocket,
        backoff: Backoff | None = None,
        tool_timeout_s: float = 15.0,
        on_input_sent: Callable[[Pcm16], None] | None = None,
        response_timeout_s: float = DEFAULT_TIMEOUT_S,
        assistants: Sequence[Assistant] = (),
        assistant: str | None = None,
    ) -> None:
        """``on_input_sent`` sees exactly each microphone block sent to the server (e.g. for a recording).
        With ``assistants`` (profiles), ``assistant`` (else the first) talks, on its own settings over these."""
        settings.validate()
        self.settings = settings
        self.endpoint = endpoint
        self.source = source
        self.sink = sink
        self.tools = tools or ToolRegistry()
        self.conversation = Conversation(transcription_enabled=bool(settings.transcription_model))
        self._journal = SessionJournal(journal_dir)
        self.conversation.on_finished(self._journal.record)
        self._listeners = Listeners()
        self.raw_events = False
        self._client = RealtimeClient(
            endpoint,
            on_event=self._on_server_event,
            on_audio=self._on_audio_frame,
            on_status=self._on_status,
            on_sent=self._on_sent,
            on_reconnected=lambda: self._renewal.restore_session(),
            reconnect_policy=lambda closed: self._renewal.should_reconnect(closed),
            transport_factory=transport_factory,
            backoff=backoff,
        )
        codec = AudioCodec(settings.input_format, settings.output_format)
        self._parts = parts = SessionParts.create(self.conversation, sink, self._client.send, codec, self._emit)
        self._tool_runner = ToolCallRunner(
            self.tools,
            send=self._parts.wire.send,
            request_response=lambda: self._answers.request(),
            emit=self._emit,
            end_session=self._end_after_goodbye,
            timeout_s=tool_timeout_s,
            take_call=lambda name, arguments: self._handoffs.take_call(name, arguments),
        )
        self._status = SessionStatus(
            parts,
            self._tool_runner,
            talk_held=lambda: self._talk.held,
            mic_open=lambda: self._talk.mic_open,
            push_to_talk=lambda: self.push_to_talk_mode,
            muted=lambda: self._talk.muted,
        )
        self._request_gate = RequestGate()
        self._answers = Answers(
            parts, update_activity=self._status.update, request_gate=self._request_gate, spawn=self._spawn
        )
        self._guardrails = GuardrailRunner(parts, self._answers, spawn=self._spawn)
        self._handoffs = Handoffs(
            emit=self._note_handoff,
            voice_used=lambda: parts.voice_used,
            settings=lambda: self.settings,
            apply=self._take_assistant,
            resend=self._resend_settings,
        )
        self._talk = TalkInput(
            parts,
            self._answers,
            connected=lambda: self._client.connected,
            push_to_talk_mode=lambda: self.push_to_talk_mode,
            update_activity=self._status.update,
            on_input_sent=on_input_sent,
        )
        self._renewal = Renewal(
            parts,
            self._client,
            self._tool_runner,
            session_payload=self._session_payload,
            session_over=self._session_over,
            spawn=self._spawn,
            timeout_s=session_timeout_s,
        )
        self._watchdog = ResponseWatchdog(
            parts, self._tool_runner, send_deferred=lambda: self._answers.send_deferred(), timeout_s=response_timeout_s
        )
        self._router = ServerEventRouter(
            parts,
            self._answers,
            self._tool_runner,
            settings=lambda: self.settings,
            raw_events=lambda: self.raw_events,
            set_activity=self._status.show,
            update_activity=self._status.update,
            sent_event=self._client.sent_event,
            note_error=self._renewal.note_error,
            rate_limits=RateLimitRetries(parts.responses, request=lambda: self._answers.request(), spawn=self._spawn),
            request_gate=self._request_gate,
            turn_answered=self._renewal.turn_answered,
            guardrails=self._guardrails,
        )
        self._ending = False
        self._ticker: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._ended = asyncio.Event()
        self.set_assistants(assistants, assistant)

    @property
    def session_started_at(self) -> float:
        return self._renewal.started_at

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self._listeners.subscribe(listener)

    def _emit(self, event: se.SessionEvent) -> None:
        self._listeners.emit(event)

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Connect and configure the session; raises ConnectFailed (wrong key, unreachable)."""
        if self._ticker is not None:
            # The last session ended by itself (reconnects given up, the server ended it): its audio,
            # ticker and journal are still held. Release them, as a disconnect would, before starting anew.
            await self.disconnect()
        self._journal.open()
        self._ending = False
        self._ended.clear()
        self._parts.reset()
        self._guardrails.reset()
        settings = self._handoffs.current_settings()  # nothing spoken yet: the assistant's own voice again
        if settings is not None and self._handoffs.current is not None:
            self._take_assistant(self._handoffs.current, settings)
        await self._client.connect()
        for intent in self._renewal.session_opened():
            self._parts.wire.send(intent)
        await self.sink.start()
        await self.source.start(self._talk.on_mic_block)
        self._ticker = asyncio.create_task(self._tick(), name="session-ticker")

    async def disconnect(self) -> None:
        self._ending = True
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self._tool_runner.cancel_all()
        await self._client.close()
        with contextlib.suppress(Exception):
            await self.source.stop()
        with contextlib.suppress(Exception):
            await self.sink.stop()
        self.conversation.settle_waiting_transcripts()
        self._guardrails.close()
        self._journal.close()
        self._status.set_activity("idle")
        self._status.idle.set()
        self._ended.set()

    async def wait_ended(self) -> None:
        await self._ended.wait()

    async def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Until no response is active or requested, no tool runs and playback has drained; or until the
        session is over (nothing more will come: a turn it left unanswered stays so). False on the time-out."""
        idle = asyncio.ensure_future(self._status.wait_idle(timeout_s))
        ended = asyncio.ensure_future(self._ended.wait())
        try:
            done, _ = await asyncio.wait((idle, ended), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (idle, ended):
                waiter.cancel()
        return ended in done or idle.result()

    def _session_over(self) -> None:
        """Nothing more will happen in this session: release whoever waits for it."""
        self._ended.set()
        self._status.idle.set()

    @property
    def journal_path(self) -> Path | None:
        return self._journal.path

    def _session_payload(self) -> ev.JsonDict:
        tools = self._handoffs.tool_definitions(self.tools.definitions())
        return build_session_payload(
            self.settings, self.endpoint.protocol, tools, include_voice=not self._parts.voice_used
        )

    def update_settings(self, settings: SessionSettings) -> None:
        """Validate (raises SettingsError) and apply; the model name only changes on the next connect."""
        settings.validate()
        if settings.voice != self.settings.voice and self._parts.voice_used:
            log.info("the voice can only change before the assistant first speaks; it applies next session")
        self.settings = settings
        self._parts.wire.codec.set_formats(settings.input_format, settings.output_format)
        self.conversation.transcription_enabled = bool(settings.transcription_model)
        self._resend_settings()
        self._status.update()  # the turn mode may have changed

    # ------------------------------------------------------------------ assistants (profiles)

    @property
    def assistant(self) -> str | None:
        """The name of the assistant talking now (None without profiles)."""
        return self._handoffs.current.name if self._handoffs.current is not None else None

    @property
    def assistants(self) -> list[str]:
        return list(self._handoffs.assistants)

    def set_assistants(self, assistants: Sequence[Assistant], current: str | None = None) -> None:
        """New assistants (the profiles were edited): ``current`` (else the one talking, else the first)
        talks on; a connected session is updated."""
        settings = self._handoffs.use(assistants, current or self.assistant)
        if settings is not None and self._handoffs.current is not None:
            self._take_assistant(self._handoffs.current, settings)
        self._resend_settings()

    def switch_assistant(self, name: str) -> se.Handoff:
        """The person picked another assistant: as a handoff, without a response. KeyError if unknown."""
        return self._handoffs.switch(name, "person")

    def _take_assistant(self, assistant: Assistant, settings: SessionSettings) -> None:
        self.settings = settings
        self._parts.wire.codec.set_formats(settings.input_format, settings.output_format)
        self.conversation.transcription_enabled = bool(settings.transcription_model)
        self._guardrails.use(assistant.guardrails)
        self._status.update()  # the turn mode may have changed

    def _note_handoff(self, event: se.SessionEvent) -> None:
        if isinstance(event, se.Handoff):
            note = handoff_note(event)
            self.conversation.add_note(note)
            self._emit(se.HistoryAdded(note))
        self._emit(event)

    def add_tool(self, func: Callable[..., Any], name: str | None = None, description: str | None = None) -> None:
        self.tools.register(func, name=name, description=description)
        self._resend_settings()

    def remove_tool(self, name: str) -> None:
        self.tools.unregister(name)
        self._resend_settings()

    def tools_changed(self) -> None:
        """``tools`` was changed in place (MCP servers came or went): the server gets the new list."""
        self._resend_settings()

    def approve_calls_with(self, approve: ApproveCall | None) -> None:
        """Ask ``approve`` before every tool call (the app's approval policies); None: every call runs."""
        self._tool_runner.approve = approve

    def _resend_settings(self) -> None:
        if self._client.connected:
            self._parts.wire.send(UpdateSession(self._session_payload()))

    # ------------------------------------------------------------------ talking

    @property
    def push_to_talk_mode(self) -> bool:
        return not self.settings.vad_enabled

    @property
    def mic_open(self) -> bool:
        """Whether microphone audio is sent now: connected, and the talk button held (push-to-talk) or the
        microphone not muted (VAD)."""
        return self._talk.mic_open

    def start_push_to_talk(self) -> None:
        """Button or key pressed: talking interrupts the assistant; start a fresh input buffer."""
        self._talk.press()

    def stop_push_to_talk(self) -> bool:
        """Released: commit and ask for an answer, unless under 100 ms was captured (then discard)."""
        return self._talk.release()

    def commit_input(self) -> bool:
        """Commit what the microphone sent since the last commit and ask for an answer (at least 100 ms)."""
        return self._talk.commit()

    def current_audio_heard(self) -> Heard | None:
        """How much of the answer now playing has been heard, or None when nothing plays."""
        return self._parts.playback.heard_now()

    def set_mic_muted(self, muted: bool) -> None:
        """In VAD modes the push-to-talk button mutes and unmutes the microphone."""
        self._talk.set_muted(muted)

    @property
    def mic_muted(self) -> bool:
        return self._talk.muted

    @property
    def takes_images(self) -> bool:
        """The endpoint's protocol has image content (GA; not beta / Azure preview)."""
        return self.endpoint.protocol == "ga"

    def send_text(self, text: str, images: Sequence[ImagePart] = (), *, respond: bool | None = None) -> None:
        """A typed message: it cuts off the answer in progress and gets its own answer. With ``images``, one
        message holding both; images alone wait for the next turn (see Answers.reply_to_text). Raises
        ImagesNotSupported on a beta (preview) endpoint, which takes no images."""
        if images and not self.takes_images:
            raise ImagesNotSupported(IMAGES_NEED_GA)
        self._answers.reply_to_text(text, images, respond=respond)

    def interrupt(self, reason: se.InterruptReason = "user") -> bool:
        """Silence the assistant at once and tell the server what was heard. True if anything stopped."""
        return self._answers.interrupt(reason)

    def _end_after_goodbye(self) -> None:
        """stop_conversation: let the goodbye finish playing, then end the session."""

        async def finish() -> None:
            await self.wait_idle(timeout_s=30)
            await self.disconnect()
            self._emit(se.SessionEnded("tool"))

        self._ending = True
        self._spawn(finish(), "end-after-goodbye")

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------ the wire and periodic work

    def _on_server_event(self, event: ev.ServerEvent, raw: ev.JsonDict | None) -> None:
        self._watchdog.heard()
        self._router.on_server_event(event, raw)

    def _on_audio_frame(self, fields: ev.AudioFields, raw: ev.JsonDict) -> None:
        self._watchdog.heard()
        self._router.on_audio_frame(fields, raw)

    def _on_sent(self, wire: ev.JsonDict) -> None:
        if self.raw_events:
            self._emit(se.RawModelEvent("client", *for_inspection(wire)))

    def _on_status(self, status: ConnectionStatus) -> None:
        if status.state == "disconnected" and status.detail and not self._ending:
            never_connected = self._status.connection == "connecting"
            self._status.connection = status.state
            if never_connected:  # nothing was lost: the ConnectFailed that connect() raises is the one report
                self._session_over()
            else:
                self._renewal.connection_lost(status.detail)
        self._status.set_connection(status.state, status.attempt)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            if self._watchdog.check():
                self._status.update()
            self._status.tick()
            self._guardrails.tick()
            quiet = self.activity == "idle" and not self._talk.held  # never cut a turn to renew
            self._renewal.maybe_renew(time.monotonic(), quiet)

    @property
    def connection(self) -> ConnectionState:
        return self._status.connection

    @property
    def state(self) -> se.StateChanged:
        """What the controls show now, as the snapshot ``StateChanged`` reports on every change."""
        return self._status.snapshot()

    @property
    def activity(self) -> se.Activity:
        """idle, listening, thinking or speaking (see voicedesk.session.activity)."""
        return self._status.activity

    def history(self) -> tuple[Item, ...]:
        return self.conversation.items()
