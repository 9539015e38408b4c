"""The byte pipe under the realtime client: an interface, and the one module that imports websockets' client.

Keeping websockets behind this interface lets the client's queueing, parsing and reconnect logic be
driven by a scripted transport in tests, and keeps the choice of websocket library in one place.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urljoin

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

# Audio deltas and session objects can exceed websockets' 1 MiB default; 32 MiB still bounds memory.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024


class TransportError(Exception):
    """Base of everything a transport raises."""


class HandshakeRejected(TransportError):
    """The server answered the upgrade with an HTTP error (401/403: the credential was refused)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message

    @property
    def is_auth_failure(self) -> bool:
        return self.status in (401, 403)


class Redirected(TransportError):
    """The server answered the upgrade with a redirect, which is never followed (see ``_ConnectWithoutRedirects``)."""

    def __init__(self, location: str) -> None:
        super().__init__(f"redirected to {location}")
        self.location = location


class Unreachable(TransportError):
    """No websocket could be opened: DNS, refused, timeout, TLS, not a websocket server."""


@dataclass(frozen=True, slots=True)
class Closed(TransportError):
    """The connection ended. ``clean`` is True for a close handshake (e.g. the server ended the session)."""

    clean: bool
    code: int | None
    reason: str

    def __str__(self) -> str:
        return f"connection closed ({self.code}: {self.reason or 'no reason'})"


class Transport(Protocol):
    async def send(self, text: str) -> None: ...

    async def recv(self) -> str | bytes:
        """The next frame; raises ``Closed`` when the connection has ended."""
        ...

    async def close(self) -> None: ...


TransportFactory = Callable[[str, dict[str, str]], Awaitable[Transport]]


def _error_message(body: bytes | bytearray | None) -> str:
    """The ``error.message`` of an HTTP error body when it is the OpenAI JSON shape."""
    if not body:
        return "no details"
    try:
        data = json.loads(body)
        message = data["error"]["message"]
        if isinstance(message, str):
            return message
    except (ValueError, KeyError, TypeError):
        pass
    return body[:200].decode("utf-8", "replace")


class WebsocketTransport:
    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection

    async def send(self, text: str) -> None:
        try:
            await self._connection.send(text)
        except ConnectionClosed as exc:
            raise _closed(exc) from exc

    async def recv(self) -> str | bytes:
        try:
            return await self._connection.recv()
        except ConnectionClosed as exc:
            raise _closed(exc) from exc

    async def close(self) -> None:
        await self._connection.close()


def _closed(exc: ConnectionClosed) -> Closed:
    frame = exc.rcvd
    clean = frame is not None and exc.rcvd_then_sent is not None
    return Closed(clean=clean, code=frame.code if frame else None, reason=frame.reason if frame else "")


class _ConnectWithoutRedirects(connect):
    """websockets' connect, following no redirect: on a change of origin websockets strips Authorization
    and Cookie but keeps every other header, so Azure's ``api-key`` would go to whatever host the
    redirect names."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        if isinstance(exc, InvalidStatus) and 300 <= exc.response.status_code < 400:
            location = exc.response.headers.get("Location")
            if location:
                return Redirected(urljoin(self.uri, location))
        return exc


async def open_websocket(
    url: str, headers: dict[str, str], *, compression: str | None = None, open_timeout: float = 10.0
) -> Transport:
    """Open a websocket. Compression is off by default: base64 audio barely compresses, and inflating
    every frame costs the receive path CPU (docs/decisions/0004-no-websocket-compression.md)."""
    try:
        connection = await _ConnectWithoutRedirects(
            url,
            additional_headers=headers,
            compression=compression,
            open_timeout=open_timeout,
            max_size=MAX_MESSAGE_BYTES,
            max_queue=256,
            ping_interval=20,
            ping_timeout=20,
            close_timeout=2,
            user_agent_header="voicedesk",
        )
    except InvalidStatus as exc:
        raise HandshakeRejected(exc.response.status_code, _error_message(exc.response.body)) from None
    except InvalidURI as exc:
        raise Unreachable(f"invalid URL: {exc}") from None
    except (TimeoutError, OSError, socket.gaierror, InvalidHandshake) as exc:
        raise Unreachable(str(exc) or type(exc).__name__) from None
    return WebsocketTransport(connection)
