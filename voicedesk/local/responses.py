"""One response, streamed the way the real service streams it.

``response.created``, then per output item: ``output_item.added`` (+ ``conversation.item.added``),
``content_part.added``, interleaved audio and transcript deltas (or text deltas, or function-call argument
deltas), the ``.done`` events, ``output_item.done`` (+ ``conversation.item.done``); finally ``response.done``
with usage, then ``rate_limits.updated``. Cancellation (client or barge-in) is checked between chunks and
finishes the current item as ``incomplete`` and the response as ``cancelled``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from voicedesk.audio.base import SAMPLE_RATE, ms_to_samples, samples_to_ms
from voicedesk.local import errors
from voicedesk.local.codec import Format, encode_b64
from voicedesk.local.conversation import Conversation, StoredItem, turns_of
from voicedesk.local.faults import GARBAGE_FRAMES, FaultState
from voicedesk.local.responder import CallTool, Speak, respond
from voicedesk.local.session_config import beta_format, ga_format
from voicedesk.local.voice import SpeechPlan, plan_speech
from voicedesk.local.wire import Dialect, IdMaker, JsonDict

# Audio delta sizes in ms, cycled: uneven on purpose, so a client cannot get away with assuming one size.
CHUNK_MS = (50, 100, 80, 100, 60, 100)
_ARGUMENT_CHUNK = 12  # characters per function_call_arguments.delta
_TEXT_WORD_S = 0.08  # text-only answers stream a word per 80 ms of real time (before pacing)


class Dropped(Exception):
    """The drop fault fired: the connection is gone, stop without another frame."""


class ResponseHost(Protocol):
    ids: IdMaker
    dialect: Dialect
    conversation: Conversation
    faults: FaultState
    pace: float
    conversation_id: str

    async def emit(self, ga_type: str, **fields: Any) -> None: ...

    async def send_raw(self, frame: str | bytes) -> None: ...

    async def flush_transcripts(self) -> None: ...

    def abort(self) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...

    def finished(self, stream: ResponseStream, response: JsonDict, usage: JsonDict | None) -> None: ...

    def cached_tokens(self, input_tokens: int) -> int: ...


@dataclass(slots=True)
class ResponseRequest:
    """response.create parameters merged over the session's."""

    model: str
    instructions: str
    output_modalities: list[str]
    in_conversation: bool
    metadata: JsonDict | None
    tools: list[JsonDict]
    tool_choice: Any
    max_output_tokens: int | str
    voice: str
    speed: float
    output_format: Format
    temperature: float
    context: list[StoredItem] | None = None  # None: the conversation as it is when the response starts
    rate_limited: bool = False


