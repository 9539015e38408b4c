"""Copies of wire events fit for logs and the event inspector: audio payloads replaced by their size."""

from __future__ import annotations

from typing import Any

_AUDIO_FIELDS = {
    "response.output_audio.delta": "delta",
    "response.audio.delta": "delta",
    "input_audio_buffer.append": "audio",
}


def elide_audio(event: dict[str, Any]) -> dict[str, Any]:
    """The event itself when it carries no audio (do not mutate it); else a copy with the audio elided."""
    kind = event.get("type")
    field = _AUDIO_FIELDS.get(kind) if isinstance(kind, str) else None
    if field is None or not isinstance(event.get(field), str):
        return event
    payload = event[field]
    return {**event, field: f"<{len(payload) * 3 // 4} bytes of audio>"}
