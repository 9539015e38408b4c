"""SessionController: the one object the GUI and the headless ``ask`` command talk to.

It wires the realtime client, the audio source and sink, the conversation and the tools together on
the asyncio loop, and reports everything as typed events (voicedesk.session.events). It never imports
Qt: the window calls its methods and listens to its events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from voicedesk.audio.base import SAMPLE_RATE, AudioProblem, AudioSink, AudioSource, Pcm16
from voicedesk.realtime import events as ev
from voicedesk.realtime.client import Backoff, ConnectionState, ConnectionStatus, RealtimeClient
from voicedesk.realtime.endpoint import Endpoint
from voicedesk.realtime.session_config import SessionSettings, build_session_payload
from voicedesk.realtime.transport import TransportFactory, open_websocket
from voicedesk.session import events as se
from voicedesk.session.carryover import carry_over
from voicedesk.session.conversation import Conversation, Item
from voicedesk.session.inspector import elide_audio
from voicedesk.session.journal import Journal
from voicedesk.session.playback_timeline import Heard, PlaybackTracker
from voicedesk.session.server_errors import describe_server_error
from voicedesk.session.tool_calls import ToolCallRunner
from voicedesk.session.wire_audio import AudioCodec, BadAudio
from voicedesk.tools.registry import ToolRegistry

log = logging.getLogger(__name__)

Listener = Callable[[se.SessionEvent], None]
MIN_COMMIT_MS = 100  # the service refuses to commit less ("input_audio_buffer_commit_empty")
TICK_S = 0.02


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
    ) -> None:
        settings.validate()
        self.settings = settings
        self.endpoint = endpoint
        self.source = source
        self.sink = sink
        self.tools = tools or ToolRegistry()
        self.conversation = Conversation(transcription_enabled=bool(settings.transcription_model))
        self._journal_dir = journal_dir
        self._journal: Journal | None = None
        self.conversation.on_finished(self._journal_item)
        self._session_timeout_s = session_timeout_s
        self._listeners: list[Listener] = []
        self._on_input_sent = on_input_sent
        self.raw_events = False
        self._client = RealtimeClient(
            endpoint,
            on_event=self._on_server_event,
            on_audio=self._on_audio_frame,
            on_status=self._on_status,
            on_sent=self._on_sent,
            on_reconnected=self._restore_session,
            reconnect_policy=self._should_reconnect,
            transport_factory=transport_factory,
            backoff=backoff,
        )
        self._playback = PlaybackTracker(sink)
        self._codec = AudioCodec(settings.input_format, settings.output_format)
        self._tool_runner = ToolCallRunner(
            self.tools,
            send=self._client.send,
            request_response=self._request_response,
            emit=self._emit,
            end_session=self._end_after_goodbye,
            timeout_s=tool_timeout_s,
        )
        self.connection: ConnectionState = "disconnected"
        self.activity: se.Activity = "idle"
        self._reset_session_state()
        self._mic_muted = False
        self._ptt_held = False
        self._ending = False
        self._ticker: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._ended = asyncio.Event()
        self._last_error: tuple[float, ev.ServerError] | None = None
        self._renewal_reason: se.SessionRenewed | None = None
        self.session_started_at = 0.0

    def _reset_session_state(self) -> None:
        self._response_id: str | None = None
        self._response_requested = False
        self._response_wanted = False
        self._voice_used = False
        self._appended_samples = 0
        self._turn_started_at: float | None = None
        self._turn_first_audio_ms: float | None = None
        self._response_had_audio = False
        self._speech_started_ms: dict[str, int] = {}
        self._spoken_ms: dict[str, int] = {}
        self._committed_ms = 0

    # ------------------------------------------------------------------ listeners

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: se.SessionEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken view must not break the session
                log.exception("session listener failed on %s", event.kind)

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Connect and configure the session; raises ConnectFailed (wrong key, unreachable)."""
        if self._journal_dir is not None and self._journal is None:
            self._journal = Journal(self._journal_dir)
        self._ending = False
        self._ended.clear()
        self._reset_session_state()
        await self._client.connect()
        self.session_started_at = time.monotonic()
        self._client.send(ev.SessionUpdate(self._session_payload()))
        # Connecting again after a disconnect: the new session still knows the conversation so far.
        specs, _ = carry_over(self.conversation.finished_items())
        for spec in specs:
            self._client.send(ev.ItemCreate(spec))
        await self.sink.start()
        await self.source.start(self._on_mic_block)
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
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        self._set_activity("idle")
        self._idle.set()
        self._ended.set()

    async def wait_ended(self) -> None:
        await self._ended.wait()

    async def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Until no response is active or requested, no tool runs and playback has drained."""
        try:
            await asyncio.wait_for(self._wait_idle_stable(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def _wait_idle_stable(self) -> None:
        while True:
            await self._idle.wait()
            await asyncio.sleep(TICK_S * 3)
            if self._idle.is_set():
                return

    def report_audio_problem(self, problem: AudioProblem) -> None:
        """The audio engine's ``on_problem``: a device vanished or failed, or the microphone went silent."""
        self._emit(se.AudioDeviceProblem.of(problem))

    def _journal_item(self, item: Item) -> None:
        if self._journal is not None:
            self._journal.record(item)

    @property
    def journal_path(self) -> Path | None:
        return self._journal.path if self._journal else None

    # ------------------------------------------------------------------ settings and tools

    def _session_payload(self) -> ev.JsonDict:
        return build_session_payload(
            self.settings,
            self.endpoint.protocol,
            self.tools.definitions(),
            include_voice=not self._voice_used,
        )

    def update_settings(self, settings: SessionSettings) -> None:
        """Validate (raises SettingsError) and apply; the model name only changes on the next connect."""
        settings.validate()
        if settings.voice != self.settings.voice and self._voice_used:
            log.info("the voice can only change before the assistant first speaks; it applies next session")
        self.settings = settings
        if (settings.input_format, settings.output_format) != (self._codec.input_format, self._codec.output_format):
            self._codec = AudioCodec(settings.input_format, settings.output_format)
        self.conversation.transcription_enabled = bool(settings.transcription_model)
        if self._client.connected:
            self._client.send(ev.SessionUpdate(self._session_payload()))

    def add_tool(self, func: Callable[..., Any], name: str | None = None, description: str | None = None) -> None:
        self.tools.register(func, name=name, description=description)
        self._resend_tools()

    def remove_tool(self, name: str) -> None:
        self.tools.unregister(name)
        self._resend_tools()

    def _resend_tools(self) -> None:
        if self._client.connected:
            self._client.send(ev.SessionUpdate(self._session_payload()))

    # ------------------------------------------------------------------ talking

    @property
    def push_to_talk_mode(self) -> bool:
        return not self.settings.vad_enabled

    def start_push_to_talk(self) -> None:
        """Button or key pressed: talking interrupts the assistant; start a fresh input buffer."""
        if self._ptt_held:
            return
        if self._playback.current() is not None or self._response_id is not None:
            self.interrupt()
        self._ptt_held = True
        self._appended_samples = 0
        if self._client.connected:
            self._client.send(ev.InputAudioClear())
        self._set_activity("listening")

    def stop_push_to_talk(self) -> bool:
        """Released: commit and ask for an answer, unless under 100 ms was captured (then discard)."""
        if not self._ptt_held:
            return False
        self._ptt_held = False
        appended_ms = self._appended_samples * 1000 // SAMPLE_RATE
        self._appended_samples = 0
        if appended_ms < MIN_COMMIT_MS or not self._client.connected:
            if self._client.connected:
                self._client.send(ev.InputAudioClear())
            self._update_activity()
            return False
        self._committed_ms = appended_ms
        self._client.send(ev.InputAudioCommit())
        self._start_turn_clock()
        self._request_response()
        return True

    def commit_input(self) -> bool:
        """Commit what the microphone sent since the last commit and ask for an answer (at least 100 ms)."""
        appended_ms = self._appended_samples * 1000 // SAMPLE_RATE
        if appended_ms < MIN_COMMIT_MS or not self._client.connected:
            return False
        self._appended_samples = 0
        self._committed_ms = appended_ms
        self._client.send(ev.InputAudioCommit())
        self._start_turn_clock()
        self._request_response()
        return True

    def current_audio_heard(self) -> Heard | None:
        """How much of the answer now playing has been heard, or None when nothing plays."""
        span = self._playback.current()
        return self._playback.heard(span) if span is not None else None

    def set_mic_muted(self, muted: bool) -> None:
        """In VAD modes the push-to-talk button mutes and unmutes the microphone."""
        self._mic_muted = muted
        self._update_activity()

    @property
    def mic_muted(self) -> bool:
        return self._mic_muted

    def send_text(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if self._playback.current() is not None or self._response_id is not None:
            self.interrupt()
        self._client.send(ev.ItemCreate(ev.MessageSpec("user", text)))
        self._start_turn_clock()
        self._request_response()

    @property
    def mic_open(self) -> bool:
        if not self._client.connected:
            return False
        if self.push_to_talk_mode:
            return self._ptt_held
        return not self._mic_muted

    def _on_mic_block(self, pcm: Pcm16) -> None:
        if not self.mic_open:
            return
        self._client.send(ev.InputAudioAppend(self._codec.encode_input(pcm)))
        self._appended_samples += len(pcm)
        if self._on_input_sent is not None:
            self._on_input_sent(pcm)

    # ------------------------------------------------------------------ interrupting

    def interrupt(self, reason: str = "user") -> bool:
        """Silence the assistant at once and tell the server what was heard. True if anything stopped."""
        span = self._playback.current()
        stopped = False
        if self._response_id is not None and reason == "user":
            self._client.send(ev.ResponseCancel())
            stopped = True
        if span is not None:
            heard = self._playback.cut(span)
            if heard.audio_end_ms > 0:
                self._client.send(ev.ItemTruncate(heard.item_id, heard.content_index, heard.audio_end_ms))
                self.conversation.truncate(heard.item_id, heard.audio_end_ms)
            else:
                self._client.send(ev.ItemDelete(heard.item_id))
                self.conversation.truncate(heard.item_id, 0)
            self._emit(
                se.AudioInterrupted(heard.item_id, heard.audio_end_ms, "barge_in" if reason == "barge_in" else "user")
            )
            self._emit(se.HistoryUpdated(self.conversation.items()))
            stopped = True
        self._update_activity()
        return stopped

    # ------------------------------------------------------------------ server events

    def _on_server_event(self, event: ev.ServerEvent, raw: ev.JsonDict | None) -> None:
        if self.raw_events and raw is not None:
            self._emit(se.RawModelEvent("server", elide_audio(raw)))
        match event:
            case ev.AudioDelta(item_id=item_id, content_index=index, audio=audio):
                self._play_audio(item_id, index, audio)
            case ev.TranscriptDelta(item_id=item_id, content_index=index, delta=delta):
                text = self.conversation.append_assistant_delta(item_id, index, delta)
                if text is not None:
                    self._emit(se.TranscriptDelta(item_id, "assistant", delta, text))
            case ev.TranscriptDone(item_id=item_id, content_index=index, text=text):
                self.conversation.set_assistant_text(item_id, index, text)
            case ev.AudioDone(item_id=item_id):
                self._playback.mark_audio_done(item_id)
            case ev.ItemAdded(item=item, previous_item_id=previous):
                known = item["id"] in self.conversation
                snapshot = self.conversation.add(item, previous)
                spoken_ms = self._spoken_ms.pop(item["id"], None)
                if spoken_ms:
                    self.conversation.set_input_audio_ms(item["id"], spoken_ms)
                    snapshot = self.conversation.get(item["id"])
                if snapshot is not None and not known:
                    self._emit(se.HistoryAdded(snapshot))
            case ev.ItemDone(item=item) | ev.OutputItemDone(item=item):
                self._on_item_done(event, item)
            case ev.OutputItemAdded(item=item):
                if item["id"] not in self.conversation:
                    snapshot = self.conversation.add(item, self.conversation.last_id())
                    if snapshot is not None:
                        self._emit(se.HistoryAdded(snapshot))
            case ev.InputTranscriptDelta(item_id=item_id, delta=delta):
                snapshot = self.conversation.append_input_transcript(item_id, delta)
                if snapshot is not None:
                    self._emit(se.TranscriptDelta(item_id, "user", delta, snapshot.display_text))
            case ev.InputTranscriptCompleted(item_id=item_id, transcript=transcript):
                if self.conversation.set_input_transcript(item_id, transcript) is not None:
                    self._emit(se.HistoryUpdated(self.conversation.items()))
            case ev.InputTranscriptFailed(item_id=item_id, message=message):
                self.conversation.input_transcript_failed(item_id)
                self._emit(se.ErrorOccurred(f"Could not transcribe what you said: {message}", "transcription_failed"))
            case ev.SpeechStarted(item_id=item_id, audio_start_ms=start_ms):
                self._speech_started_ms[item_id] = start_ms
                self._on_speech_started()
            case ev.SpeechStopped(item_id=item_id, audio_end_ms=end_ms):
                began_ms = self._speech_started_ms.pop(item_id, None)
                if began_ms is not None:
                    self._spoken_ms[item_id] = end_ms - began_ms
                self._start_turn_clock()
                if self.settings.turn_detection.create_response:
                    self._response_requested = True  # the server answers the committed turn by itself
                self._update_activity()
            case ev.AudioCommitted(item_id=item_id):
                self._spoken_ms.setdefault(item_id, self._committed_ms)
                self._appended_samples = 0
            case ev.ResponseCreated(response_id=response_id):
                self._response_id = response_id
                self._response_requested = False
                self._response_had_audio = False
                self._idle.clear()
                self._emit(se.AgentStart(response_id))
                self._update_activity()
            case ev.ResponseDone():
                self._on_response_done(event)
            case ev.ItemDeleted(item_id=item_id):
                if self.conversation.remove(item_id):
                    self._emit(se.HistoryUpdated(self.conversation.items()))
            case ev.ItemTruncated(item_id=item_id, audio_end_ms=end_ms):
                self.conversation.truncate(item_id, end_ms)
            case ev.FunctionArgumentsDelta(item_id=item_id, delta=delta):
                self.conversation.set_function_arguments(item_id, delta, append=True)
            case ev.FunctionArgumentsDone(item_id=item_id, arguments=arguments):
                self.conversation.set_function_arguments(item_id, arguments, append=False)
            case ev.ServerError():
                self._on_server_error(event)
            case ev.MalformedEvent(reason=reason):
                log.warning("ignored a malformed server frame: %s", reason)
            case ev.SessionCreated() | ev.SessionUpdated() | ev.OtherEvent():
                pass

    def _on_audio_frame(self, fields: ev.AudioFields, raw: ev.JsonDict) -> None:
        """The client's shortcut for a well-formed audio delta: what ``_on_server_event`` does with one."""
        if self.raw_events:
            self._emit(se.RawModelEvent("server", elide_audio(raw)))
        _, item_id, content_index, audio = fields
        self._play_audio(item_id, content_index, audio)

    def _play_audio(self, item_id: str, content_index: int, audio: str) -> None:
        try:
            pcm = self._codec.decode_output(audio)
        except BadAudio as exc:
            log.warning("dropped an audio delta that is not valid base64: %s", exc)
            return
        if not self._playback.write(item_id, content_index, pcm):
            return  # audio of an interrupted item still in flight: never play it
        self._voice_used = True
        self.conversation.add_audio(item_id, len(pcm))
        if not self._response_had_audio:
            self._response_had_audio = True
            self._playback.note_first_write(item_id)
            if self._turn_started_at is not None and self._turn_first_audio_ms is None:
                self._turn_first_audio_ms = (time.monotonic() - self._turn_started_at) * 1000
        self._emit(se.AudioChunk(item_id, pcm))
        if self.activity != "speaking":
            self._set_activity("speaking")

    def _on_item_done(self, event: ev.ServerEvent, item: ev.JsonDict) -> None:
        snapshot = self.conversation.mark_done(item)
        if snapshot is None:
            return
        if snapshot.type == "function_call" and snapshot.call_id and snapshot.name:
            response_id = event.response_id if isinstance(event, ev.OutputItemDone) else self._response_id
            if response_id is not None:
                self._tool_runner.start(response_id, snapshot.call_id, snapshot.name, snapshot.arguments or "{}")
        self._emit(se.HistoryUpdated(self.conversation.items()))

    def _on_speech_started(self) -> None:
        # Barge-in: the person talks over the assistant. With interrupt_response the server cancels its
        # own response; we stop what is still playing locally and tell it what was heard.
        if self.settings.turn_detection.interrupt_response and self._playback.current() is not None:
            self.interrupt("barge_in")
        self._set_activity("listening")

    def _on_response_done(self, event: ev.ResponseDone) -> None:
        if event.response_id == self._response_id:
            self._response_id = None
        self._playback.mark_all_audio_done()
        self._emit(se.AgentEnd(event.response_id, event.status))
        usage = event.response.get("usage")
        if isinstance(usage, dict):
            self._emit(
                se.UsageReported(
                    event.response_id,
                    int(usage.get("input_tokens") or 0),
                    int(usage.get("output_tokens") or 0),
                    int(usage.get("total_tokens") or 0),
                    {k: v for k, v in usage.items() if k.endswith("_details")},
                )
            )
        if event.status == "failed":
            self._report_failed_response(event.response)
        self.conversation.settle_waiting_transcripts()
        self._tool_runner.response_done(event.response_id)
        if self._response_wanted and self._response_id is None:
            self._response_wanted = False
            self._request_response()
        self._update_activity()

    def _report_failed_response(self, response: ev.JsonDict) -> None:
        details = response.get("status_details")
        error = details.get("error") if isinstance(details, dict) else None
        if isinstance(error, dict):
            code = error.get("code") if isinstance(error.get("code"), str) else None
            message = str(error.get("message") or "the response failed")
            failure = ev.ServerError(message, str(error.get("type") or "error"), code, None, None)
            self._emit(describe_server_error(failure))
        else:
            self._emit(se.ErrorOccurred("The model could not finish its answer.", "response_failed"))

    def _on_server_error(self, error: ev.ServerError) -> None:
        self._last_error = (time.monotonic(), error)
        if error.code == "session_expired":
            self._renewal_reason = se.SessionRenewed("expired", 0, 0)
            return
        if error.code == "response_cancel_not_active":
            return  # a harmless race: the response ended before our cancel arrived
        sent = self._client.sent_event(error.event_id)
        if sent is not None and sent.get("type") == "response.create":
            self._response_requested = False
            self._update_activity()
        self._emit(describe_server_error(error))

    # ------------------------------------------------------------------ responses and turns

    def _request_response(self) -> None:
        if self._response_id is not None:
            # Still active (e.g. cancelled but not yet done): ask once it is done, or the server refuses.
            self._response_wanted = True
            self._idle.clear()
            return
        if self._response_requested:
            return
        self._response_requested = True
        self._idle.clear()
        self._client.send(ev.ResponseCreate())
        self._update_activity()

    def _start_turn_clock(self) -> None:
        self._turn_started_at = time.monotonic()
        self._turn_first_audio_ms = None
        self._playback.expect_first_audio()
        self._idle.clear()

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

    # ------------------------------------------------------------------ connection

    def _on_status(self, status: ConnectionStatus) -> None:
        self.connection = status.state
        if status.state == "disconnected" and status.detail and not self._ending:
            self._emit(
                se.ErrorOccurred(
                    f"The connection was lost and could not be restored: {status.detail}",
                    "connection_lost",
                    hint="Check the network and press Connect.",
                    fatal=True,
                )
            )
            self._ended.set()
            self._idle.set()
        self._emit(se.StateChanged(self.connection, self.activity))

    def _on_sent(self, wire: ev.JsonDict) -> None:
        if self.raw_events:
            self._emit(se.RawModelEvent("client", elide_audio(wire)))

    def _should_reconnect(self, clean: bool) -> bool:
        """A clean close right after a server error (other than expiry) means the server ended the
        session on purpose: reconnecting would only repeat it."""
        if not clean or self._last_error is None:
            return True
        at, error = self._last_error
        if error.code == "session_expired" or time.monotonic() - at > 5.0:
            return True
        self._emit(
            se.ErrorOccurred(f"The server ended the session: {error.message}", "session_ended_by_server", fatal=True)
        )
        self._ended.set()
        self._idle.set()
        return False

    def _restore_session(self) -> Sequence[ev.ClientEvent]:
        """A new server session: settings first, then the conversation so far, then the interrupted turn."""
        unanswered = (
            self._response_id is not None or self._response_requested or self._response_wanted or self._tool_runner.busy
        )
        span = self._playback.current()
        if span is not None and not span.audio_done:
            # An answer cut off by the drop: it was never finished on the server, so ask again.
            self._playback.cut(span)
            self.conversation.remove(span.item_id)
            self._emit(se.HistoryUpdated(self.conversation.items()))
        self._reset_session_state()
        self._tool_runner.reset()
        self.session_started_at = time.monotonic()
        specs, summarized = carry_over(self.conversation.finished_items())
        restore: list[ev.ClientEvent] = [ev.SessionUpdate(self._session_payload())]
        restore += [ev.ItemCreate(spec) for spec in specs]
        reason = self._renewal_reason.reason if self._renewal_reason else "reconnected"
        self._renewal_reason = None
        if unanswered:
            self._response_requested = True
            restore.append(ev.ResponseCreate())
        self._emit(se.SessionRenewed(reason, len(specs), summarized))
        return restore

    # ------------------------------------------------------------------ periodic work

    async def _tick(self) -> None:
        last_levels = 0.0
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            for item_id in self._playback.finished_items():
                self._emit(se.AudioEnd(item_id))
            played_at = self._playback.poll_first_played()
            if played_at is not None and self._turn_started_at is not None and self._turn_first_audio_ms is not None:
                self._emit(se.TurnLatency(self._turn_first_audio_ms, (played_at - self._turn_started_at) * 1000))
                self._turn_started_at = None
            if now - last_levels >= 0.05:
                last_levels = now
                mic, out = self.source.levels(), self.sink.levels()
                self._emit(se.LevelsUpdated(mic.peak, mic.rms, out.peak, out.rms))
            self._update_activity()
            self._maybe_renew(now)

    def _maybe_renew(self, now: float) -> None:
        limit = self._session_timeout_s
        if limit is None or not self._client.connected or now - self.session_started_at < limit:
            return
        if self.activity != "idle" or self._ptt_held:
            return  # never cut a turn: renew at the next quiet moment
        self._renewal_reason = se.SessionRenewed("timeout", 0, 0)
        self.session_started_at = now
        self._spawn(self._client.renew(), "session-renew")

    def _update_activity(self) -> None:
        if self._ptt_held:
            activity: se.Activity = "listening"
        elif self._playback.is_playing():
            activity = "speaking"
        elif self._response_id is not None or self._response_requested or self._tool_runner.busy:
            activity = "thinking"
        elif not self.push_to_talk_mode and not self._mic_muted and self._client.connected:
            activity = "listening"
        else:
            activity = "idle"
        self._set_activity(activity)
        if self._busy():
            self._idle.clear()
        else:
            self._idle.set()

    def _busy(self) -> bool:
        return (
            self._response_id is not None
            or self._response_requested
            or self._response_wanted
            or self._tool_runner.busy
            or self._playback.current() is not None
        )

    def _set_activity(self, activity: se.Activity) -> None:
        if activity != self.activity:
            self.activity = activity
            self._emit(se.StateChanged(self.connection, activity))

    # ------------------------------------------------------------------ helpers for views

    def history(self) -> tuple[Item, ...]:
        return self.conversation.items()
