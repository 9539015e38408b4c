"""Ring: the one fixed-capacity history every view keeps (level traces, raw events, tool calls). Plain
numpy, no Qt.

The oldest entries fall off as new ones arrive. Each entry is written twice (at ``i`` and ``i + capacity``),
so the newest entries are always one contiguous slice in time order: ``latest()`` returns a view, never a
copy, and nothing is allocated after construction. Object rings (``dtype=object``) hold any Python value;
numeric rings hold fixed-shape rows (e.g. two levels per frame) and are read through ``latest()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar, cast

import numpy as np
import numpy.typing as npt

T = TypeVar("T")


class Ring(Generic[T]):
    def __init__(self, capacity: int, *, dtype: npt.DTypeLike = object, row_shape: tuple[int, ...] = ()) -> None:
        if capacity < 1:
            raise ValueError("a ring needs room for at least one entry")
        self.capacity = capacity
        self._data: npt.NDArray[Any] = np.zeros((2 * capacity, *row_shape), dtype=dtype)
        self._blank: Any = None if self._data.dtype == object else 0
        self._data[:] = self._blank
        self._next = 0  # where the next entry goes, 0 <= _next < capacity
        self._len = 0
        self.dropped = 0  # entries that fell off (or were dropped) since the last clear

    def __len__(self) -> int:
        return self._len

    def push(self, entry: T) -> None:
        i = self._next
        self._data[i] = self._data[i + self.capacity] = entry
        self._next = (i + 1) % self.capacity
        if self._len == self.capacity:
            self.dropped += 1
        else:
            self._len += 1

    def drop_oldest(self, count: int = 1) -> None:
        """Forget the ``count`` oldest entries (so a Qt model can announce removals before insertions)."""
        count = min(count, self._len)
        self._len -= count
        self.dropped += count

    def __getitem__(self, index: int) -> T:
        """The ``index``-th oldest entry kept (negative indexes count from the newest)."""
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        return cast(T, self._data[self._next + self.capacity - self._len + index])

    def __iter__(self) -> Iterator[T]:
        for index in range(self._len):
            yield self[index]

    def latest(self, count: int | None = None) -> npt.NDArray[Any]:
        """The newest ``count`` entries (all kept ones by default), oldest first, as a view valid until the
        next ``push``. Asking for more than were pushed pads the start with the blank value (zeros, None)."""
        count = self._len if count is None else min(count, self.capacity)
        end = self._next + self.capacity
        return self._data[end - count : end]

    def clear(self) -> None:
        self._data[:] = self._blank
        self._next = self._len = 0
        self.dropped = 0
