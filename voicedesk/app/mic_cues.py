"""A short, quiet tick when the microphone opens and another when it closes (the window, the global
shortcut, the tray: whatever opened it), so a person who talks from another application hears that it
listens.

The ticks go out through the session's sink like the assistant's audio, so with echo cancellation they are
part of the far-end reference and are cancelled from the microphone like everything else played. They are
written only while nothing but an earlier tick is queued for playback: a tick queued behind an answer would
sound long after the microphone changed (the tray icon shows the state then). Timing: a tick written at a position
``played + buffered`` shifts later answers' start positions with it, which the playback tracker records
when their first audio is written, so interruptions still measure what was heard exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from voicedesk.audio.base import SAMPLE_RATE, AudioSink, Pcm16
from voicedesk.session import events as se

TICK_S = 0.06
TICK_LEVEL = 0.08
"""Peak, of full scale (about -22 dBFS): audible, and well below the assistant's voice."""


def tick(frequency: float, seconds: float = TICK_S, level: float = TICK_LEVEL) -> Pcm16:
    """A soft click-free tick: a sine under a raised-cosine attack and an exponential decay."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    attack = np.minimum(1.0, t / 0.004)
    envelope = 0.5 - 0.5 * np.cos(np.pi * attack)
    envelope *= np.exp(-t / (seconds / 4))
    envelope[-int(0.005 * SAMPLE_RATE) :] *= np.linspace(1.0, 0.0, int(0.005 * SAMPLE_RATE))
    return (np.sin(2 * np.pi * frequency * t) * envelope * level * 32767).astype(np.int16)


OPEN_TICK = tick(1320.0)
"""Rising pitch: the microphone opened."""
CLOSE_TICK = tick(880.0)
"""Lower pitch: it closed."""


class MicCues:
    """Listens to the session's events; plays OPEN_TICK / CLOSE_TICK when ``mic_open`` changes while the
    session stays connected (connecting or disconnecting is no tick: the window says so itself)."""

    def __init__(self, sink: Callable[[], AudioSink | None], enabled: Callable[[], bool]) -> None:
        self._sink = sink
        self._enabled = enabled
        self._connected = False
        self._mic_open = False
        self._tick_end = 0
        """Where on the sink's timeline our last tick ends (a tick may follow a tick still playing)."""
        self.played: list[str] = []
        """"open"/"close" for each tick written, newest last (bounded), for what the person heard."""

    def on_event(self, event: se.SessionEvent) -> None:
        if not isinstance(event, se.StateChanged):
            return
        connected = event.connection == "connected"
        changed = connected and self._connected and event.mic_open != self._mic_open
        self._connected, self._mic_open = connected, event.mic_open
        if changed and self._enabled():
            self._play("open" if event.mic_open else "close")

    def _play(self, which: str) -> None:
        sink = self._sink()
        if sink is None:
            return
        queued_end = sink.played_samples + sink.buffered_samples
        if sink.buffered_samples > 0 and queued_end > self._tick_end:
            return  # something other than our last tick is queued: an answer
        sink.write(OPEN_TICK if which == "open" else CLOSE_TICK)
        self._tick_end = sink.played_samples + sink.buffered_samples
        self.played = [*self.played[-31:], which]
