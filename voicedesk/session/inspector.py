"""Copies of wire events fit for logs and the event inspector: audio and image payloads replaced by their size, and
any other very long string (a 16 MB transcript, say) shortened, so what is kept in memory stays bounded."""

from __future__ import annotations

from typing import Any

from voicedesk.realtime.events import without_image_data

_AUDIO_FIELDS = {
    "response.output_audio.delta": "delta",
    "response.audio.delta": "delta",
    "input_audio_buffer.append": "audio",
}
MAX_STRING_CHARS = 65536
"""Longer strings are kept shortened in logs and the inspector (ask's events.jsonl included)."""


def elide_audio(event: dict[str, Any]) -> dict[str, Any]:
    """The event itself when it carries no audio (do not mutate it); else a copy with the audio elided."""
    kind = event.get("type")
    field = _AUDIO_FIELDS.get(kind) if isinstance(kind, str) else None
    if field is None or not isinstance(event.get(field), str):
        return event
    payload = event[field]
    return {**event, field: f"<{len(payload) * 3 // 4} bytes of audio>"}


def for_inspection(event: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The event as logs keep it (audio elided, long strings shortened; the event itself when nothing
    changes) and roughly how many bytes it holds."""
    event = without_image_data(elide_audio(event))  # images as their size, like audio
    size = _size(event)
    if size <= MAX_STRING_CHARS:  # no string in it can be too long
        return event, size
    shortened = _shorten(event)
    return shortened, _size(shortened)


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return 16 * len(value) + sum(_size(v) for v in value.values())
    if isinstance(value, list):
        return 8 * len(value) + sum(_size(v) for v in value)
    return 8


def _shorten(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
        return value[:MAX_STRING_CHARS] + f"… ({len(value) - MAX_STRING_CHARS} more characters not kept)"
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    return value
