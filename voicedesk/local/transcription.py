"""What the local server says about a committed turn's transcription: the deltas (whole for whisper-1, word by
word for the gpt-4o transcribe models, as the service streams them) and the usage it reports."""

from __future__ import annotations

import math
from dataclasses import dataclass

from voicedesk.local.wire import JsonDict


@dataclass(frozen=True, slots=True)
class PendingTranscript:
    item_id: str
    text: str
    seconds: float


def transcript_deltas(text: str, model: str) -> list[str]:
    if model == "whisper-1":
        return [text]
    return [word if i == 0 else f" {word}" for i, word in enumerate(text.split())]


def transcription_usage(pending: PendingTranscript, model: str) -> JsonDict:
    if model == "whisper-1":
        return {"type": "duration", "seconds": round(pending.seconds, 3)}
    audio_tokens = math.ceil(pending.seconds * 10)
    text_tokens = math.ceil(len(pending.text) / 4)
    return {
        "type": "tokens",
        "input_tokens": audio_tokens,
        "output_tokens": text_tokens,
        "total_tokens": audio_tokens + text_tokens,
        "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
    }


def rate_limits_report(requests_used: int, tokens_used: int) -> list[JsonDict]:
    """The ``rate_limits.updated`` figures after a response (a generous per-minute budget)."""
    return [
        {"name": "requests", "limit": 5000, "remaining": max(0, 5000 - requests_used), "reset_seconds": 0.012},
        {
            "name": "tokens",
            "limit": 40000,
            "remaining": max(0, 40000 - tokens_used),
            "reset_seconds": round(min(tokens_used, 40000) / 40000 * 60, 3),
        },
    ]
