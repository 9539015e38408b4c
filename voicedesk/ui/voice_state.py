"""What the central voice visual shows: one state out of the session's snapshot and whether the person's
voice is heard right now, and a short caption for it. Plain Python (no Qt), so the rules are tested alone.

Priority, highest first: an error while it is set; the connection when it is not connected; what the
assistant does (speaking, thinking), since that is what the person waits for; muted (voice detection only:
push-to-talk has no mute); the microphone open (the person speaking when their voice is heard); idle.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

VoiceState = Literal[
    "offline",
    "connecting",
    "idle",
    "listening",
    "user_speaking",
    "thinking",
    "speaking",
    "muted",
    "reconnecting",
    "error",
]
VOICE_STATES: Final[tuple[VoiceState, ...]] = get_args(VoiceState)

CAPTIONS: Final[dict[VoiceState, str]] = {
    "offline": "Not connected",
    "connecting": "Connecting…",
    "idle": "Ready",
    "listening": "Listening",
    "user_speaking": "You're speaking",
    "thinking": "Thinking…",
    "speaking": "Speaking",
    "muted": "Microphone muted",
    "reconnecting": "Reconnecting…",
    "error": "Connection problem",
}


def voice_state(
    *,
    connection: str,
    activity: str,
    push_to_talk: bool,
    muted: bool,
    mic_open: bool,
    user_voice: bool,
    error: bool,
) -> VoiceState:
    """``connection``: disconnected/connecting/connected/reconnecting; ``activity``: idle/listening/thinking/
    speaking (``voicedesk.session.events.StateChanged``); ``user_voice``: the microphone hears a voice now."""
    if error:
        return "error"
    if connection == "reconnecting":
        return "reconnecting"
    if connection == "connecting":
        return "connecting"
    if connection != "connected":
        return "offline"
    if activity == "speaking":
        return "speaking"
    if activity == "thinking":
        return "thinking"
    if muted and not push_to_talk:
        return "muted"
    if mic_open:
        return "user_speaking" if user_voice else "listening"
    if activity == "listening":
        return "listening"
    return "idle"


def caption(state: VoiceState) -> str:
    return CAPTIONS[state]