@dataclass(eq=False)
class ResponseStream:
    host: ResponseHost
    request: ResponseRequest
    id: str
    cancel_reason: str | None = None
    item_ids: set[str] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    _cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    _output: list[JsonDict] = field(default_factory=list)
    _out_chars: int = 0
    _audio_samples: int = 0
    _incomplete: bool = False

    def cancel(self, reason: str) -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason
            self._cancelled.set()

    @property
    def stopping(self) -> bool:
        return self.cancel_reason is not None or self._incomplete

    async def run(self) -> None:
        usage: JsonDict | None = None
        status, details = "completed", None
        try:
            if self.host.faults.take_garbage():
                for frame in GARBAGE_FRAMES:
                    await self.host.send_raw(frame)
            await self.host.emit("response.created", response=self._object("in_progress", None, None))
            context = self.request.context if self.request.context is not None else self.host.conversation.items
            if self.request.rate_limited:
                limit = errors.rate_limited(self.request.model, self.host.faults.faults.rate_limit_retry_after_s)
                status = "failed"
                details = {
                    "type": "failed",
                    "error": {"type": limit.type, "code": limit.code, "message": limit.message},
                }
            else:
                outputs = respond(
                    turns_of(context),
                    instructions=self.request.instructions,
                    tools=self.request.tools,
                    tool_choice=self.request.tool_choice,
                )
                for index, out in enumerate(outputs):
                    if self.stopping:
                        break
                    if isinstance(out, Speak):
                        await self._speak(index, out)
                    else:
                        await self._call(index, out)
                await self.host.flush_transcripts()
                usage = self._usage(context)
                if self.cancel_reason is not None:
                    status, details = "cancelled", {"type": "cancelled", "reason": self.cancel_reason}
                elif self._incomplete:
                    status, details = "incomplete", {"type": "incomplete", "reason": "max_output_tokens"}
            response = self._object(status, details, usage)
            # Bookkeeping first: a client may send response.create the moment it sees response.done.
            self.host.finished(self, response, usage)
            await self.host.emit("response.done", response=response)
        except Dropped:
            self.host.finished(self, self._object("failed", None, None), None)

    # --- output items ---

    async def _add(self, index: int, item: JsonDict) -> None:
        self.item_ids.add(item["id"])
        await self.host.emit("response.output_item.added", response_id=self.id, output_index=index, item=item)
        if self.request.in_conversation:
            previous = self.host.conversation.insert(StoredItem(item))
            await self.host.emit("conversation.item.added", previous_item_id=previous, item=item)

    async def _finish_item(self, index: int, item: JsonDict) -> None:
        item["status"] = "incomplete" if self.stopping else "completed"
        await self.host.emit("response.output_item.done", response_id=self.id, output_index=index, item=item)
        if self.request.in_conversation:
            await self.host.emit("conversation.item.done", item=item)
        self._output.append(copy.deepcopy(item))

    async def _speak(self, index: int, say: Speak) -> None:
        audio = "audio" in self.request.output_modalities
        item: JsonDict = {
            "id": self.host.ids.new("item"), "object": "realtime.item", "type": "message",
            "role": "assistant", "status": "in_progress", "content": [],
        }  # fmt: skip
        await self._add(index, item)
        stored = self.host.conversation.get(item["id"]) or StoredItem(item)
        where = {"response_id": self.id, "item_id": item["id"], "output_index": index, "content_index": 0}
        part: JsonDict = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
        await self.host.emit("response.content_part.added", **where, part=dict(part))
        if audio:
            plan = plan_speech(say.text, voice=self.request.voice, speed=self.request.speed, duration_s=say.seconds)
            stored.plan = plan
            item["content"] = [{"type": "output_audio", "transcript": ""}]
            spoken = " ".join(plan.words[: await self._stream_audio(where, stored, plan)])
            item["content"][0]["transcript"] = spoken
            await self.host.emit("response.output_audio.done", **where)
            await self.host.emit("response.output_audio_transcript.done", **where, transcript=spoken)
            part["transcript"] = spoken
        else:
            item["content"] = [{"type": "output_text", "text": ""}]
            spoken = await self._stream_text(where, say.text.split())
            item["content"][0]["text"] = spoken
            await self.host.emit("response.output_text.done", **where, text=spoken)
            part["text"] = spoken
        await self.host.emit("response.content_part.done", **where, part=part)
        await self._finish_item(index, item)

    async def _stream_audio(self, where: JsonDict, stored: StoredItem, plan: SpeechPlan) -> int:
        """Stream the audio with the transcript in step; return how many words were sent."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        drop_ms = self.host.faults.drop_threshold_ms()
        pos = words_sent = chunk_no = 0
        fmt = self.request.output_format
        while pos < plan.total_samples and not self.stopping:
            if self._over_limit():
                self._incomplete = True
                break
            size = ms_to_samples(CHUNK_MS[chunk_no % len(CHUNK_MS)])
            pcm = plan.render(pos, pos + size)
            await self.host.emit("response.output_audio.delta", **where, delta=encode_b64(pcm, fmt))
            pos += pcm.size
            stored.sent_samples = pos
            self._audio_samples += pcm.size
            for word in plan.words[words_sent : plan.words_started(pos)]:
                delta = word if words_sent == 0 else f" {word}"
                self._out_chars += len(delta)
                await self.host.emit("response.output_audio_transcript.delta", **where, delta=delta)
                words_sent += 1
            chunk_no += 1
            if chunk_no == 2:
                await self.host.flush_transcripts()
            if drop_ms is not None and samples_to_ms(pos) >= drop_ms:
                self.host.faults.dropped()
                self.host.abort()
                raise Dropped
            await self._pace(start + pos / (SAMPLE_RATE * self.host.pace))
        return words_sent

    async def _stream_text(self, where: JsonDict, words: Sequence[str]) -> str:
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent: list[str] = []
        for i, word in enumerate(words):
            if self.stopping:
                break
            if self._over_limit():
                self._incomplete = True
                break
            delta = word if i == 0 else f" {word}"
            self._out_chars += len(delta)
            await self.host.emit("response.output_text.delta", **where, delta=delta)
            sent.append(word)
            if i == 0:
                await self.host.flush_transcripts()
            await self._pace(start + (i + 1) * _TEXT_WORD_S / self.host.pace)
        return " ".join(sent)

    async def _call(self, index: int, call: CallTool) -> None:
        item: JsonDict = {
            "id": self.host.ids.new("item"), "object": "realtime.item", "type": "function_call",
            "status": "in_progress", "name": call.name, "call_id": self.host.ids.new("call"), "arguments": "",
        }  # fmt: skip
        await self._add(index, item)
        where = {"response_id": self.id, "item_id": item["id"], "output_index": index, "call_id": item["call_id"]}
        sent = ""
        for i in range(0, len(call.arguments), _ARGUMENT_CHUNK):
            if self.stopping:
                break
            delta = call.arguments[i : i + _ARGUMENT_CHUNK]
            await self.host.emit("response.function_call_arguments.delta", **where, delta=delta)
            sent += delta
            self._out_chars += len(delta)
            await asyncio.sleep(0)
        item["arguments"] = sent
        if not self.stopping:
            await self.host.emit("response.function_call_arguments.done", **where, name=call.name, arguments=sent)
        await self._finish_item(index, item)
        if (code := self.host.faults.take_close_after_call()) is not None:
            await self.host.close(code, "internal error")  # the call is announced, response.done never comes

    # --- helpers ---

    async def _pace(self, deadline: float) -> None:
        """Wait until ``deadline`` (loop time) or a cancellation, whichever comes first."""
        delay = deadline - asyncio.get_running_loop().time()
        if math.isinf(self.host.pace) or delay <= 0:
            await asyncio.sleep(0)  # let the receive loop see a cancel between chunks
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._cancelled.wait(), delay)

    def _output_tokens(self) -> tuple[int, int]:
        return math.ceil(self._out_chars / 4), math.ceil(self._audio_samples / SAMPLE_RATE * 20)

    def _over_limit(self) -> bool:
        limit = self.request.max_output_tokens
        return isinstance(limit, int) and sum(self._output_tokens()) >= limit

    def _usage(self, context: Sequence[StoredItem]) -> JsonDict:
        chars = len(self.request.instructions) + (len(json.dumps(self.request.tools)) if self.request.tools else 0)
        audio_in = 0
        for stored in context:
            chars += sum(len(t.text) for t in turns_of([stored]))
            if stored.input_audio is not None:
                audio_in += math.ceil(stored.input_audio.size / SAMPLE_RATE * 10)
            if stored.plan is not None:
                audio_in += math.ceil(stored.sent_samples / SAMPLE_RATE * 20)
        text_in = math.ceil(chars / 4)
        total_in = text_in + audio_in
        cached = self.host.cached_tokens(total_in)
        text_out, audio_out = self._output_tokens()
        in_details: JsonDict = {"text_tokens": text_in, "audio_tokens": audio_in, "cached_tokens": cached}
        if not self.host.dialect.beta:
            cached_text = min(cached, text_in)
            in_details["cached_tokens_details"] = {"text_tokens": cached_text, "audio_tokens": cached - cached_text}
        return {
            "total_tokens": total_in + text_out + audio_out,
            "input_tokens": total_in,
            "output_tokens": text_out + audio_out,
            "input_token_details": in_details,
            "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
        }

    def _object(self, status: str, details: JsonDict | None, usage: JsonDict | None) -> JsonDict:
        req = self.request
        dialect = self.host.dialect
        response: JsonDict = {
            "object": "realtime.response",
            "id": self.id,
            "status": status,
            "status_details": details,
            "output": [dialect.item(i) for i in self._output],
            "conversation_id": self.host.conversation_id if req.in_conversation else None,
            "max_output_tokens": req.max_output_tokens,
            "usage": usage,
            "metadata": req.metadata,
        }
        if dialect.beta:
            response["modalities"] = ["text"] if req.output_modalities == ["text"] else ["audio", "text"]
            response["voice"] = req.voice
            response["output_audio_format"] = beta_format(req.output_format)
            response["temperature"] = req.temperature
        else:
            response["output_modalities"] = list(req.output_modalities)
            response["audio"] = {"output": {"format": ga_format(req.output_format), "voice": req.voice}}
        return response
