"""The microphone's ticks: short and quiet, played when the microphone opens or closes while connected,
never on top of (or queued behind) other audio."""

from __future__ import annotations

import numpy as np

from voicedesk.app.mic_cues import CLOSE_TICK, OPEN_TICK, MicCues
from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.audio.null import NullSink
from voicedesk.session import events as se


def test_the_ticks_are_short_quiet_and_start_and_end_in_silence() -> None:
    for tick in (OPEN_TICK, CLOSE_TICK):
        assert tick.size == int(0.06 * SAMPLE_RATE)
        assert int(np.max(np.abs(tick))) < 0.1 * 32767
        assert abs(int(tick[0])) < 50 and abs(int(tick[-1])) < 50, "no click at either end"
    assert not np.array_equal(OPEN_TICK, CLOSE_TICK), "opening and closing sound different"


def _state(connection: str, mic_open: bool) -> se.StateChanged:
    return se.StateChanged(connection, "idle", mic_open=mic_open)  # type: ignore[arg-type]


def test_a_tick_when_the_microphone_opens_and_closes_while_connected() -> None:
    sink = NullSink(speed=1.0)
    enabled = [True]
    cues = MicCues(lambda: sink, lambda: enabled[0])
    for event in (
        _state("connecting", False),
        _state("connected", True),  # connecting in voice detection: the window says so, no tick
        _state("connected", False),
        _state("connected", True),
    ):
        cues.on_event(event)
    assert cues.played == ["close", "open"]
    assert sink.buffered_samples == OPEN_TICK.size + CLOSE_TICK.size
    enabled[0] = False
    cues.on_event(_state("connected", False))
    assert cues.played == ["close", "open"], "switched off in Settings"


def test_no_tick_over_other_audio() -> None:
    sink = NullSink(speed=1.0)
    cues = MicCues(lambda: sink, lambda: True)
    cues.on_event(_state("connected", False))
    sink.write(np.zeros(SAMPLE_RATE, dtype=np.int16))  # an answer is queued
    cues.on_event(_state("connected", True))
    assert cues.played == [] and sink.buffered_samples == SAMPLE_RATE
