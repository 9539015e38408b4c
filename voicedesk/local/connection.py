"""One client connection: the receive loop, client event handlers, and everything a session owns. The handlers
that edit conversation items live in item_events, the transcripts waiting to go out in pending_transcripts.

Client events are handled one at a time in arrival order, like the service. Responses stream in their own
task so the receive loop keeps taking audio, cancels and truncations while an answer plays. A malformed or
refused client event gets an ``error`` event; the connection stays up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.local import errors
from voicedesk.local.codec import decode_b64, to_pcm24
from voicedesk.local.conversation import StoredItem
from voicedesk.local.errors import ClientError
from voicedesk.local.faults import FaultState
from voicedesk.local.input_audio import InputAudio, TurnStarted
from voicedesk.local.item_events import ItemEvents
from voicedesk.local.link import receive, refuse_by_fault
from voicedesk.local.pending_transcripts import TRANSCRIPT_FALLBACK_S, PendingTranscripts
from voicedesk.local.response_params import parse_request
from voicedesk.local.responses import ResponseStream
from voicedesk.local.session_config import SessionConfig, updated
from voicedesk.local.session_state import SessionRecord
from voicedesk.local.transcription import rate_limits_report
from voicedesk.local.wire import Dialect, IdMaker, JsonDict, dumps

log = logging.getLogger(__name__)

CLIENT_EVENTS = (
    "session.update", "input_audio_buffer.append", "input_audio_buffer.commit", "input_audio_buffer.clear",
    "conversation.item.create", "conversation.item.truncate", "conversation.item.delete",
    "conversation.item.retrieve", "response.create", "response.cancel",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ServerContext:
    """What a connection needs from the server that accepted it."""

    pace: float
    session_max_s: float
    record_audio: bool
    faults: FaultState
    next_transcript: Callable[[], str | None]
    latency_s: float = 0.0


class Connection:
    def __init__(self, ws: ServerConnection, ctx: ServerContext, *, path: str, beta: bool, model: str) -> None:
        self.ws = ws
        self.ctx = ctx
        self.ids = IdMaker()
        self.dialect = Dialect(beta)
        self.faults = ctx.faults
        self.pace = ctx.pace
        self.conversation_id = self.ids.new("conv")
        self.config = SessionConfig(
            id=self.ids.new("sess"), model=model, expires_at=int(time.time() + ctx.session_max_s)
        )
        self.record = SessionRecord(id=self.config.id, path=path, beta=beta, model=model, session_config=self.config)
        self.conversation = self.record.conversation
        self.audio = InputAudio(self.ids)
        self.audio.configure(self.config.vad_settings())
        self.active: ResponseStream | None = None
        self.out_of_band: set[ResponseStream] = set()
        self.transcripts = PendingTranscripts(self.emit, self.conversation)
        self.items = ItemEvents(self)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_input_tokens = 0
        self._requests = 0
        self._tokens = 0
        self._handlers: dict[str, Callable[[JsonDict], Awaitable[None]]] = {
            "session.update": self._session_update,
            "input_audio_buffer.append": self._append,
            "input_audio_buffer.commit": self._commit,
            "input_audio_buffer.clear": self._clear,
            "conversation.item.create": self.items.create,
            "conversation.item.truncate": self.items.truncate,
            "conversation.item.delete": self.items.delete,
            "conversation.item.retrieve": self.items.retrieve,
            "response.create": self._response_create,
            "response.cancel": self._response_cancel,
        }

    # --- lifecycle ---

    async def run(self) -> None:
        refused = await refuse_by_fault(self.ws, self.ctx.faults.faults)
        if refused is not None:
            self.record.close_reason = refused
            return
        expiry = self._spawn(self._expire())
        try:
            await self.emit("session.created", session=self.config.render(self.dialect.beta))
            await receive(self.ws, self._frame, self.ctx.latency_s)
        except ConnectionClosed:
            pass
        finally:
            for task in list(self._tasks):
                if task is not expiry or self.record.close_reason != "session_expired":
                    task.cancel()  # but let an expiry finish the close it started
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self.record.closed = True
            self.record.close_reason = self.record.close_reason or "client closed"

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _expire(self) -> None:
        await asyncio.sleep(self.ctx.session_max_s)
        for stream in self._streams():
            if stream.task is not None:
                stream.task.cancel()
        self.record.close_reason = "session_expired"
        with contextlib.suppress(ConnectionClosed):
            await self._error(errors.session_expired(), None)
            await self.ws.close(1001, "session expired")

    # --- sending (the ResponseHost side) ---

    async def emit(self, ga_type: str, **fields: Any) -> None:
        name = self.dialect.event_type(ga_type)
        if name is None or (ga_type == "response.done" and self.faults.take_lost_done()):
            return
        if "item" in fields:
            fields["item"] = self.dialect.item(fields["item"])
        self.record.sent_types.append(name)
        if name == "error":
            self.record.errors.append(fields["error"])
        await self.ws.send(dumps({"type": name, "event_id": self.ids.new("event"), **fields}))

    async def send_raw(self, frame: str | bytes) -> None:
        self.record.sent_types.append("<raw frame>")
        await self.ws.send(frame)

    def abort(self) -> None:
        self.record.close_reason = "dropped by fault injection"
        self.ws.transport.abort()

    async def close(self, code: int, reason: str) -> None:
        self.record.close_reason = f"closed ({code}) by fault injection"
        with contextlib.suppress(ConnectionClosed):
            await self.ws.close(code, reason)

    def cached_tokens(self, input_tokens: int) -> int:
        previous, self._last_input_tokens = self._last_input_tokens, input_tokens
        return 0 if previous < 1024 else min(previous, input_tokens) // 64 * 64

    def finished(self, stream: ResponseStream, response: JsonDict, usage: JsonDict | None) -> None:
        # Called just before response.done goes out, so a response.create sent on seeing it is accepted.
        if self.active is stream:
            self.active = None
        self.out_of_band.discard(stream)
        self.record.responses.append(response)
        self._requests += 1
        self._tokens += usage["total_tokens"] if usage else 0

    async def rate_limits(self) -> None:
        await self.emit("rate_limits.updated", rate_limits=rate_limits_report(self._requests, self._tokens))

    async def flush_transcripts(self) -> None:
        await self.transcripts.flush(str((self.config.transcription or {}).get("model", "")))

    # --- receiving ---

    async def _frame(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self.record.client_events.append({"_invalid_frame": f"<binary frame of {len(message)} bytes>"})
            await self._error(errors.binary_frame(), None)
            return
        try:
            event = json.loads(message)
        except ValueError as exc:
            self.record.client_events.append({"_invalid_frame": message[:200]})
            await self._error(errors.invalid_json(str(exc)), None)
            return
        if not isinstance(event, dict):
            self.record.client_events.append({"_invalid_frame": message[:200]})
            await self._error(errors.not_an_object(event), None)
            return
        self._remember(event)
        client_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        try:
            await self._dispatch(event)
        except ClientError as exc:
            await self._error(exc, client_id)
        except ConnectionClosed:
            raise
        except Exception:
            log.exception("local server: internal error handling %s", event.get("type"))
            await self._error(
                ClientError(
                    "The server had an error while processing your request. Sorry about that!",
                    code=None,
                    type_="server_error",
                ),
                client_id,
            )

    def _remember(self, event: JsonDict) -> None:
        if not self.ctx.record_audio and event.get("type") == "input_audio_buffer.append":
            audio = event.get("audio")
            event = {**event, "audio": f"<{len(audio) if isinstance(audio, str) else 0} base64 chars>"}
        self.record.client_events.append(event)

    async def _dispatch(self, event: JsonDict) -> None:
        kind = event.get("type")
        if kind is None:
            raise errors.missing_parameter("type")
        handler = self._handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            raise errors.unknown_event_type(kind, CLIENT_EVENTS)
        await handler(event)

    def _rate_limit_fault(self, request: Any) -> ClientError | None:
        """An armed rate limit, in the fault's style: the error that refuses the response, or None when there is
        none or when the response itself will fail (``request.rate_limited``)."""
        if not self.faults.take_rate_limit():
            return None
        if self.faults.faults.rate_limit_style == "error":
            return errors.rate_limited(self.config.model, self.faults.faults.rate_limit_retry_after_s)
        request.rate_limited = True
        return None

    async def _error(self, exc: ClientError, client_event_id: str | None) -> None:
        await self.emit("error", error=exc.payload(client_event_id))

    # --- session and input audio ---

    async def _session_update(self, event: JsonDict) -> None:
        if "session" not in event:
            raise errors.missing_parameter("session")
        self.config = updated(
            self.config,
            event["session"],
            beta=self.dialect.beta,
            assistant_audio=self.conversation.has_assistant_audio(),
        )
        self.record.session_config = self.config
        self.audio.configure(self.config.vad_settings())
        await self.emit("session.updated", session=self.config.render(self.dialect.beta))

    async def _append(self, event: JsonDict) -> None:
        data = event.get("audio")
        if data is None:
            raise errors.missing_parameter("audio")
        if not isinstance(data, str):
            raise errors.invalid_type("audio", data, "a string")
        try:
            pcm = to_pcm24(decode_b64(data), self.config.input_format)
        except ValueError as exc:
            raise errors.invalid_audio(str(exc)) from exc
        for turn in self.audio.append(pcm):
            if isinstance(turn, TurnStarted):
                await self.emit(
                    "input_audio_buffer.speech_started", audio_start_ms=turn.audio_start_ms, item_id=turn.item_id
                )
                if self.active is not None and self.config.turn_flag("interrupt_response"):
                    await self.cancel_response(self.active, "turn_detected")
                continue
            await self.emit("input_audio_buffer.speech_stopped", audio_end_ms=turn.audio_end_ms, item_id=turn.item_id)
            await self._commit_audio(turn.item_id, turn.audio)
            if self.config.turn_flag("create_response") and self.active is None:
                request = parse_request(None, self.config, conversation=self.conversation,
                                        dialect=self.dialect, ids=self.ids)  # fmt: skip
                if (refusal := self._rate_limit_fault(request)) is not None:  # the service's own response
                    await self._error(refusal, None)
                    continue
                self._start_response(request)

    async def _commit(self, event: JsonDict) -> None:
        samples = self.audio.buffered_samples
        if samples < SAMPLE_RATE // 10:
            raise errors.commit_empty(samples * 1000 / SAMPLE_RATE)
        item_id, pcm = self.audio.commit()
        await self._commit_audio(item_id, pcm)

    async def _commit_audio(self, item_id: str, pcm: Any) -> None:
        heard = self.ctx.next_transcript() or f"({pcm.size / SAMPLE_RATE:.1f} seconds of speech)"
        item: JsonDict = {
            "id": item_id, "object": "realtime.item", "type": "message", "role": "user", "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }  # fmt: skip
        previous = self.conversation.insert(StoredItem(item, heard=heard, input_audio=pcm))
        await self.emit("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)
        await self.emit("conversation.item.added", previous_item_id=previous, item=item)
        await self.emit("conversation.item.done", previous_item_id=previous, item=item)
        if self.config.transcription is not None:
            self.transcripts.add(item_id, heard, pcm.size / SAMPLE_RATE)
            self._spawn(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(TRANSCRIPT_FALLBACK_S)
        with contextlib.suppress(ConnectionClosed):
            await self.flush_transcripts()

    async def _clear(self, event: JsonDict) -> None:
        self.audio.clear()
        await self.emit("input_audio_buffer.cleared")

    # --- responses ---

    async def _response_create(self, event: JsonDict) -> None:
        request = parse_request(
            event.get("response"), self.config, conversation=self.conversation, dialect=self.dialect, ids=self.ids
        )
        if request.in_conversation and self.active is not None:
            raise errors.active_response(self.active.id)
        if self.faults.take_session_failure():
            self.record.close_reason = "server_error"
            with contextlib.suppress(ConnectionClosed):
                await self._error(errors.internal_error(), event.get("event_id"))
                await self.ws.close(1011, "server error")
            return
        if (refusal := self._rate_limit_fault(request)) is not None:
            raise refusal
        if (code := self.faults.faults.close_every_response) is not None:
            self.record.close_reason = f"closed mid-answer ({code}) by fault injection"
            with contextlib.suppress(ConnectionClosed):
                await self.emit("response.created", response={"id": self.ids.new("resp"), "object": "realtime.response",
                                                              "status": "in_progress", "output": []})  # fmt: skip
                await self.ws.close(code, "internal error")
            return
        self._start_response(request)

    def _start_response(self, request: Any) -> None:
        stream = ResponseStream(host=self, request=request, id=self.ids.new("resp"))
        if request.in_conversation:
            self.active = stream
        else:
            self.out_of_band.add(stream)
        stream.task = self._spawn(self._run_stream(stream))

    async def _run_stream(self, stream: ResponseStream) -> None:
        try:
            await stream.run()
            await self.rate_limits()
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("local server: response %s failed", stream.id)
        finally:
            if self.active is stream:
                self.active = None
            self.out_of_band.discard(stream)

    async def _response_cancel(self, event: JsonDict) -> None:
        wanted = event.get("response_id")
        target = next(
            (s for s in self._streams() if wanted is None or s.id == wanted),
            None,
        )
        if target is None:
            raise errors.cancel_not_active()
        await self.cancel_response(target, "client_cancelled")

    async def cancel_response(self, stream: ResponseStream, reason: str) -> None:
        stream.cancel(reason)
        if stream.task is not None:
            # Wait for response.done so whatever the client sends next is handled after it.
            await asyncio.gather(asyncio.shield(stream.task), return_exceptions=True)

    def _streams(self) -> list[ResponseStream]:
        return ([self.active] if self.active is not None else []) + list(self.out_of_band)
