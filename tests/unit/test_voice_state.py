"""voice_state(): which state the central visual shows for each session snapshot, and its caption."""

from __future__ import annotations

from typing import Any

import pytest

from voicedesk.ui.voice_state import CAPTIONS, VOICE_STATES, VoiceState, caption, voice_state

BASE: dict[str, Any] = {
    "connection": "connected",
    "activity": "idle",
    "push_to_talk": True,
    "muted": False,
    "mic_open": False,
    "user_voice": False,
    "error": False,
}

CASES: list[tuple[dict[str, Any], VoiceState]] = [
    ({"connection": "disconnected"}, "offline"),
    ({"connection": "disconnected", "activity": "speaking"}, "offline"),
    ({"connection": "connecting"}, "connecting"),
    ({"connection": "reconnecting", "activity": "thinking"}, "reconnecting"),
    ({}, "idle"),
    ({"push_to_talk": False}, "idle"),
    ({"activity": "listening", "mic_open": True}, "listening"),
    ({"activity": "listening", "mic_open": False}, "listening"),
    ({"activity": "listening", "mic_open": True, "user_voice": True}, "user_speaking"),
    ({"push_to_talk": False, "activity": "listening", "mic_open": True, "user_voice": True}, "user_speaking"),
    ({"activity": "idle", "mic_open": False, "user_voice": True}, "idle"),  # a voice not being sent
    ({"activity": "thinking"}, "thinking"),
    ({"activity": "speaking"}, "speaking"),
    ({"activity": "speaking", "mic_open": True, "user_voice": True, "push_to_talk": False}, "speaking"),
    ({"push_to_talk": False, "muted": True}, "muted"),
    ({"push_to_talk": False, "muted": True, "activity": "speaking"}, "speaking"),
    ({"push_to_talk": True, "muted": True}, "idle"),  # muted means something only under voice detection
    ({"push_to_talk": True, "muted": True, "activity": "listening", "mic_open": True}, "listening"),
    ({"error": True}, "error"),
    ({"error": True, "connection": "disconnected"}, "error"),
    ({"error": True, "connection": "reconnecting"}, "error"),
    ({"error": True, "activity": "speaking", "push_to_talk": False, "muted": True}, "error"),
]


@pytest.mark.parametrize(("changes", "expected"), CASES, ids=[f"{i}-{e}" for i, (_, e) in enumerate(CASES)])
def test_voice_state(changes: dict[str, Any], expected: VoiceState) -> None:
    assert voice_state(**{**BASE, **changes}) == expected


def test_the_cases_cover_every_state() -> None:
    assert {expected for _, expected in CASES} == set(VOICE_STATES)


def test_every_state_has_its_own_short_caption() -> None:
    assert set(CAPTIONS) == set(VOICE_STATES)
    texts = [caption(state) for state in VOICE_STATES]
    assert len(set(texts)) == len(texts) and all(0 < len(t) <= 24 for t in texts)
    assert caption("user_speaking") == "You're speaking" and caption("error") == "Connection problem"
