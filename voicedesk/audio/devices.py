"""Device enumeration, choice by name, and a supervised stream that survives devices vanishing.

Devices are remembered by name (indices change when devices come and go); a name matches by
case-insensitive substring, an exact match winning. ``None`` means the system default.

``DeviceStream`` runs one PortAudio stream for a capture or playback object: it opens the chosen
device (falling back to the default), watches it from the loop (callbacks stalled, stream finished
unexpectedly, a PortAudio error, the device gone) and reopens on the default device when it fails,
reporting an ``AudioProblem`` each time. PulseAudio (and PipeWire's pulse server) move a stream whose
device vanished to the default device instead of failing it, so the callbacks go on: a device that is
no longer the default is therefore also probed every ``probe_s`` by a format check, which fails once
it has gone. Opening and closing run in a worker thread: they block for tens of ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

import sounddevice as sd

from voicedesk.audio.base import AudioProblem, ProblemCallback

Kind = Literal["input", "output"]

_COMMON_RATES = (48000, 44100, 24000, 16000, 32000, 22050, 96000, 8000)
_PA_DEVICE_UNAVAILABLE = -9985  # paDeviceUnavailable: busy (opened exclusively), not gone

# PortAudio's control calls (open, start, close, format checks) are not thread-safe with each other;
# the worker threads that make them take this lock. Callbacks never touch it.
PA_LOCK = threading.Lock()


class DeviceNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool = False
    is_default_output: bool = False

    def channels(self, kind: Kind) -> int:
        return self.max_input_channels if kind == "input" else self.max_output_channels


def _default_index(kind: Kind) -> int:
    pair: Any = sd.default.device
    index = pair[0] if kind == "input" else pair[1]
    if index is None or index < 0:
        try:
            info: Any = sd.query_devices(kind=kind)
            index = int(info["index"])
        except (sd.PortAudioError, ValueError):
            return -1
    return int(index)


def list_devices(kind: Kind | None = None) -> list[DeviceInfo]:
    """All devices PortAudio knows (of ``kind`` if given), in PortAudio's order."""
    hostapis: Any = sd.query_hostapis()
    default_in, default_out = _default_index("input"), _default_index("output")
    found = []
    raw: Any = sd.query_devices()
    for dev in raw:
        info = DeviceInfo(
            index=int(dev["index"]),
            name=str(dev["name"]),
            hostapi=str(hostapis[dev["hostapi"]]["name"]),
            max_input_channels=int(dev["max_input_channels"]),
            max_output_channels=int(dev["max_output_channels"]),
            default_samplerate=float(dev["default_samplerate"]),
            is_default_input=int(dev["index"]) == default_in,
            is_default_output=int(dev["index"]) == default_out,
        )
        if kind is None or info.channels(kind) > 0:
            found.append(info)
    return found


def default_device(kind: Kind) -> DeviceInfo | None:
    devices = list_devices(kind)
    for dev in devices:
        if dev.is_default_input if kind == "input" else dev.is_default_output:
            return dev
    return devices[0] if devices else None


def find_device(name: str | None, kind: Kind) -> DeviceInfo:
    """The device called ``name`` (exact, else case-insensitive substring), or the default for None."""
    if name is None or not name.strip():
        dev = default_device(kind)
        if dev is None:
            raise DeviceNotFound(f"no {kind} device")
        return dev
    wanted = name.strip().casefold()
    devices = list_devices(kind)
    exact = [d for d in devices if d.name.casefold() == wanted]
    partial = [d for d in devices if wanted in d.name.casefold()]
    candidates = exact or partial
    if not candidates:
        raise DeviceNotFound(f"no {kind} device matching {name!r}")
    # The same device appears once per host API on Windows: prefer the default host API's entry.
    default_api = default_device(kind)
    preferred = [d for d in candidates if default_api is not None and d.hostapi == default_api.hostapi]
    return (preferred or candidates)[0]


