"""Server errors in words a person can act on. ``code`` stays machine-readable for the GUI and ``ask``."""

from __future__ import annotations

from voicedesk.realtime.events import ServerError
from voicedesk.session.events import ErrorOccurred

_HINTS: dict[str, tuple[str, str]] = {
    # code -> (stable code we report, what the person can do)
    "rate_limit_exceeded": ("rate_limited", "The service is rate limiting this key; wait a moment and try again."),
    "invalid_api_key": ("auth_failed", "Check the API key in Settings."),
    "insufficient_quota": ("quota", "The account has no quota left; check billing for this key."),
    "input_audio_buffer_commit_empty": ("commit_empty", "Hold the talk button a little longer."),
    "conversation_already_has_active_response": ("busy", "Wait for the current answer, or interrupt it."),
    "invalid_value": ("invalid_value", ""),
    "model_not_found": ("model_not_found", "Check the model or deployment name in Settings."),
}


def describe_server_error(error: ServerError) -> ErrorOccurred:
    code, hint = _HINTS.get(error.code or "", (error.code or error.type or "server_error", ""))
    message = error.message.strip() or "The server reported an error."
    return ErrorOccurred(message=message, code=code, hint=hint, fatal=code == "auth_failed")
