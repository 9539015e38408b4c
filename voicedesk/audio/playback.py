"""Speaker playback: a jitter buffer feeding a PortAudio output stream, counting what was played.

Loop side: ``write`` queues 24 kHz pcm16; a 20 ms pump resamples queued audio to the device rate
into a preallocated ring, keeping it ``ahead_s`` full, and reads back what the callback played
(for the output level and the echo canceller's reference).

PortAudio side: the callback copies from the ring, starts only after ``prebuffer_s`` (or when the
writer has gone quiet), outputs silence on underrun (counted, with short fades out and back in),
and honours ``flush`` on its next run: a fade of at most ``fade_s`` and the queue dropped. It also
copies what it output into a second ring with the DAC time, and counts real frames delivered:
``played_samples`` is that count on the 24 kHz timeline.

Stream settings: 20 ms callbacks and a 40 ms device buffer (``latency=0.04``). Shorter callbacks cost
CPU for no faster reaction (PortAudio pairs 10 ms callbacks above 30 ms of buffer anyway), and a shorter
buffer runs dry when the loop thread holds the GIL on a loaded machine (each underrun shifts the echo: see
echo_reference.FarEndTimeline.append). A flush reaches the device at the next callback (<= 20 ms) plus the
fade. Figures: docs/decisions/0002-audio-stream-settings.md.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import sounddevice as sd

from voicedesk.audio.base import SAMPLE_RATE, Levels, Pcm16, ProblemCallback
from voicedesk.audio.devices import DeviceInfo, DeviceStream, pick_format
from voicedesk.audio.echo_reference import FarEndTimeline
from voicedesk.audio.levels import LevelMeter
from voicedesk.audio.resample import StreamResampler
from voicedesk.audio.ring import FrameRing, StampRing

Float32 = npt.NDArray[np.float32]


class DeviceSink(DeviceStream):
    """An ``AudioSink`` on a real output device."""

    kind = "output"

    def __init__(
        self,
        device: str | None = None,
        *,
        on_problem: ProblemCallback | None = None,
        prebuffer_s: float = 0.04,
        fade_s: float = 0.008,
        ahead_s: float = 0.3,
        samplerate: float | None = None,
        channels: int | None = None,
        latency: str | float = 0.04,
        callback_s: float = 0.02,
    ) -> None:
        super().__init__(device, on_problem)
        self.callback_s = callback_s
        self._prebuffer_s = prebuffer_s
        self.fade_s = min(fade_s, 0.01)
        self._ahead_s = ahead_s
        self._want_rate = samplerate
        self._want_channels = channels
        self._latency = latency
        self.timeline: FarEndTimeline | None = None  # set by the engine when echo control needs it
        self._meter = LevelMeter()
        self._queue: collections.deque[Pcm16] = collections.deque()
        self._queued = 0  # 24 kHz samples in _queue
        self._last_write = 0.0
        self._pump_task: asyncio.Task[None] | None = None
        self.rate = 0.0
        self.channels = 0
        # Device-rate state, rebuilt per stream.
        self._ring = FrameRing(1)
        self._played = FrameRing(1)
        self._stamps = StampRing()
        self._scratch = np.zeros((1, 1), dtype=np.float32)
        self._fade_out = np.zeros((1, 1), dtype=np.float32)
        self._fade_in = np.zeros((1, 1), dtype=np.float32)
        self._prebuffer = 1
        self._resampler: StreamResampler | None = None
        self._back: StreamResampler | None = None
        # Shared with the callback (plain attributes: single writer each).
        self._release = False  # loop: start even below the prebuffer (the writer went quiet)
        self._flush_seq = 0  # loop: bumped by flush()
        self._flush_target = 0  # loop: ring position up to which a flush drops
        self._flush_done = 0  # callback: last flush handled
        self._flushed_to = 0  # callback: played-ring position where the last handled flush's fade ends
        self._hold = False  # loop: pause output (fade out, then silence) without dropping the queue
        self._last_real_dac = 0.0  # callback: stream time when the last real sample leaves the device
        self._playing = False  # callback
        self._frames_played = 0  # callback: real frames handed to the device on this stream
        self._played_base = 0  # loop: 24 kHz samples played on earlier streams
        self.underruns = 0  # callback: the jitter buffer ran dry while audio was expected
        self.xruns = 0  # callback: the device ran dry (our callback came too late)
        self._xruns_seen = 0  # loop: xruns already reported to the echo timeline
        self._back_out = 0  # 24 kHz samples of played audio read back
        self._read_back = 0  # device frames of played audio read back (this stream)
        self._back_on = False  # the read-back is being resampled for the echo timeline
        self._pumped_at = 0.0
        self.started_at = 0.0  # callback: when output last (re)started, time.monotonic()
        self.flushed_at = 0.0  # callback: when the last flush was applied

    # --- AudioSink --------------------------------------------------------------------------
    async def start(self) -> None:
        await self._start_stream()
        self._pump_task = asyncio.get_running_loop().create_task(self._pump_forever())

    async def stop(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task
            self._pump_task = None
        await self._stop_stream()

    def write(self, pcm: Pcm16) -> None:
        if pcm.size == 0:
            return
        self._queue.append(np.asarray(pcm, dtype=np.int16).reshape(-1))
        self._queued += pcm.size
        self._last_write = time.monotonic()
        self._release = False
        self._fill()

    def flush(self) -> None:
        self._queue.clear()
        self._queued = 0
        if self._resampler is not None:
            self._resampler.reset()  # what it held back is dropped too
        self._flush_target = self._ring.write_position
        self._flush_seq += 1  # the callback fades and drops on its next run
        self._meter.reset()  # the level reads silence at once; the read-back skips what precedes the flush

    @property
    def played_samples(self) -> int:
        return self._played_base + self._to24(self._frames_played)

    @property
    def buffered_samples(self) -> int:
        pending = self._ring.available()
        if self._flush_done != self._flush_seq:
            pending = max(0, self._ring.write_position - max(self._flush_target, self._ring.read_position))
        held = self._resampler.held_back if self._resampler is not None else 0
        return self._queued + self._to24(pending + held)

    @property
    def output_latency_s(self) -> float:
        return float(self._stream.latency) if self._stream is not None else 0.0

    def levels(self) -> Levels:
        return self._meter.levels()

    def history(self) -> Float32:
        return self._meter.history()

    @property
    def flush_pending(self) -> bool:
        return self._flush_done != self._flush_seq

    def _to24(self, frames: int) -> int:
        return int(frames * SAMPLE_RATE / self.rate) if self.rate else 0

    # --- stream -----------------------------------------------------------------------------
    def _create_stream(self, dev: DeviceInfo) -> Any:
        rate, channels = pick_format(dev, "output", self._want_rate, self._want_channels)
        self.rate, self.channels = rate, channels
        cap = int(rate * max(2.0, 4 * self._ahead_s))
        self._ring = FrameRing(cap, 1, np.float32)
        self._played = FrameRing(int(rate * 2), 1, np.float32)
        self._stamps = StampRing()
        self._scratch = np.zeros((int(rate), 1), dtype=np.float32)
        fade = max(1, int(rate * self.fade_s))
        self._fade_out = np.linspace(1.0, 0.0, fade, dtype=np.float32).reshape(-1, 1)
        self._fade_in = np.ascontiguousarray(self._fade_out[::-1])
        self._prebuffer = max(1, int(rate * self._prebuffer_s))
        self._resampler = StreamResampler(SAMPLE_RATE, rate)
        self._back = StreamResampler(rate, SAMPLE_RATE)
        self._frames_played = 0
        self._back_out = 0
        self._read_back = 0
        self._back_on = False
        self._meter = LevelMeter(rate=round(rate))
        self._playing = False
        self._hold = False
        self._flush_target = 0
        self._flush_done = self._flush_seq
        self._flushed_to = 0
        return sd.OutputStream(
            device=dev.index,
            samplerate=rate,
            channels=channels,
            dtype="float32",
            blocksize=max(1, round(rate * self.callback_s)),
            latency=self._latency,
            callback=self._callback,
            finished_callback=self._finished,
        )

    async def _drain_device(self) -> None:
        """Before a switch: fade out, then wait until the device has let out every real sample."""
        stream = self._stream
        if stream is None:
            return
        self._hold = True
        seen = self.callbacks
        loop = asyncio.get_running_loop()
        give_up = loop.time() + 0.5
        while loop.time() < give_up and (  # noqa: ASYNC110 - polling the device clock
            self.callbacks < seen + 2 or float(stream.time) < self._last_real_dac + 0.005
        ):
            await asyncio.sleep(0.005)

    def _stream_stopped(self) -> None:
        # Keep the timeline continuous: what was queued on the old device is played on the next.
        self._collect_played(final=True)
        if self.timeline is not None:
            self.timeline.stopped()
        self._played_base += self._to24(self._frames_played)
        self._frames_played = 0
        unplayed = self._ring.read_all()[:, 0].astype(np.float32)
        if unplayed.size and self.rate:
            back = StreamResampler(self.rate, SAMPLE_RATE)
            again = np.concatenate([back.process(unplayed), back.drain()])
            pcm = np.clip(np.round(again * 32768.0), -32768, 32767).astype(np.int16)
            self._queue.appendleft(pcm)
            self._queued += pcm.size

    def _callback(self, outdata: Any, frames: int, when: Any, status: sd.CallbackFlags) -> None:
        # PortAudio thread: copy from the ring, fade where needed, note what was played.
        self.callbacks += 1
        if status.output_underflow:
            self.xruns += 1
        ring = self._ring
        buf = self._scratch[:frames]
        real = 0
        if self._flush_done != self._flush_seq:
            self._flushed_to = self._played.write_position + frames  # set before _flush_done: the loop reads both
            self._flush_done = self._flush_seq
            if self._playing:
                fade = self._fade_out
                n = ring.peek_into(buf[: min(frames, fade.shape[0], max(0, self._flush_target - ring.read_position))])
                buf[:n] *= fade[:n]
                real = n
            ring.skip_to(self._flush_target)
            self._playing = False
            self.flushed_at = time.monotonic()
        elif self._hold:
            if self._playing:
                fade = self._fade_out
                n = ring.read_into(buf[: min(frames, fade.shape[0])])
                buf[:n] *= fade[:n]
                real = n
                self._playing = False
        elif not self._playing:
            if ring.available() >= self._prebuffer or (self._release and ring.available() > 0):
                self._playing = True
                n = ring.read_into(buf)
                k = min(n, self._fade_in.shape[0])
                if self.underruns or self._frames_played or self._played_base:
                    buf[:k] *= self._fade_in[:k]  # refill after an underrun or a switch: no click
                real = n
                self.started_at = time.monotonic()
        else:
            n = ring.read_into(buf)
            real = n
            if n < frames:
                if not self._release:
                    self.underruns += 1  # ran dry while the writer was still active
                self._playing = False
                k = min(n, self._fade_out.shape[0])
                buf[n - k : n] *= self._fade_out[self._fade_out.shape[0] - k :]
        buf[real:] = 0.0
        outdata[:] = buf  # broadcasts mono to every channel
        self._frames_played += real
        dac = when.outputBufferDacTime or when.currentTime
        if real:
            self._last_real_dac = dac + real / self.rate
        self._stamps.note(self._played.write_position, dac)
        self._played.write(buf)

    # --- loop side --------------------------------------------------------------------------
    def _fill(self) -> None:
        """Move queued audio into the device ring, resampled, up to ``ahead_s`` ahead."""
        resampler = self._resampler
        if resampler is None or not self.rate or self._stream is None:
            return  # no stream (closed, or switching): the queue waits for the next one
        target = int(self.rate * self._ahead_s)
        while self._queue and self._ring.available() < target:
            room_24 = int((target - self._ring.available()) * SAMPLE_RATE / self.rate) + 1
            head = self._queue[0]
            take = head[:room_24]
            if take.size == head.size:
                self._queue.popleft()
            else:
                self._queue[0] = head[take.size :]
            self._queued -= take.size
            self._ring.write(resampler.process(take.astype(np.float32) * (1.0 / 32768.0)))
        quiet = time.monotonic() - self._last_write >= self._prebuffer_s
        if quiet and not self._queue and self._ring.available() < self._prebuffer and resampler.held_back > 0:
            # The writer went quiet and the ring runs dry: push the resampler's tail out.
            self._ring.write(resampler.drain())
        if quiet and not self._queue:
            self._release = True  # let a sound shorter than the prebuffer play

    def _collect_played(self, final: bool = False) -> None:
        """Read back what the callback output: the output level, and the echo reference if wanted."""
        back = self._back
        if back is None or (self._stream is None and not final) or self._played.available() == 0:
            return
        stamp = self._stamps.latest()
        flush_pending, flushed_to = self.flush_pending, self._flushed_to  # before the read: see _callback
        start = self._played.read_position
        frames: Float32 = self._played.read_all()[:, 0].astype(np.float32, copy=False)
        first = self._read_back  # device frame (on this stream) of frames[0]
        self._read_back += frames.size
        if not flush_pending:  # until the callback applies a flush, the read-back is audio the flush cut
            self._meter.feed(frames[max(0, flushed_to - start) :])
        if self.timeline is None or stamp is None:
            self._back_on = False  # no echo control: spare the resampling
            return
        if not self._back_on:
            back.reset()
            self._back_out = round(first * SAMPLE_RATE / self.rate)
            self._back_on = True
        out = back.process(frames)
        if out.size == 0:
            return
        pos, t = stamp
        # The first read-back sample's device frame, on this stream's played-ring positions.
        frame = self._back_out * self.rate / SAMPLE_RATE
        xruns = self.xruns
        self.timeline.live = True
        self.timeline.append(out, t + (frame - pos) / self.rate, discontinuity=xruns != self._xruns_seen)
        self._xruns_seen = xruns
        self._back_out += out.size

    def pump(self) -> None:
        """Refill the device ring and read back what was played. The engine calls this before every
        microphone block (so the echo reference is up to date); the sink's own task covers the rest."""
        self._pumped_at = time.monotonic()
        self._fill()
        self._collect_played()

    async def _pump_forever(self) -> None:
        while True:
            if time.monotonic() - self._pumped_at >= 0.015:
                self.pump()
                await asyncio.sleep(0.02)
            else:
                await asyncio.sleep(0.05)  # pumped from outside (the microphone's blocks): stand by
