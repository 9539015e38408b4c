"""The app layer: the only place that assembles a session (endpoint, local server, audio, controller,
recording, event log, exports). Front ends (``voicedesk ask``, the window) use what this package exports
and never the wire (voicedesk.realtime) directly."""

from voicedesk.app.audio import (
    AudioBackend,
    AudioFactory,
    ProblemHandler,
    available_devices,
    device_audio,
    null_audio,
    open_devices,
)
from voicedesk.app.runtime import AppRuntime, RuntimeOptions
from voicedesk.local.server import LocalServerOptions
from voicedesk.realtime.client import AuthenticationFailed, Backoff, ConnectFailed
from voicedesk.realtime.endpoint import EndpointError, custom_endpoint
from voicedesk.realtime.session_config import VOICES, SessionSettings, SettingsError, TurnDetection
from voicedesk.session.conversation import Item

__all__ = [
    "VOICES",
    "AppRuntime",
    "AudioBackend",
    "AudioFactory",
    "AuthenticationFailed",
    "Backoff",
    "ConnectFailed",
    "EndpointError",
    "Item",
    "LocalServerOptions",
    "ProblemHandler",
    "RuntimeOptions",
    "SessionSettings",
    "SettingsError",
    "TurnDetection",
    "available_devices",
    "custom_endpoint",
    "device_audio",
    "null_audio",
    "open_devices",
]
