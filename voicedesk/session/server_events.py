"""Server events into the session: the conversation, answer audio, transcripts, the response state,
tool calls, usage, rate limits and errors.

Every server event type is handled here, in one exhaustive ``match``: a new event type in
voicedesk.realtime.events fails the type check until it is routed (or consciously ignored).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import assert_never

from voicedesk.realtime import events as ev
from voicedesk.realtime.session_config import SessionSettings
from voicedesk.session import events as se
from voicedesk.session.answers import Answers
from voicedesk.session.guardrails import GuardrailRunner
from voicedesk.session.inspector import for_inspection
from voicedesk.session.parts import SessionParts
from voicedesk.session.rate_limits import (
    RATE_LIMIT_CODE,
    RateLimitRetries,
    RequestGate,
    failed_response_error,
    is_transient,
)
from voicedesk.session.server_errors import describe_server_error
from voicedesk.session.tool_calls import ToolCallRunner
from voicedesk.session.wire_audio import BadAudio

log = logging.getLogger(__name__)


class ServerEventRouter:
    def __init__(
        self,
        parts: SessionParts,
        answers: Answers,
        tool_runner: ToolCallRunner,
        *,
        settings: Callable[[], SessionSettings],
        raw_events: Callable[[], bool],
        set_activity: Callable[[se.Activity], None],
        update_activity: Callable[[], None],
        sent_event: Callable[[str | None], ev.JsonDict | None],
        note_error: Callable[[ev.ServerError], bool],
        rate_limits: RateLimitRetries,
        request_gate: RequestGate,
        turn_answered: Callable[[], None],
        guardrails: GuardrailRunner,
    ) -> None:
        self._parts = parts
        self._conversation = parts.conversation
        self._playback = parts.playback
        self._responses = parts.responses
        self._input = parts.input
        self._turn = parts.turn_clock
        self._sender = parts.wire
        self._emit = parts.emit
        self._answers = answers
        self._tools = tool_runner
        self._settings = settings
        self._raw_events = raw_events
        self._set_activity = set_activity
        self._update_activity = update_activity
        self._sent_event = sent_event
        self._note_error = note_error
        self._rate_limits = rate_limits
        self._request_gate = request_gate
        self._turn_answered = turn_answered
        self._guardrails = guardrails

    def on_server_event(self, event: ev.ServerEvent, raw: ev.JsonDict | None) -> None:
        if raw is not None and self._raw_events():
            self._emit(se.RawModelEvent("server", *for_inspection(raw)))
        self.route(event)

    def on_audio_frame(self, fields: ev.AudioFields, raw: ev.JsonDict) -> None:
        """The client's shortcut for a well-formed audio delta: what ``on_server_event`` does with one."""
        if self._raw_events():
            self._emit(se.RawModelEvent("server", *for_inspection(raw)))
        _, item_id, content_index, audio = fields
        self.play_audio(item_id, content_index, audio)

    def route(self, event: ev.ServerEvent) -> None:
        conversation = self._conversation
        match event:
            case ev.AudioDelta(item_id=item_id, content_index=index, audio=audio):
                self.play_audio(item_id, index, audio)
            case ev.TranscriptDelta(item_id=item_id, content_index=index, delta=delta):
                text = conversation.append_assistant_delta(item_id, index, delta)
                if text is not None:
                    self._emit(se.TranscriptDelta(item_id, "assistant", delta, text))
                    self._guardrails.on_text(item_id, text)
            case ev.TranscriptDone(item_id=item_id, content_index=index, text=text):
                conversation.set_assistant_text(item_id, index, text)
                done = conversation.get(item_id)
                if done is not None:
                    self._guardrails.on_text(item_id, done.display_text, final=True)
            case ev.AudioDone(item_id=item_id):
                self._playback.mark_audio_done(item_id)
            case ev.ItemAdded(item=item, previous_item_id=previous):
                self._on_item_added(item, previous)
            case ev.ItemDone(item=item):
                self._on_item_done(item, self._responses.response_id)
            case ev.OutputItemDone(item=item, response_id=response_id):
                self._on_item_done(item, response_id)
            case ev.OutputItemAdded(item=item):
                if item["id"] not in conversation:
                    snapshot = conversation.add(item, conversation.last_id())
                    if snapshot is not None:
                        self._emit(se.HistoryAdded(snapshot))
            case ev.InputTranscriptDelta(item_id=item_id, delta=delta):
                snapshot = conversation.append_input_transcript(item_id, delta)
                if snapshot is not None:
                    self._emit(se.TranscriptDelta(item_id, "user", delta, snapshot.display_text))
            case ev.InputTranscriptCompleted(item_id=item_id, transcript=transcript):
                if conversation.set_input_transcript(item_id, transcript) is not None:
                    self._emit(se.HistoryUpdated(conversation.items()))
            case ev.InputTranscriptFailed(item_id=item_id, message=message):
                conversation.input_transcript_failed(item_id)
                self._emit(se.ErrorOccurred(f"Could not transcribe what you said: {message}", "transcription_failed"))
            case ev.SpeechStarted(item_id=item_id, audio_start_ms=start_ms):
                self._input.speech_started(item_id, start_ms)
                self._on_speech_started()
            case ev.SpeechStopped(item_id=item_id, audio_end_ms=end_ms):
                self._input.speech_stopped(item_id, end_ms)
                self._turn.start()
                if self._settings().turn_detection.create_response:
                    self._responses.expect_server_response()  # the server answers the committed turn by itself
                self._update_activity()
            case ev.AudioCommitted(item_id=item_id):
                self._input.committed(item_id)
            case ev.ResponseCreated(response_id=response_id):
                self._responses.created(response_id)
                self._turn.response_started()
                self._emit(se.AgentStart(response_id))
                self._update_activity()
            case ev.ResponseDone():
                self._on_response_done(event)
            case ev.ItemDeleted(item_id=item_id):
                if conversation.remove(item_id):
                    self._emit(se.HistoryUpdated(conversation.items()))
            case ev.ItemTruncated(item_id=item_id, audio_end_ms=end_ms):
                conversation.truncate(item_id, end_ms)
            case ev.FunctionArgumentsDelta(item_id=item_id, delta=delta):
                conversation.set_function_arguments(item_id, delta, append=True)
            case ev.FunctionArgumentsDone(item_id=item_id, arguments=arguments):
                conversation.set_function_arguments(item_id, arguments, append=False)
            case ev.ServerError():
                self._on_server_error(event)
            case ev.RateLimitsUpdated(rate_limits=limits):
                self._request_gate.report(limits)
                self._emit(se.RateLimitsReported(limits))
            case ev.MalformedEvent(reason=reason):
                log.warning("ignored a malformed server frame: %s", reason)
            case ev.SessionCreated() | ev.SessionUpdated() | ev.OtherEvent():
                pass
            case _:
                assert_never(event)

    def play_audio(self, item_id: str, content_index: int, audio: str) -> None:
        """An answer's audio delta (also the receive path's shortcut for well-formed deltas)."""
        try:
            pcm = self._sender.codec.decode_output(audio)
        except BadAudio as exc:
            log.warning("dropped an audio delta that is not valid base64: %s", exc)
            return
        if not self._playback.write(item_id, content_index, pcm):
            return  # audio of an interrupted item still in flight: never play it
        self._parts.voice_used = True
        self._conversation.add_audio(item_id, len(pcm))
        self._turn.audio_received(item_id)
        self._emit(se.AudioChunk(item_id, pcm))
        self._set_activity("speaking")

    def _on_item_added(self, item: ev.JsonDict, previous_item_id: str | None) -> None:
        conversation = self._conversation
        known = item["id"] in conversation
        snapshot = conversation.add(item, previous_item_id)
        spoken_ms = self._input.take_spoken_ms(item["id"])
        if spoken_ms:
            conversation.set_input_audio_ms(item["id"], spoken_ms)
            snapshot = conversation.get(item["id"])
        if snapshot is not None and not known:
            self._emit(se.HistoryAdded(snapshot))

    def _on_item_done(self, item: ev.JsonDict, response_id: str | None) -> None:
        snapshot = self._conversation.mark_done(item)
        if snapshot is None:
            return
        if snapshot.type == "function_call" and snapshot.call_id and snapshot.name and response_id is not None:
            self._tools.start(response_id, snapshot.call_id, snapshot.name, snapshot.arguments or "{}")
        self._emit(se.HistoryUpdated(self._conversation.items()))

    def _on_speech_started(self) -> None:
        # Barge-in: the person talks over the assistant. With interrupt_response the server cancels its
        # own response; we stop what is still playing locally and tell it what was heard.
        if self._settings().turn_detection.interrupt_response and self._playback.current() is not None:
            self._answers.interrupt("barge_in")
        self._set_activity("listening")

    def _on_response_done(self, event: ev.ResponseDone) -> None:
        send_deferred_create = self._responses.done(event.response_id)
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
        self._on_response_outcome(event)
        self._conversation.settle_waiting_transcripts()
        self._tools.response_done(event.response_id)
        if send_deferred_create:
            self._answers.send_deferred()
        self._update_activity()

    def _on_response_outcome(self, event: ev.ResponseDone) -> None:
        if event.status in ("completed", "incomplete"):  # an answer, even one stopped short
            self._rate_limits.answered()
            self._turn_answered()
        if event.status == "failed":
            error = failed_response_error(event.response)
            if error is None:
                self._emit(se.ErrorOccurred("The model could not finish its answer.", "response_failed"))
            elif not (is_transient(error) and self._rate_limits.retry(error)):
                self._emit(describe_server_error(error))
        elif event.status == "incomplete":
            why = why_incomplete(event.response)
            output = event.response.get("output")
            ids = [o.get("id") for o in output if isinstance(o, dict)] if isinstance(output, list) else []
            if any([self._conversation.mark_cut_off(i, why) for i in ids if isinstance(i, str)]):
                self._emit(se.HistoryUpdated(self._conversation.items()))
            self._emit(se.ErrorOccurred(f"The answer was {why}.", "response_incomplete"))

    def _on_server_error(self, error: ev.ServerError) -> None:
        if self._note_error(error):
            return  # the session expired: renewal carries the conversation over, nothing to tell
        if error.code == "response_cancel_not_active":
            return  # a harmless race: the response ended before our cancel arrived
        sent = self._sent_event(error.event_id)
        refused_create = sent is not None and sent.get("type") == "response.create"
        if refused_create:
            self._responses.create_refused()
        elif error.code == RATE_LIMIT_CODE and error.event_id is None and self._responses.phase == "create_sent":
            # server VAD's own response for the committed turn was refused: ask for it ourselves
            self._responses.create_refused()
            refused_create = True
        retrying = refused_create and is_transient(error) and self._rate_limits.retry(error)
        self._update_activity()
        if not retrying:
            self._emit(describe_server_error(error))


_INCOMPLETE_REASONS = {
    "max_output_tokens": "cut off: it reached the token limit",
    "content_filter": "stopped by the content filter",
}


def why_incomplete(response: ev.JsonDict) -> str:
    """Why an answer is ``incomplete`` (``status_details.reason``), in words."""
    details = response.get("status_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    return _INCOMPLETE_REASONS.get(str(reason), f"incomplete ({reason or 'no reason given'})")
