"""The real service's error payloads, worded like the service words them.

Clients match on ``code`` (and people read ``message``), so these strings are part of the contract the
local server exists to reproduce. Each factory returns a :class:`ClientError` to raise from a handler;
the connection turns it into an ``error`` event that echoes the client's ``event_id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from voicedesk.local.wire import JsonDict

INVALID_REQUEST = "invalid_request_error"


class ClientError(Exception):
    """A client event the server refuses; the connection stays open."""

    def __init__(
        self, message: str, *, code: str | None, param: str | None = None, type_: str = INVALID_REQUEST
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.type = type_

    def payload(self, client_event_id: str | None) -> JsonDict:
        return {
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "event_id": client_event_id,
        }


def _quoted_list(values: Sequence[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def invalid_value(param: str, value: Any, supported: Sequence[str]) -> ClientError:
    return ClientError(
        f"Invalid value: '{value}'. Supported values are: {_quoted_list(supported)}.",
        code="invalid_value",
        param=param,
    )


def invalid_type(param: str, value: Any, expected: str) -> ClientError:
    return ClientError(
        f"Invalid type for '{param}': expected {expected}, but got {_describe(value)} instead.",
        code="invalid_type",
        param=param,
    )


def invalid_image_url(param: str, got: str) -> ClientError:
    return ClientError(
        f"Invalid '{param}'. Expected a base64-encoded data URL with an image MIME type "
        f"(e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got {got}.",
        code="invalid_value",
        param=param,
    )


def unsupported_image(param: str) -> ClientError:
    """Bytes that are no PNG or JPEG (the realtime models take those two only)."""
    return ClientError(
        "You uploaded an unsupported image. Please make sure your image has of one the following formats: "
        "['png', 'jpeg'].",
        code="invalid_image_format",
        param=param,
    )


def missing_parameter(param: str) -> ClientError:
    return ClientError(f"Missing required parameter: '{param}'.", code="missing_required_parameter", param=param)


def unknown_parameter(param: str) -> ClientError:
    return ClientError(f"Unknown parameter: '{param}'.", code="unknown_parameter", param=param)


def number_out_of_range(param: str, value: float, low: float | None, high: float | None) -> ClientError:
    kind = "integer" if isinstance(value, int) else "decimal"
    if high is not None and value > high:
        return ClientError(
            f"Invalid '{param}': {kind} above maximum value. Expected a value <= {high:g}, but got {value:g} instead.",
            code=f"{kind}_above_max_value",
            param=param,
        )
    return ClientError(
        f"Invalid '{param}': {kind} below minimum value. Expected a value >= {low:g}, but got {value:g} instead.",
        code=f"{kind}_below_min_value",
        param=param,
    )


def string_too_long(param: str, value: str, limit: int) -> ClientError:
    return ClientError(
        f"Invalid '{param}': string too long. Expected a string with maximum length {limit}, "
        f"but got a string with length {len(value)} instead.",
        code="string_above_max_length",
        param=param,
    )


def unknown_event_type(event_type: Any, supported: Sequence[str]) -> ClientError:
    return invalid_value("type", event_type, supported)


def invalid_json(detail: str) -> ClientError:
    return ClientError(f"Invalid JSON in client event: {detail}.", code="invalid_json")


def not_an_object(value: Any) -> ClientError:
    return ClientError(
        f"Invalid client event: expected a JSON object, but got {_describe(value)} instead.",
        code="invalid_type",
    )


def binary_frame() -> ClientError:
    return ClientError(
        "Binary frames are not supported: send each client event as a JSON text frame.",
        code="invalid_json",
    )


def commit_empty(buffered_ms: float) -> ClientError:
    return ClientError(
        "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, "
        f"but buffer only has {buffered_ms:.2f}ms of audio.",
        code="input_audio_buffer_commit_empty",
    )


def active_response(response_id: str) -> ClientError:
    return ClientError(
        f"Conversation already has an active response in progress: {response_id}. "
        "Wait until the response is finished before creating a new one.",
        code="conversation_already_has_active_response",
    )


def cancel_not_active() -> ClientError:
    return ClientError("Cancellation failed: no active response found", code="response_cancel_not_active")


def item_not_found(item_id: str, *, action: str, param: str = "item_id") -> ClientError:
    """``action`` is one of create (previous item), delete, retrieve, truncate."""
    code = {
        "create": "item_create_invalid_previous_item_id",
        "delete": "item_delete_invalid_item_id",
        "retrieve": "item_retrieve_invalid_item_id",
        "truncate": "item_truncate_invalid_item_id",
    }[action]
    what = "previous item" if action == "create" else "item"
    return ClientError(
        f"Error {action.rstrip('e')}ing item: the {what} with id '{item_id}' does not exist.",
        code=code,
        param=param,
    )


def duplicate_item_id(item_id: str) -> ClientError:
    return ClientError(
        f"Error adding item: the id '{item_id}' is already in use.",
        code="item_create_duplicate_id",
        param="item.id",
    )


def tool_call_not_found(call_id: str) -> ClientError:
    return ClientError(f"Tool call ID '{call_id}' not found in conversation.", code="invalid_tool_call_id")


def not_truncatable() -> ClientError:
    return ClientError(
        "Only model output audio messages can be truncated",
        code="unsupported_content_type",
        param="item_id",
    )


def audio_already_shorter(have_ms: int, want_ms: int) -> ClientError:
    return ClientError(
        f"Audio content of {have_ms}ms is already shorter than {want_ms}ms",
        code="invalid_value",
        param="audio_end_ms",
    )


def cannot_update_voice() -> ClientError:
    return ClientError(
        "Cannot update a conversation's voice if assistant audio is present.",
        code="cannot_update_voice",
        param="session.audio.output.voice",
    )


def invalid_modalities(value: Any, param: str) -> ClientError:
    return ClientError(
        f"Invalid modalities: {value}. Supported combinations are: ['text'] and ['audio'].",
        code="invalid_value",
        param=param,
    )


def invalid_audio(detail: str) -> ClientError:
    return ClientError(f"Invalid 'audio': {detail}.", code="invalid_value", param="audio")


def rate_limited(model: str, retry_after_s: float = 20.0) -> ClientError:
    return ClientError(
        f"Rate limit reached for {model} in organization org-local on requests per min (RPM): "
        f"Limit 3, Used 3, Requested 1. Please try again in {retry_after_s:g}s. "
        "Visit https://platform.openai.com/account/rate-limits to learn more.",
        code="rate_limit_exceeded",
        type_="requests",
    )


def internal_error() -> ClientError:
    return ClientError(
        "The server had an error while processing your request. Sorry about that!",
        code="server_error",
        type_="server_error",
    )


def session_expired() -> ClientError:
    return ClientError("Your session hit the maximum duration of 60 minutes.", code="session_expired")


def mask_key(key: str) -> str:
    if len(key) <= 8:
        return "***"
    return f"{key[:5]}***{key[-2:]}"


def http_invalid_key(key: str) -> JsonDict:
    """The body of the 401 the handshake answers when the key is wrong."""
    return {
        "error": {
            "message": f"Incorrect API key provided: {mask_key(key)}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "type": INVALID_REQUEST,
            "param": None,
            "code": "invalid_api_key",
        }
    }


def http_missing_key() -> JsonDict:
    return {
        "error": {
            "message": "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            "type": INVALID_REQUEST,
            "param": None,
            "code": "missing_api_key",
        }
    }


def http_error(message: str, code: str, type_: str = INVALID_REQUEST) -> JsonDict:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def http_origin_refused(origin: str) -> JsonDict:
    """The body of the 403 a web page's handshake gets: pages must not drive a local server."""
    return http_error(
        f"Connections from web pages are refused (Origin: {origin[:200]}). A program connects without an Origin "
        "header; to let this page in, start the server with --allow-origin ORIGIN.",
        "origin_not_allowed",
    )


def http_too_many_connections(limit: int) -> JsonDict:
    return http_error(
        f"Too many connections: this server takes {limit} at once. Close one and try again.",
        "too_many_connections",
        type_="server_error",
    )
