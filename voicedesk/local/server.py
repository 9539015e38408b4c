"""The embedded local realtime server: websocket handshake, auth, routing by URL, and the standalone entry.

It speaks the OpenAI Realtime protocol (GA naming by default, beta naming on the Azure preview path or with
``OpenAI-Beta: realtime=v1``) closely enough to be both the offline default backend and the test double
for the client. The handshake refuses what a person did not ask for before any per-connection state exists:
a web page (a browser ``Origin`` not explicitly allowed: 403), a wrong or missing key (401), and
connections over the limit (503). Usage::

    async with LocalRealtimeServer(LocalServerOptions()) as server:
        connect_to(server.url)  # ws://127.0.0.1:PORT/v1/realtime?model=gpt-realtime
        ...
        server.sessions[0].client_events
"""

from __future__ import annotations

import json
import secrets
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.protocol import State

from voicedesk.local import errors
from voicedesk.local.connection import Connection, ServerContext
from voicedesk.local.faults import Faults, FaultState
from voicedesk.local.session_state import SessionRecord
from voicedesk.local.wire import JsonDict

DEFAULT_PORT = 8765
DEFAULT_AUDIO_PACE = 4.0
"""Answer audio speed against real time, for ``voicedesk serve`` and the app's own server alike."""
DEFAULT_MAX_CONNECTIONS = 8
_MAX_MESSAGE = 32 * 2**20  # the service takes 15 MiB audio appends; base64 and JSON make them larger


@dataclass
class LocalServerOptions:
    api_key: str | None = None
    """When set, the handshake needs ``Authorization: Bearer KEY`` or ``api-key: KEY`` (else HTTP 401)."""
    allowed_origins: tuple[str, ...] = ()
    """Browser origins (``https://host:port``, exactly as the browser sends them) that may connect; a handshake
    with any other ``Origin`` header gets HTTP 403. Programs send no ``Origin``, pages always do."""
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    """Open connections at once; one more gets HTTP 503 and the others carry on."""
    keep_sessions: bool = True
    """Keep each closed connection's record in ``sessions`` for a test to inspect. Off, ``sessions`` holds
    only the open connections, so nothing a client sent outlives its connection (the app and ``serve``)."""
    session_max_s: float = 3600.0
    """After this, the session gets error ``session_expired`` and the socket closes (1001)."""
    audio_pace: float = DEFAULT_AUDIO_PACE
    """Answer audio streams at this multiple of real time; ``math.inf`` = as fast as the socket takes it."""
    transcripts: list[str] = field(default_factory=list)
    """What successive committed audio turns "say" (shared by all connections of this server)."""
    faults: Faults = field(default_factory=Faults)
    deflate: bool = False
    """Offer permessage-deflate (the real service may; benchmarks compare its cost)."""
    record_audio: bool = True
    """Keep appended audio in ``sessions[i].client_events``; the standalone server turns it off."""
    latency_s: float = 0.0
    """Handle each client event this much later, in order: the round trip to a service far away."""


@dataclass(frozen=True, slots=True)
class _Route:
    beta: bool
    model: str


def _route(request: Request) -> _Route | None:
    url = urlsplit(request.path)
    query = parse_qs(url.query)
    beta_header = any("realtime=v1" in v for v in request.headers.get_all("OpenAI-Beta"))

    def first(name: str) -> str | None:
        values = query.get(name)
        return values[0] if values else None

    if url.path == "/v1/realtime":
        return _Route(beta_header, first("model") or "gpt-realtime")
    if url.path == "/openai/v1/realtime":  # Azure OpenAI GA
        return _Route(beta_header, first("model") or first("deployment") or "gpt-realtime")
    if url.path == "/openai/realtime":  # Azure OpenAI preview: beta naming
        return _Route(True, first("deployment") or "gpt-4o-realtime-preview")
    return None


def _provided_key(request: Request) -> str | None:
    auth = request.headers.get("Authorization")
    if auth and auth.lower().startswith("bearer "):
        return auth[7:].strip()
    key = request.headers.get("api-key")
    if key:
        return key.strip()
    values = parse_qs(urlsplit(request.path).query).get("api-key")
    return values[0] if values else None


def _same_key(provided: str, expected: str) -> bool:
    return secrets.compare_digest(provided.encode(), expected.encode())  # no timing hint of how much matched


class LocalRealtimeServer:
    def __init__(self, options: LocalServerOptions | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.options = options or LocalServerOptions()
        self.host = host
        self.port = port
        self.sessions: list[SessionRecord] = []
        self._admitted: set[ServerConnection] = set()
        """Connections past the handshake checks: a slot is taken before the response goes out, so two
        handshakes in flight cannot both take the last one."""
        self._faults = FaultState(self.options.faults)
        self._transcripts = deque(self.options.transcripts)
        self._server: Server | None = None
        self._context = ServerContext(
            pace=self.options.audio_pace,
            session_max_s=self.options.session_max_s,
            record_audio=self.options.record_audio,
            latency_s=self.options.latency_s,
            faults=self._faults,
            next_transcript=self._next_transcript,
        )

    def arm_faults(self, faults: Faults) -> None:
        """Misbehave this way from now on (a test's second act)."""
        self._faults.arm(faults)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/v1/realtime?model=gpt-realtime"

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._process_request,
            compression="deflate" if self.options.deflate else None,
            max_size=_MAX_MESSAGE,
            max_queue=64,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> LocalRealtimeServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _next_transcript(self) -> str | None:
        return self._transcripts.popleft() if self._transcripts else None

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if self._faults.take_reject():
            body = errors.http_error(
                "The server is overloaded or not ready yet.", "server_overloaded", type_="server_error"
            )
            return _json_response(connection, 503, body)
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self.options.allowed_origins:
            return _json_response(connection, 403, errors.http_origin_refused(origin))
        route = _route(request)
        if route is None:
            path = urlsplit(request.path).path
            return _json_response(connection, 404, {
                "error": {"message": f"Invalid URL (GET {path})", "type": errors.INVALID_REQUEST,
                          "param": None, "code": None},
            })  # fmt: skip
        if self.options.api_key is not None:
            provided = _provided_key(request)
            if not provided:
                return _json_response(connection, 401, errors.http_missing_key())
            if not _same_key(provided, self.options.api_key):
                return _json_response(connection, 401, errors.http_invalid_key(provided))
        # a handshake that failed after taking its slot never reaches _handle: its slot frees once it closed
        self._admitted = {c for c in self._admitted if c.state is not State.CLOSED}
        if len(self._admitted) >= self.options.max_connections:
            return _json_response(connection, 503, errors.http_too_many_connections(self.options.max_connections))
        self._admitted.add(connection)
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None  # the handshake succeeded, so there was a request
        route = _route(ws.request)
        assert route is not None  # _process_request refused every other path
        connection = Connection(ws, self._context, path=ws.request.path, beta=route.beta, model=route.model)
        self.sessions.append(connection.record)
        try:
            await connection.run()
        finally:
            self._admitted.discard(ws)
            if not self.options.keep_sessions:
                self.sessions.remove(connection.record)


def _json_response(connection: ServerConnection, status: int, body: JsonDict) -> Response:
    response = connection.respond(status, json.dumps(body))
    headers = Headers((k, v) for k, v in response.headers.raw_items() if k.lower() != "content-type")
    headers["Content-Type"] = "application/json"
    return Response(response.status_code, response.reason_phrase, headers, response.body)
