"""The pipes around one MCP server connection: the tail of a child's stderr, and transports that say when
the server's output ends (how a crash is noticed at once) or that own the HTTP client they were given."""

from __future__ import annotations

import asyncio
import os
from collections import deque
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, TextIO

import anyio
import httpx2

_STDERR_LINES = 12


class StderrTail:
    """The last lines a child wrote to stderr, read from a pipe on the event loop (bounded memory)."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        self._fd: int | None = read_fd
        self.writer: TextIO = os.fdopen(write_fd, "w")
        self._lines: deque[str] = deque(maxlen=_STDERR_LINES)
        self._partial = b""
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(read_fd, self._read)

    def child_started(self) -> None:
        """Drop our copy of the write end, so the pipe ends when the child (and its children) exit."""
        if not self.writer.closed:
            self.writer.close()

    def _read(self) -> None:
        if self._fd is None:
            return
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._loop.remove_reader(self._fd)
            return
        *complete, self._partial = (self._partial + data).split(b"\n")
        self._partial = self._partial[-4096:]
        for line in complete:
            text = line.decode("utf-8", "replace").rstrip()
            if text:
                self._lines.append(text[:500])

    def close(self) -> tuple[str, ...]:
        self.child_started()
        if self._fd is not None:
            while True:  # what the child wrote just before it exited
                before = len(self._lines), self._partial
                self._read()
                if (len(self._lines), self._partial) == before:
                    break
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None
        if self._partial.strip():
            self._lines.append(self._partial.decode("utf-8", "replace").strip()[:500])
            self._partial = b""
        return tuple(self._lines)


class WatchedTransport(AbstractAsyncContextManager[Any]):
    """A transport whose end (the server's output closing) sets ``ended``: how a crash is noticed at once."""

    def __init__(self, inner: AbstractAsyncContextManager[Any], ended: asyncio.Event, stderr: StderrTail | None):
        self._inner = inner
        self._ended = ended
        self._stderr = stderr

    async def __aenter__(self) -> Any:
        try:
            read_stream, write_stream = await self._inner.__aenter__()
        finally:
            if self._stderr is not None:
                self._stderr.child_started()
        return WatchedReadStream(read_stream, self._ended), write_stream

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        self._ended.set()
        return await self._inner.__aexit__(exc_type, exc, tb)


class OwningTransport(AbstractAsyncContextManager[Any]):
    """A transport and the HTTP client it was given, closed after it (the SDK leaves a given client open)."""

    def __init__(self, inner: AbstractAsyncContextManager[Any], http: httpx2.AsyncClient) -> None:
        self._inner = inner
        self._http = http

    async def __aenter__(self) -> Any:
        try:
            return await self._inner.__aenter__()
        except BaseException:
            await self._http.aclose()
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        try:
            return await self._inner.__aexit__(exc_type, exc, tb)
        finally:
            await self._http.aclose()


class WatchedReadStream:
    def __init__(self, inner: Any, ended: asyncio.Event) -> None:
        self._inner = inner
        self._ended = ended

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # e.g. last_context, which the dispatcher looks for

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self._ended.set()
            raise

    def __aiter__(self) -> WatchedReadStream:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        self._ended.set()
        await self._inner.aclose()

    async def __aenter__(self) -> WatchedReadStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