def format_device_list() -> str:
    """The table ``voicedesk devices`` prints."""
    try:
        devices = list_devices()
    except sd.PortAudioError as exc:
        return f"PortAudio error: {exc}"
    if not devices:
        return "No audio devices found."
    lines = []
    for kind, label in (("input", "Input devices"), ("output", "Output devices")):
        lines.append(f"{label}:")
        chosen = [d for d in devices if d.channels(kind) > 0]  # type: ignore[arg-type]
        if not chosen:
            lines.append("  (none)")
        for d in chosen:
            default = d.is_default_input if kind == "input" else d.is_default_output
            mark = "*" if default else " "
            lines.append(
                f" {mark}{d.index:3d}  {d.name}  [{d.hostapi}, {d.channels(kind)} ch, "  # type: ignore[arg-type]
                f"{d.default_samplerate:g} Hz]"
            )
        lines.append("")
    lines.append("* = system default. Choose a device by (part of) its name.")
    return "\n".join(lines)


def pick_format(
    dev: DeviceInfo, kind: Kind, rate: float | None = None, channels: int | None = None
) -> tuple[float, int]:
    """A (rate, channels) the device accepts: its native rate, mono when it takes mono."""
    rates = [rate] if rate else [dev.default_samplerate, *_COMMON_RATES]
    max_ch = max(1, dev.channels(kind))
    chans = [channels] if channels else sorted({1, min(2, max_ch), max_ch})
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    last: Exception | None = None
    for r in rates:
        for ch in chans:
            try:
                check(device=dev.index, samplerate=r, channels=ch, dtype="float32")
                return float(r), ch
            except (sd.PortAudioError, ValueError) as exc:
                last = exc
    raise DeviceNotFound(f"{dev.name}: no usable format ({last})")


