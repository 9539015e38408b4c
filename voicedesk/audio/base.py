"""The small interface between the session controller and whatever produces or plays audio.

Everything crossing it is 24 kHz mono pcm16 (numpy int16 arrays): the one PCM format of the realtime
protocol. Sources and sinks convert to and from their device's rate and channel count themselves.

Threading contract: every method here is called on the asyncio loop's thread. A source delivers its
blocks on that thread too (a device-backed source hops from the PortAudio thread with
``loop.call_soon_threadsafe``). Nothing here may block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 24_000
"""The protocol's PCM rate; every array crossing this interface is at this rate."""

Pcm16 = npt.NDArray[np.int16]
BlockCallback = Callable[[Pcm16], None]


@dataclass(frozen=True, slots=True)
class Levels:
    """A peak/RMS envelope of recent audio, both in 0..1 of full scale."""

    peak: float = 0.0
    rms: float = 0.0


@dataclass(frozen=True, slots=True)
class AudioProblem:
    """Something went wrong with a device; the session goes on (for example on the default device)."""

    message: str
    device: str | None = None
    recovered: bool = True  # voicedesk worked around it (another device); False: the person has to act
    cause: Literal["device", "silence"] = "device"  # the device failed / the microphone records only zeros
    cleared: bool = False  # the problem of this cause on this device is over (the microphone hears again)


ProblemCallback = Callable[[AudioProblem], None]


@runtime_checkable
class AudioSource(Protocol):
    """Produces microphone audio in fixed blocks (20 ms by default) of 24 kHz mono pcm16."""

    async def start(self, on_block: BlockCallback) -> None:
        """Begin delivering blocks to ``on_block`` (on the loop thread) until ``stop``."""

    async def stop(self) -> None: ...

    def levels(self) -> Levels:
        """Envelope of the most recent input, cheap enough to poll at 30 fps."""
        ...


@runtime_checkable
class AudioSink(Protocol):
    """Plays 24 kHz mono pcm16 and says exactly how much of it has been played.

    ``played_samples`` counts samples delivered to the output device since ``start`` (monotonic,
    never reset, never counting flushed audio); ``buffered_samples`` what is queued and not yet
    delivered. So the next sample written will be heard at position
    ``played_samples + buffered_samples`` of that timeline, once ``output_latency_s`` has passed.
    """

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def write(self, pcm: Pcm16) -> None:
        """Queue audio for playback; returns at once."""

    def flush(self) -> None:
        """Stop at once: fade out what is playing (a few ms, no click) and drop everything queued."""

    @property
    def played_samples(self) -> int: ...

    @property
    def buffered_samples(self) -> int: ...

    @property
    def output_latency_s(self) -> float:
        """Time from a sample's delivery to the device until it leaves the speaker."""
        ...

    def levels(self) -> Levels:
        """Envelope of what is playing now, cheap enough to poll at 30 fps."""
        ...


def levels_of(pcm: Pcm16) -> Levels:
    """Peak and RMS of a block, in 0..1 of full scale."""
    if pcm.size == 0:
        return Levels()
    as_float = pcm.astype(np.float32) * (1.0 / 32768.0)
    peak = float(np.max(np.abs(as_float)))
    rms = float(np.sqrt(np.mean(as_float * as_float)))
    return Levels(peak=peak, rms=rms)


def samples_to_ms(samples: int) -> int:
    """Whole milliseconds of 24 kHz audio, rounded down (the server's audio_end_ms is an integer)."""
    return samples * 1000 // SAMPLE_RATE


def ms_to_samples(ms: float) -> int:
    return int(ms * SAMPLE_RATE / 1000)
