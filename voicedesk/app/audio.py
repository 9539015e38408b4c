"""Which audio the session uses: the real devices, files (``ask``), or the null backend when the machine
has no usable sound device. The choice is made once per app session; the controller only sees a source
and a sink."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voicedesk.audio.base import SAMPLE_RATE, AudioProblem, AudioSink, AudioSource, Pcm16
from voicedesk.audio.echo import EchoMode
from voicedesk.audio.filesource import NullSource
from voicedesk.audio.null import NullSink
from voicedesk.config import AppSettings

log = logging.getLogger(__name__)

ProblemHandler = Callable[[AudioProblem], None]


class DeviceEngine(Protocol):
    """What the runtime asks of the real-device engine (voicedesk.audio.engine.AudioEngine)."""

    async def switch_input(self, name: str | None) -> None: ...

    async def switch_output(self, name: str | None) -> None: ...

    def set_echo_mode(self, mode: EchoMode) -> None: ...

    def set_noise_suppression(self, on: bool) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class AudioBackend:
    source: AudioSource
    sink: AudioSink
    engine: DeviceEngine | None = None
    """The device engine when real devices are in use, else None."""
    fallback_reason: str | None = None
    """Why the null backend (or no microphone) is used, shown to the person; None on real devices."""

    @property
    def has_devices(self) -> bool:
        return self.engine is not None


AudioFactory = Callable[[AppSettings, ProblemHandler], AudioBackend]


def null_audio(reason: str = "no audio devices") -> AudioBackend:
    return AudioBackend(NullSource(), NullSink(speed=1.0), None, reason)


def open_devices(settings: AppSettings, on_problem: ProblemHandler) -> AudioBackend:
    """The real microphone and speaker, or an exception (``ask --mic`` wants devices or nothing)."""
    from voicedesk.audio.engine import AudioEngine

    engine = AudioEngine(
        settings.input_device,
        settings.output_device,
        settings.echo,
        on_problem=on_problem,
        noise_suppression=settings.noise_suppression,
    )
    return AudioBackend(engine.source, engine.sink, engine, None)


def device_audio(settings: AppSettings, on_problem: ProblemHandler) -> AudioBackend:
    """The real devices, or the null backend with the reason when they cannot work here (the window)."""
    try:
        from voicedesk.audio.devices import list_devices
    except (ImportError, OSError) as exc:  # sounddevice without a PortAudio library
        return null_audio(f"audio is unavailable on this machine ({exc})")
    try:
        inputs, outputs = list_devices("input"), list_devices("output")
    except Exception as exc:  # PortAudio errors of any kind
        return null_audio(f"cannot list audio devices ({exc})")
    if not outputs:
        return null_audio("no speaker or headphones were found")
    try:
        backend = open_devices(settings, on_problem)
    except Exception as exc:
        log.warning("the audio engine could not start: %s", exc)
        return null_audio(f"the audio engine could not start ({exc})")
    if not inputs:
        return AudioBackend(NullSource(), backend.sink, backend.engine, "no microphone was found")
    return backend


def available_devices() -> tuple[list[str], list[str]]:
    """Input and output device names, empty lists when audio is unavailable."""
    try:
        from voicedesk.audio.devices import list_devices

        return [d.name for d in list_devices("input")], [d.name for d in list_devices("output")]
    except Exception:
        return [], []


def calibration_tone(seconds: float = 0.6, frequency: float = 440.0, level: float = 0.25) -> Pcm16:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.02)
    return (np.sin(2 * np.pi * frequency * t) * fade * level * 32767).astype(np.int16)
