"""Sinks without a sound card: ``NullSink`` plays into nothing, ``WavFileSink`` into a WAV file, both on
the simulated real-time clock of ``PlaybackClock`` (used by ``voicedesk ask``, the benchmarks and tests).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from voicedesk.audio.base import Levels, Pcm16
from voicedesk.audio.clock import PlaybackClock
from voicedesk.audio.wavfile import AudioFileError, WavWriter


class NullSink:
    """An AudioSink that plays into nothing at ``speed`` times real time (``math.inf``: instantly).

    ``now`` replaces ``time.monotonic`` for tests that drive the clock by hand (``drained`` still
    sleeps in real time, so do not combine the two).
    """

    def __init__(
        self,
        speed: float = 1.0,
        *,
        output_latency_s: float = 0.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._output_latency_s = 0.0
        self.output_latency_s = output_latency_s
        self._clock = PlaybackClock(speed, on_played=self._on_played, now=now)

    async def start(self) -> None:
        self._clock.start()

    async def stop(self) -> None:
        """Play what the elapsed time allowed; drop the rest."""
        self._clock.stop()

    def write(self, pcm: Pcm16) -> None:
        self._clock.write(pcm)

    def flush(self) -> None:
        self._clock.flush()

    @property
    def played_samples(self) -> int:
        return self._clock.played_samples

    @property
    def buffered_samples(self) -> int:
        return self._clock.buffered_samples

    @property
    def output_latency_s(self) -> float:
        return self._output_latency_s

    @output_latency_s.setter
    def output_latency_s(self, value: float) -> None:
        # Settable so a test can play a device whose first sound has not left the speaker yet.
        if value < 0:
            raise ValueError("output_latency_s cannot be negative")
        self._output_latency_s = value

    def levels(self) -> Levels:
        return self._clock.levels()

    async def drained(self) -> None:
        """Until everything written has been played (or flushed, or the sink stopped)."""
        await self._clock.drained()

    def _on_played(self, pcm: Pcm16) -> None:
        """Called with each stretch of audio as the clock plays it; nothing to do for a null device."""


class WavFileSink(NullSink):
    """A NullSink that records exactly what it plays, as the person would have heard it.

    The WAV holds the played samples back to back (flushed audio left out, its 5 ms fade kept), so
    sample ``k`` of the file is sample ``k`` of ``played_samples``' timeline; underruns leave no gap.
    The file is created on the first ``start`` and appended to on later ones; its header is valid
    at every moment.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        speed: float = 1.0,
        *,
        output_latency_s: float = 0.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._writer: WavWriter | None = None
        self._started_before = False
        super().__init__(speed, output_latency_s=output_latency_s, now=now)

    async def start(self) -> None:
        if self._writer is None:
            try:
                self._writer = WavWriter(self.path, append=self._started_before)
            except OSError as exc:
                raise AudioFileError(f"cannot write {self.path}: {exc.strerror or exc}") from None
            self._started_before = True
        await super().start()

    async def stop(self) -> None:
        await super().stop()  # plays (and records) what the time so far allowed
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _on_played(self, pcm: Pcm16) -> None:
        if self._writer is not None:
            self._writer.write(pcm)