class DeviceStream(ABC):
    """Keeps one PortAudio stream running on the chosen device or, failing that, the default one."""

    kind: Kind

    def __init__(
        self,
        device: str | None,
        on_problem: ProblemCallback | None = None,
        *,
        stall_timeout_s: float = 1.0,
        first_callback_timeout_s: float = 3.0,
        retry_s: float = 2.0,
        probe_s: float = 1.0,
    ) -> None:
        self.device_name = device  # the person's choice, kept by name
        self.current: DeviceInfo | None = None
        self._on_problem = on_problem
        self._stream: Any = None
        self._stall_timeout_s = stall_timeout_s
        self._first_timeout_s = first_callback_timeout_s
        self._retry_s = retry_s
        self._probe_s = probe_s
        self._probed_at = 0.0
        self._on_default = True  # the open device is the system default (nothing to fall back to)
        self.rate = 0.0  # of the open stream
        self.channels = 0
        # Written by the PortAudio thread, read by the watchdog.
        self.callbacks = 0
        self._finished_unexpectedly = False
        self._closing = False
        self._running = False
        self._watchdog: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.restarts = 0
        self._opened_at = 0.0
        self._last_seen = -1
        self._last_progress = 0.0

    # --- subclass hooks -------------------------------------------------------------------
    @abstractmethod
    def _create_stream(self, dev: DeviceInfo) -> Any:
        """Build (not start) the sounddevice stream for ``dev``; runs in a worker thread."""

    def _stream_stopped(self) -> None:  # noqa: B027 - optional hook
        """Called on the loop after a stream was closed, before another opens."""

    async def _drain_device(self) -> None:  # noqa: B027 - optional hook
        """Before a deliberate close: let what the device still buffers come out."""

    # --- lifecycle ------------------------------------------------------------------------
    async def _start_stream(self) -> None:
        self._running = True
        async with self._lock:
            await self._open_with_fallback(self.device_name)
        self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    async def _stop_stream(self) -> None:
        self._running = False
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        async with self._lock:
            await self._close()

    async def switch(self, device: str | None) -> None:
        """Move to another device (by name) while running; buffers and counters carry over."""
        self.device_name = device
        if not self._running:
            return
        async with self._lock:
            await self._close(drain=True)
            await self._open_with_fallback(device)

    def _report(
        self,
        message: str,
        device: str | None,
        recovered: bool = True,
        *,
        cause: Literal["device", "silence"] = "device",
        cleared: bool = False,
    ) -> None:
        if self._on_problem is not None:
            self._on_problem(AudioProblem(message, device, recovered, cause, cleared))

    async def _open_with_fallback(self, name: str | None) -> bool:
        try:
            dev = await asyncio.to_thread(_locked, find_device, name, self.kind)
            await self._open(dev)
            return True
        except (DeviceNotFound, sd.PortAudioError, OSError, ValueError) as exc:
            if name is None:
                self._report(f"No usable {self.kind} device: {exc}", None, recovered=False)
                return False
            self._report(f"{self.kind.capitalize()} device {name!r} unavailable ({exc}); using the default", name)
        return await self._open_with_fallback(None)

    async def _open(self, dev: DeviceInfo) -> None:
        self.callbacks = 0
        self._finished_unexpectedly = False
        self._closing = False
        stream = await asyncio.to_thread(_locked, self._create_stream, dev)
        try:
            await asyncio.to_thread(_locked, stream.start)
        except BaseException:
            await asyncio.to_thread(_locked, stream.close, True)
            raise
        self._stream = stream
        self.current = dev
        self._on_default = dev.is_default_input if self.kind == "input" else dev.is_default_output
        self._opened_at = self._probed_at = time.monotonic()

    async def _close(self, *, drain: bool = False) -> None:
        """Close the stream: abort it (drop what the device still buffers) unless ``drain``.

        A deliberate switch drains, so audio already handed to the old output device is heard
        and ``played_samples`` stays true; a failed device is aborted, since waiting on it may hang.
        """
        if self._stream is None:
            return
        if drain:
            await self._drain_device()
        stream, self._stream = self._stream, None
        self._closing = True
        with contextlib.suppress(sd.PortAudioError, OSError):
            await asyncio.to_thread(_locked, stream.close, True)
        self._stream_stopped()

    def _stopping(self) -> bool:
        return not self._running

    def _finished(self) -> None:
        """sounddevice's finished_callback (PortAudio thread)."""
        if not self._closing:
            self._finished_unexpectedly = True

    def _failure(self) -> str | None:
        if self._stream is None:
            return "no stream"
        if self._finished_unexpectedly:
            return "the stream ended"
        seen = self.callbacks
        now = time.monotonic()
        if seen != self._last_seen:
            self._last_seen = seen
            self._last_progress = now
            return None
        limit = self._first_timeout_s if seen == 0 else self._stall_timeout_s
        if now - max(self._last_progress, self._opened_at) > limit:
            return f"no audio for {now - max(self._last_progress, self._opened_at):.1f} s"
        return None

    async def _probe(self) -> str | None:
        """Every ``probe_s``: is the chosen (non-default) device still there?"""
        dev = self.current
        now = time.monotonic()
        if dev is None or self._on_default or self._stream is None or now - self._probed_at < self._probe_s:
            return None
        self._probed_at = now
        check = sd.check_input_settings if self.kind == "input" else sd.check_output_settings
        try:
            await asyncio.to_thread(
                _locked, check, device=dev.index, samplerate=self.rate, channels=self.channels, dtype="float32"
            )
        except sd.PortAudioError as exc:
            code = exc.args[1] if len(exc.args) > 1 else None
            if code == _PA_DEVICE_UNAVAILABLE:
                return None  # in use exclusively (by us): still there
            return "the device is gone"
        except ValueError:
            return "the device is gone"
        return None

    async def _watch(self) -> None:
        self._last_seen = -1
        self._last_progress = time.monotonic()
        while self._running:
            await asyncio.sleep(0.1 if self._stream is not None else self._retry_s)
            probed = None
            reason = self._failure()
            if reason is None:
                probed = self.current
                reason = await self._probe()
            if reason is None:
                continue
            failed = self.current.name if self.current is not None else self.device_name
            async with self._lock:
                if self._stopping():
                    return
                if probed is not None and self.current is not probed:
                    continue  # switched to another device while the probe ran
                await self._close()
                self.restarts += 1
                if reason != "no stream":
                    self._report(
                        f"{self.kind.capitalize()} device {failed!r} failed ({reason}); switching to the default",
                        failed,
                    )
                ok = await self._open_with_fallback(None)
            self._last_seen = -1
            self._last_progress = time.monotonic()
            if not ok:
                self.current = None


def _locked(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a PortAudio control call under ``PA_LOCK`` (in a worker thread)."""
    with PA_LOCK:
        return func(*args, **kwargs)
