"""What the person is shown (connection, activity, turn mode, mute, whether the microphone is sent) as one
``StateChanged`` snapshot whenever any of it changes, and whether the session is idle.

Activity, by priority: the talk button held -> listening (even while an interrupted answer is still being
cancelled on the server); answer audio playing -> speaking; a response asked for, running or being
cancelled, or a tool running -> thinking; the microphone streaming under VAD -> listening; else idle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from voicedesk.realtime.client import ConnectionState
from voicedesk.session import events as se
from voicedesk.session.parts import SessionParts
from voicedesk.session.tool_calls import ToolCallRunner

TICK_S = 0.02
"""The controller's periodic work; idle must hold this long (three ticks) to count."""


class SessionStatus:
    def __init__(
        self,
        parts: SessionParts,
        tool_runner: ToolCallRunner,
        *,
        talk_held: Callable[[], bool],
        mic_open: Callable[[], bool],
        push_to_talk: Callable[[], bool],
        muted: Callable[[], bool],
    ) -> None:
        self._parts = parts
        self._tools = tool_runner
        self._talk_held = talk_held
        self._mic_open = mic_open
        self._push_to_talk = push_to_talk
        self._muted = muted
        # None, not a default snapshot: a VAD session's first change (to push-to-talk, before any connect) would
        # equal the default and never be reported.
        self._shown: se.StateChanged | None = None
        self.connection: ConnectionState = "disconnected"
        self.reconnect_attempt = 0
        self.activity: se.Activity = "idle"
        self.idle = asyncio.Event()
        """Set while no response is wanted or running, no tool runs and no answer audio is left to play."""
        self.idle.set()

    def tick(self) -> None:
        """Periodic: audio that finished playing, the turn's latency once known, then the activity."""
        for item_id in self._parts.playback.finished_items():
            self._parts.emit(se.AudioEnd(item_id))
        latency = self._parts.turn_clock.poll()
        if latency is not None:
            self._parts.emit(latency)
        self.update()

    def update(self) -> None:
        """Recompute activity and idleness from the session's parts."""
        self.set_activity(self._current_activity())
        if self._busy():
            self.idle.clear()
        else:
            self.idle.set()

    def show(self, activity: se.Activity) -> None:
        """What a server event suggests (speaking, listening); the held talk button wins. On the receive path
        (every audio delta), so an unchanged activity costs nothing: everything else that changes the
        snapshot goes through ``update`` or ``set_connection``, which publish."""
        shown: se.Activity = "listening" if self._talk_held() else activity
        if shown != self.activity:
            self.set_activity(shown)

    def set_activity(self, activity: se.Activity) -> None:
        self.activity = activity
        self.publish()

    def set_connection(self, connection: ConnectionState, attempt: int = 0) -> None:
        """``attempt``: which reconnect this is while ``reconnecting`` (kept only in that state)."""
        self.connection = connection
        self.reconnect_attempt = attempt if connection == "reconnecting" else 0
        self.publish()

    def snapshot(self) -> se.StateChanged:
        push_to_talk = self._push_to_talk()
        return se.StateChanged(
            self.connection,
            self.activity,
            push_to_talk,
            not push_to_talk and self._muted(),
            self._mic_open(),
            self.reconnect_attempt,
        )

    def publish(self) -> None:
        """Report the snapshot if any part of it changed (mute, turn mode and mic_open included)."""
        snapshot = self.snapshot()
        if snapshot != self._shown:
            self._shown = snapshot
            self._parts.emit(snapshot)

    async def wait_idle(self, timeout_s: float | None) -> bool:
        """Until the session is idle for three ticks in a row (a tool's output may ask for more at once)."""
        try:
            await asyncio.wait_for(self._wait_idle_stable(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def _wait_idle_stable(self) -> None:
        while True:
            await self.idle.wait()
            await asyncio.sleep(TICK_S * 3)
            if self.idle.is_set():
                return

    def _current_activity(self) -> se.Activity:
        if self._talk_held():
            return "listening"
        if self._parts.playback.is_playing():
            return "speaking"
        if self._parts.responses.in_progress or self._tools.busy:
            return "thinking"
        if self._mic_open():
            return "listening"
        return "idle"

    def _busy(self) -> bool:
        parts = self._parts
        return parts.responses.unanswered or self._tools.busy or parts.playback.current() is not None
