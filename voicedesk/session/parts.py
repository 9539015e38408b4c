"""The per-controller state the session's modules share, built once by the controller.

Each module gets this one bundle instead of a dozen separate arguments; the bundle itself has no logic
beyond starting afresh for a new server session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from voicedesk.audio.base import AudioSink
from voicedesk.realtime import events as ev
from voicedesk.session import events as se
from voicedesk.session.conversation import Conversation
from voicedesk.session.input_buffer import InputBuffer
from voicedesk.session.intents import IntentSender
from voicedesk.session.playback_timeline import PlaybackTracker
from voicedesk.session.response_state import ResponseState
from voicedesk.session.turn_latency import TurnClock
from voicedesk.session.wire_audio import AudioCodec


@dataclass(slots=True)
class SessionParts:
    conversation: Conversation
    playback: PlaybackTracker
    responses: ResponseState
    input: InputBuffer
    turn_clock: TurnClock
    wire: IntentSender
    emit: Callable[[se.SessionEvent], None]
    voice_used: bool = False
    """The assistant has spoken in this server session: its voice can no longer change there."""

    @classmethod
    def create(
        cls,
        conversation: Conversation,
        sink: AudioSink,
        send: Callable[[ev.ClientEvent], str],
        codec: AudioCodec,
        emit: Callable[[se.SessionEvent], None],
    ) -> SessionParts:
        playback = PlaybackTracker(sink)
        return cls(
            conversation, playback, ResponseState(), InputBuffer(), TurnClock(playback), IntentSender(send, codec), emit
        )

    def reset(self) -> None:
        """A new server session: nothing of the old one's turn bookkeeping applies there."""
        self.voice_used = False
        self.responses.reset()
        self.input.reset()
        self.turn_clock.reset()
