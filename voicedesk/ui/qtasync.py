"""Typed access to qasync (which ships without type hints)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, cast

import qasync

P = ParamSpec("P")
AsyncMethod = Callable[P, Coroutine[Any, Any, None]]


def async_slot(*types: type) -> Callable[[AsyncMethod[P]], Callable[P, Any]]:
    """qasync.asyncSlot: a Qt slot that runs the coroutine as a task on the asyncio loop."""
    return cast(Callable[[AsyncMethod[P]], Callable[P, Any]], qasync.asyncSlot(*types))
