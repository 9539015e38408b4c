"""How frames travel between a client and the local server's connection: at once, late (the round trip to a
service far away), or not at all (a connection closed or left silent by fault injection)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from voicedesk.local.faults import Faults

FrameHandler = Callable[[str | bytes], Awaitable[None]]


async def refuse_by_fault(ws: ServerConnection, faults: Faults) -> str | None:
    """Close the connection at once, or hear it out in silence, when a fault says so; the reason, or None."""
    if faults.close_at_start is not None:
        await ws.close(faults.close_at_start, "going away")
        return "closed at start by fault injection"
    if faults.silent:
        async for _ in ws:
            pass
        return "silent by fault injection"
    return None


async def receive(ws: ServerConnection, handle: FrameHandler, latency_s: float) -> None:
    """Hand each frame to ``handle``, ``latency_s`` after it arrived, in arrival order."""
    if latency_s <= 0:
        async for message in ws:
            await handle(message)
        return
    loop = asyncio.get_running_loop()
    arrived: asyncio.Queue[tuple[float, str | bytes] | None] = asyncio.Queue()

    async def handle_late() -> None:
        while (entry := await arrived.get()) is not None:
            at, message = entry
            await asyncio.sleep(max(0.0, at + latency_s - loop.time()))
            await handle(message)

    handler = asyncio.ensure_future(handle_late())
    try:
        async for message in ws:
            arrived.put_nowait((loop.time(), message))
    finally:
        arrived.put_nowait(None)
        with contextlib.suppress(ConnectionClosed):
            await handler
