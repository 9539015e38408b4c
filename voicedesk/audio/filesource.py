"""Microphones without a sound card: ``FileSource`` plays clips into the session as a live microphone
would, ``NullSource`` is a machine with no microphone at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque

import numpy as np

from voicedesk.audio.base import SAMPLE_RATE, BlockCallback, Levels, Pcm16, levels_of

log = logging.getLogger(__name__)

MAX_LAG_S = 1.0
"""Fallen this far behind (a stalled loop, a suspended machine), the pace restarts from now instead of
delivering the whole backlog in one burst."""


class _Pace:
    """Block n is due at origin + n * period: absolute times, so sleeping late never accumulates drift."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._origin = 0.0
        self._count = 0

    def restart(self, now: float) -> None:
        self._origin = now
        self._count = 0

    async def wait_next(self, loop: asyncio.AbstractEventLoop) -> None:
        self._count += 1
        delay = self._origin + self._count * self.period_s - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif -delay > MAX_LAG_S:
            self.restart(loop.time())
        else:
            await asyncio.sleep(0)  # late: deliver now, but let the loop breathe between blocks


class FileSource:
    """An AudioSource fed with clips: ``play`` queues one, and between clips it delivers silence.

    Blocks of ``block_ms`` go out at ``speed`` times real time; ``math.inf`` delivers queued clips as
    fast as the loop allows (yielding between blocks). Idle silence at infinite speed comes as one
    burst of ``idle_burst_s`` (enough for any server VAD to end the turn at once) and then in real
    time: an endless flood of silence would only load the loop and the connection.
    """

    def __init__(self, speed: float = 1.0, block_ms: int = 20, *, idle_burst_s: float = 2.0) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        if block_ms <= 0 or SAMPLE_RATE * block_ms % 1000:
            raise ValueError(f"block_ms must be a positive whole number of milliseconds, got {block_ms}")
        self.speed = speed
        self.block_samples = SAMPLE_RATE * block_ms // 1000
        self._block_s = block_ms / 1000
        self._idle_burst_blocks = math.ceil(idle_burst_s / self._block_s)
        self._queue: deque[Pcm16] = deque()
        self._head = 0
        self._queued = 0
        self._taken_total = 0  # clip samples delivered since construction
        self._queued_total = 0  # clip samples ever queued
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._levels = Levels()

    async def start(self, on_block: BlockCallback) -> None:
        if self._task is not None and not self._task.done():
            raise RuntimeError("FileSource is already started")
        self._task = asyncio.create_task(self._deliver(on_block), name="file-source")

    async def stop(self) -> None:
        """Stop delivering; queued clips are dropped and their ``play`` calls return."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._queue.clear()
        self._head = 0
        self._taken_total += self._queued
        self._queued = 0
        self._release_waiters()
        self._levels = Levels()

    def levels(self) -> Levels:
        return self._levels

    async def play(self, pcm: Pcm16) -> None:
        """Queue a clip and return once its last block has been delivered (or the source stopped)."""
        if pcm.size == 0:
            return
        self._queue.append(np.array(pcm, dtype=np.int16, copy=True).ravel())
        self._queued += pcm.size
        self._queued_total += pcm.size
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((self._queued_total, done))
        await done

    def pending_ms(self) -> float:
        """Milliseconds of queued clip audio not yet delivered."""
        return self._queued * 1000 / SAMPLE_RATE

    async def _deliver(self, on_block: BlockCallback) -> None:
        loop = asyncio.get_running_loop()
        pace = _Pace(self._block_s / self.speed)
        if math.isinf(self.speed):
            pace.period_s = self._block_s  # used only for idle silence after the burst
        pace.restart(loop.time())
        idle_blocks = 0
        try:
            while True:
                if not math.isinf(self.speed):
                    await pace.wait_next(loop)
                elif self._queued or idle_blocks < self._idle_burst_blocks:
                    await asyncio.sleep(0)
                    pace.restart(loop.time())
                else:
                    await pace.wait_next(loop)
                idle_blocks = 0 if self._queued else idle_blocks + 1
                block = self._next_block()
                self._levels = levels_of(block)
                on_block(block)
                self._release_waiters()
        except Exception:
            # Like a device that died: report, stop delivering, and let waiting play() calls return.
            log.exception("the microphone block consumer failed; the file source stopped")
        finally:
            self._release_waiters(everything=True)

    def _next_block(self) -> Pcm16:
        block = np.zeros(self.block_samples, dtype=np.int16)
        filled = 0
        while filled < self.block_samples and self._queue:
            chunk = self._queue[0]
            piece = chunk[self._head : self._head + self.block_samples - filled]
            block[filled : filled + piece.size] = piece
            filled += piece.size
            self._head += piece.size
            if self._head == chunk.size:
                self._queue.popleft()
                self._head = 0
        self._queued -= filled
        self._taken_total += filled
        return block

    def _release_waiters(self, *, everything: bool = False) -> None:
        while self._waiters and (everything or self._waiters[0][0] <= self._taken_total):
            _, done = self._waiters.popleft()
            if not done.done():
                done.set_result(None)


class NullSource:
    """A machine with no microphone: delivers nothing at all, and its levels stay at zero.

    Nothing rather than silence: the session then streams no audio, push-to-talk finds nothing to
    commit (and, under 100 ms, commits nothing), and server VAD simply never hears speech.
    """

    async def start(self, on_block: BlockCallback) -> None:
        del on_block  # never called

    async def stop(self) -> None:
        return None

    def levels(self) -> Levels:
        return Levels()
