"""Transcripts of committed turns that have not gone out yet. The service sends a turn's transcription after
the answer to it has started, so they wait for the next response's first event, or for a fallback delay when
no response starts; whichever comes first sends them, once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from voicedesk.local.conversation import Conversation
from voicedesk.local.transcription import PendingTranscript, transcript_deltas, transcription_usage

TRANSCRIPT_FALLBACK_S = 1.0  # late transcripts go out after this long even if no response starts


Emit = Callable[..., Awaitable[None]]  # the connection's emit(ga_type, **fields)


class PendingTranscripts:
    def __init__(self, emit: Emit, conversation: Conversation) -> None:
        self._emit = emit
        self._conversation = conversation
        self._waiting: list[PendingTranscript] = []

    def add(self, item_id: str, text: str, seconds: float) -> None:
        self._waiting.append(PendingTranscript(item_id, text, seconds))

    async def flush(self, model: str) -> None:
        # Taken before the first await, so a flush that starts meanwhile cannot send the same ones again.
        waiting, self._waiting = self._waiting, []
        for p in waiting:
            for delta in transcript_deltas(p.text, model):
                await self._emit(
                    "conversation.item.input_audio_transcription.delta", item_id=p.item_id, content_index=0, delta=delta
                )
            await self._emit(
                "conversation.item.input_audio_transcription.completed",
                item_id=p.item_id,
                content_index=0,
                transcript=p.text,
                usage=transcription_usage(p, model),
            )
            stored = self._conversation.get(p.item_id)
            if stored is not None:
                stored.item["content"][0]["transcript"] = p.text
