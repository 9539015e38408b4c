"""The microphone and the talk button: when microphone audio is sent, and when it becomes a turn.

Push-to-talk sends audio only while the button is held; pressing it cuts off the assistant and starts a
fresh input buffer, releasing it commits (at least 100 ms, else it is discarded) and asks for an answer.
With turn detection (VAD) the microphone streams unless muted and the server finds the turns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from voicedesk.audio.base import Pcm16
from voicedesk.session.answers import Answers
from voicedesk.session.intents import ClearInput, CommitInput, SendAudio
from voicedesk.session.parts import SessionParts

log = logging.getLogger(__name__)


class TalkInput:
    def __init__(
        self,
        parts: SessionParts,
        answers: Answers,
        *,
        connected: Callable[[], bool],
        push_to_talk_mode: Callable[[], bool],
        update_activity: Callable[[], None],
        on_input_sent: Callable[[Pcm16], None] | None,
    ) -> None:
        self._parts = parts
        self._answers = answers
        self._connected = connected
        self._push_to_talk_mode = push_to_talk_mode
        self._update_activity = update_activity
        self._on_input_sent = on_input_sent
        self.held = False
        """The talk button is held (push-to-talk)."""
        self.muted = False
        """The microphone is muted (VAD modes)."""

    @property
    def mic_open(self) -> bool:
        """THE decision whether microphone audio is sent now."""
        if not self._connected():
            return False
        return self.held if self._push_to_talk_mode() else not self.muted

    def on_mic_block(self, pcm: Pcm16) -> None:
        if not self.mic_open or not self._parts.wire.send(SendAudio(pcm)):
            return
        self._parts.input.appended(len(pcm))
        if self._on_input_sent is not None:
            try:
                self._on_input_sent(pcm)
            except Exception:  # a broken recorder must not stop the microphone
                log.exception("on_input_sent failed")

    def press(self) -> None:
        if self.held:
            return
        self.held = True  # first: while it is held the person is shown "listening", whatever else runs
        self._answers.interrupt()
        self._clear()
        self._update_activity()

    def release(self) -> bool:
        if not self.held:
            return False
        self.held = False
        if self.commit():
            return True
        self._clear()
        self._update_activity()
        return False

    def commit(self) -> bool:
        """Commit the input buffer as the person's turn and ask for an answer; False under 100 ms."""
        parts = self._parts
        if not self._connected() or parts.input.take_for_commit() is None:
            return False
        parts.wire.send(CommitInput())
        parts.turn_clock.start()
        self._answers.request()
        return True

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        self._update_activity()

    def _clear(self) -> None:
        self._parts.input.cleared()
        if self._connected():
            self._parts.wire.send(ClearInput())
