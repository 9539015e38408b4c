"""Microphone capture: a PortAudio input stream at the device's own format -> 24 kHz pcm16 blocks.

The PortAudio callback only copies into a preallocated ring, notes the ADC time, and wakes the
loop with ``call_soon_threadsafe`` at most once per block. The loop side downmixes, resamples,
applies echo control and hands exact ``block`` blocks to ``on_block``.

Stream settings: 10 ms callbacks with a 20 ms buffer, because a larger input buffer adds its whole
length to every block's delay (figures: docs/decisions/0002-audio-stream-settings.md); the loop is woken
once per block, as soon as the block can be completed including what the resampler holds back.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import sounddevice as sd

from voicedesk.audio.base import SAMPLE_RATE, BlockCallback, Levels, Pcm16, ProblemCallback
from voicedesk.audio.devices import DeviceInfo, DeviceStream, pick_format
from voicedesk.audio.echo import EchoControl
from voicedesk.audio.levels import LevelMeter
from voicedesk.audio.resample import StreamResampler
from voicedesk.audio.ring import FrameRing, StampRing
from voicedesk.audio.silence import SilenceWatch


class DeviceSource(DeviceStream):
    """An ``AudioSource`` on a real input device."""

    kind = "input"

    def __init__(
        self,
        device: str | None = None,
        *,
        block_ms: int = 20,
        echo: EchoControl | None = None,
        before_block: Callable[[], None] | None = None,
        on_problem: ProblemCallback | None = None,
        samplerate: float | None = None,
        channels: int | None = None,
        latency: str | float = 0.02,
        callback_s: float = 0.01,
    ) -> None:
        super().__init__(device, on_problem)
        self._callback_s = callback_s
        self.block = SAMPLE_RATE * block_ms // 1000
        self.echo = echo
        self._before_block = before_block  # e.g. bring the far-end timeline up to date
        self._want_rate = samplerate
        self._want_channels = channels
        self._latency = latency
        self._meter = LevelMeter()
        self.silence = SilenceWatch()
        self._on_block: BlockCallback | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ring: FrameRing | None = None
        self._stamps = StampRing()
        self._resampler: StreamResampler | None = None
        self._acc = np.zeros(SAMPLE_RATE, dtype=np.float32)  # 24 kHz samples not yet in a block
        self._acc_n = 0
        self._wake_pending = False
        self._wake_frames = 1
        self.rate = 0.0
        self.channels = 0
        self._base_out = 0  # 24 kHz samples produced before the current stream opened
        self._out_total = 0  # 24 kHz samples produced (continuous across device switches)
        self.blocks = 0
        self.overflows = 0
        self._overflows_seen = 0
        # Diagnostics (benchmarks): per block, stream time from its last sample's ADC time to on_block
        # (the ADC times through PulseAudio's ALSA plugin shift by +-15 ms from one stream to the
        # next), and from the callback that brought that sample to on_block (this engine's own part).
        self.latencies: list[float] = []
        self.callback_latencies: list[float] = []
        self.keep_latencies = False
        self._arrived = 0.0  # callback: stream time of the latest callback
        self.raw_tap: BlockCallback | None = None  # sees each block before echo control (diagnostics)

    # --- AudioSource ------------------------------------------------------------------------
    async def start(self, on_block: BlockCallback) -> None:
        self._on_block = on_block
        self._loop = asyncio.get_running_loop()
        await self._start_stream()

    async def stop(self) -> None:
        await self._stop_stream()
        self._on_block = None

    def levels(self) -> Levels:
        return self._meter.levels()

    def history(self) -> npt.NDArray[np.float32]:
        return self._meter.history()

    @property
    def device_latency_s(self) -> float:
        return float(self._stream.latency) if self._stream is not None else 0.0

    # --- stream -----------------------------------------------------------------------------
    def _create_stream(self, dev: DeviceInfo) -> Any:
        rate, channels = pick_format(dev, "input", self._want_rate, self._want_channels)
        self.rate, self.channels = rate, channels
        self._ring = FrameRing(int(rate * 2), channels, np.float32)
        self._stamps = StampRing()
        self._resampler = StreamResampler(rate, SAMPLE_RATE)
        self._base_out = self._out_total
        self._wake_frames = max(1, int(rate * self.block / SAMPLE_RATE))
        self._wake_pending = False
        return sd.InputStream(
            device=dev.index,
            samplerate=rate,
            channels=channels,
            dtype="float32",
            blocksize=max(1, round(rate * self._callback_s)),
            latency=self._latency,
            callback=self._callback,
            finished_callback=self._finished,
        )

    def _callback(self, indata: Any, frames: int, when: Any, status: sd.CallbackFlags) -> None:
        # PortAudio thread: copy, note the time, maybe wake the loop. Nothing else.
        ring = self._ring
        if ring is None:
            return
        if status.input_overflow:
            self.overflows += 1  # samples were lost: the loop re-pairs the echo reference
        t = when.inputBufferAdcTime or when.currentTime
        self._stamps.note(ring.write_position, t)
        self._arrived = when.currentTime
        ring.write(indata)
        self.callbacks += 1
        if not self._wake_pending and ring.available() >= self._wake_frames and self._loop is not None:
            self._wake_pending = True
            self._loop.call_soon_threadsafe(self._drain)

    def _stream_stopped(self) -> None:
        self._drain()
        if self._resampler is not None:
            self._push(self._resampler.drain())
        if self.echo is not None:
            self.echo.restart()  # the next stream pairs microphone and reference anew
        self.silence.restart()

    # --- loop side --------------------------------------------------------------------------
    def _time_of(self, index24: int) -> float:
        """Stream (ADC) time of 24 kHz sample ``index24``."""
        stamp = self._stamps.latest()
        if stamp is None:
            return 0.0
        pos, t = stamp
        frame = (index24 - self._base_out) * self.rate / SAMPLE_RATE
        return t + (frame - pos) / self.rate

    def _drain(self) -> None:
        self._wake_pending = False
        ring, resampler = self._ring, self._resampler
        if ring is None or resampler is None or ring.available() == 0:
            return
        frames = ring.read_all()
        mono = frames[:, 0] if frames.shape[1] == 1 else frames.mean(axis=1)
        self._push(resampler.process(mono.astype(np.float32, copy=False)))
        # Wake again once the next block can be completed: what it still lacks plus what the
        # resampler holds back (2-3 ms), else every block would wait for one more callback.
        owed = self.block - self._acc_n + resampler.held_back
        self._wake_frames = max(1, math.ceil(owed * self.rate / SAMPLE_RATE))

    def _push(self, samples: npt.NDArray[np.float32]) -> None:
        i = 0
        while i < samples.size:
            take = min(samples.size - i, self._acc.size - self._acc_n)
            self._acc[self._acc_n : self._acc_n + take] = samples[i : i + take]
            self._acc_n += take
            i += take
            while self._acc_n >= self.block:
                self._deliver(self._acc[: self.block])
                self._acc[: self._acc_n - self.block] = self._acc[self.block : self._acc_n]
                self._acc_n -= self.block

    def _deliver(self, block: npt.NDArray[np.float32]) -> None:
        start = self._out_total
        self._out_total += block.size
        pcm: Pcm16 = np.clip(np.round(block * 32768.0), -32768, 32767).astype(np.int16)
        if self.raw_tap is not None:
            self.raw_tap(pcm)
        change = self.silence.feed(pcm)
        if change is not None:
            self._report_silence(change == "went silent")
        if self._before_block is not None:
            self._before_block()
        if self.echo is not None and self.echo.mode != "off":
            overflows = self.overflows + (self._ring.dropped if self._ring is not None else 0)
            if overflows != self._overflows_seen:
                self._overflows_seen = overflows
                self.echo.restart()
            pcm = self.echo.process(pcm, self._time_of(start))
        self._meter.feed(pcm)
        self.blocks += 1
        if self.keep_latencies and self._stream is not None:
            now = float(self._stream.time)
            self.latencies.append(now - self._time_of(start + block.size - 1))
            self.callback_latencies.append(now - self._arrived)
        if self._on_block is not None:
            self._on_block(pcm)

    def _report_silence(self, silent: bool) -> None:
        name = self.current.name if self.current is not None else (self.device_name or "default")
        if silent:
            message = (
                f"The microphone {name!r} records only silence. It may be muted in the system's sound settings, "
                "or voicedesk may not be allowed to use it (the system's privacy settings for the microphone)."
            )
        else:
            message = f"The microphone {name!r} hears sound again."
        self._report(message, name, recovered=not silent, cause="silence", cleared=not silent)
