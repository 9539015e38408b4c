"""Preallocated single-producer/single-consumer ring buffers shared with PortAudio callbacks.

One side (a PortAudio callback or the asyncio loop) writes, the other reads. Positions are
monotonic Python ints that only their owner advances: the writer publishes ``_written`` after the
data is in place and the reader publishes ``_read`` after it has copied the data out, so under the
GIL each side sees a consistent snapshot without a lock. Nothing here allocates buffers after
construction (slicing makes small view objects, which is unavoidable in Python), logs or blocks.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class FrameRing:
    """A ring of ``capacity`` frames of ``channels`` samples of ``dtype``.

    Overflow drops the newest frames (the writer never moves the reader's position) and counts
    them in ``dropped``.
    """

    __slots__ = ("_buf", "_capacity", "_read", "_written", "channels", "dropped")

    def __init__(self, capacity: int, channels: int = 1, dtype: npt.DTypeLike = np.float32) -> None:
        if capacity <= 0 or channels <= 0:
            raise ValueError("capacity and channels must be positive")
        self._buf: npt.NDArray[np.generic] = np.zeros((capacity, channels), dtype=dtype)
        self._capacity = capacity
        self.channels = channels
        self._written = 0
        self._read = 0
        self.dropped = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def dtype(self) -> np.dtype[np.generic]:
        return self._buf.dtype

    @property
    def write_position(self) -> int:
        """Frames ever written (a monotonic position in the stream)."""
        return self._written

    @property
    def read_position(self) -> int:
        """Frames ever consumed (read or skipped)."""
        return self._read

    def available(self) -> int:
        """Frames written and not yet consumed."""
        return self._written - self._read

    def space(self) -> int:
        return self._capacity - (self._written - self._read)

    def write(self, frames: npt.NDArray[np.generic]) -> int:
        """Copy ``frames`` (shape ``(n, channels)`` or ``(n,)`` for one channel) in; returns frames taken."""
        n = min(len(frames), self.space())
        if n < len(frames):
            self.dropped += len(frames) - n
        if n <= 0:
            return 0
        start = self._written % self._capacity
        first = min(n, self._capacity - start)
        src = frames if frames.ndim == 2 else frames.reshape(-1, 1)
        self._buf[start : start + first] = src[:first]
        if first < n:
            self._buf[: n - first] = src[first:n]
        self._written += n  # publish after the data is in place
        return n

    def write_silence(self, n: int) -> int:
        n = min(n, self.space())
        if n <= 0:
            return 0
        start = self._written % self._capacity
        first = min(n, self._capacity - start)
        self._buf[start : start + first] = 0
        if first < n:
            self._buf[: n - first] = 0
        self._written += n
        return n

    def peek_into(self, out: npt.NDArray[np.generic], offset: int = 0) -> int:
        """Copy up to ``len(out)`` frames starting ``offset`` frames past the read position; no consume."""
        n = max(0, min(len(out), self.available() - offset))
        if n == 0:
            return 0
        start = (self._read + offset) % self._capacity
        first = min(n, self._capacity - start)
        dst = out if out.ndim == 2 else out.reshape(-1, 1)
        dst[:first] = self._buf[start : start + first]
        if first < n:
            dst[first:n] = self._buf[: n - first]
        return n

    def read_into(self, out: npt.NDArray[np.generic]) -> int:
        """Move up to ``len(out)`` frames into ``out``; returns how many."""
        n = self.peek_into(out)
        self._read += n  # publish after the data is out
        return n

    def skip(self, n: int) -> int:
        """Consume up to ``n`` frames without copying them."""
        n = max(0, min(n, self.available()))
        self._read += n
        return n

    def skip_to(self, position: int) -> int:
        """Consume everything before the absolute ``position`` (never past what is written)."""
        return self.skip(min(position, self._written) - self._read)

    def read_all(self) -> npt.NDArray[np.generic]:
        """Loop-side convenience: a new array with everything available (allocates; not for callbacks)."""
        out = np.empty((self.available(), self.channels), dtype=self._buf.dtype)
        self.read_into(out)
        return out


class StampRing:
    """A tiny ring of (stream position, time) pairs noted by a callback, read by the loop.

    Used to map ring positions to PortAudio stream times (ADC time of a captured frame, DAC time of
    a played one) so capture and playback can be aligned for echo cancellation.
    """

    __slots__ = ("_count", "_pos", "_size", "_time")

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._pos = np.zeros(size, dtype=np.int64)
        self._time = np.zeros(size, dtype=np.float64)
        self._count = 0

    def note(self, position: int, when: float) -> None:
        i = self._count % self._size
        self._pos[i] = position
        self._time[i] = when
        self._count += 1

    def latest(self) -> tuple[int, float] | None:
        """The most recent complete pair, or None before the first."""
        count = self._count
        if count == 0:
            return None
        i = (count - 1) % self._size
        return int(self._pos[i]), float(self._time[i])

    @property
    def count(self) -> int:
        return self._count
