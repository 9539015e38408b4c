"""The realtime connection: one receive loop, one send queue, reconnect with backoff.

The receive loop never dies on what the server sends: binary frames, text that is not JSON, unknown
event types and ``error`` events are all handed on as events and the loop goes on. Only the end of the
connection stops it, and an end we did not ask for starts a reconnect. On every new connection the
owner's ``on_reconnected`` hook supplies the events that restore the session (settings, the
conversation so far); they go out before anything queued while the connection was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from voicedesk.realtime.endpoint import Endpoint, without_userinfo
from voicedesk.realtime.events import (
    AudioFields,
    ClientEvent,
    InputAudioAppend,
    JsonDict,
    MalformedEvent,
    ServerEvent,
    audio_delta_fields,
    new_event_id,
    parse_server_event,
    without_image_data,
)
from voicedesk.realtime.transport import (
    Closed,
    HandshakeRejected,
    Redirected,
    Transport,
    TransportFactory,
    Unreachable,
    open_websocket,
)

log = logging.getLogger(__name__)

ConnectionState = Literal["connecting", "connected", "reconnecting", "disconnected"]
EventHandler = Callable[[ServerEvent, JsonDict | None], None]
AudioHandler = Callable[[AudioFields, JsonDict], None]
"""A well-formed audio delta, as its fields and the raw event (see ``on_audio``)."""
SentHandler = Callable[[JsonDict], None]
ReconnectHook = Callable[[], Sequence[ClientEvent]]
ReconnectPolicy = Callable[["Closed"], bool]
"""Given how the server closed the connection, should we reconnect?"""


_decoder = json.JSONDecoder()


def _loads(text: str) -> Any:
    """``json.loads(text)``, cheaper for the usual frame: one JSON document, no surrounding whitespace.

    ``raw_decode`` skips json.loads' wrappers and its two whitespace scans; any other frame (padded,
    extra data, not JSON) is left to json.loads, so results and errors are exactly json.loads'.
    """
    try:
        value, end = _decoder.raw_decode(text)
    except ValueError:
        end = -1
    if end != len(text):
        return json.loads(text)
    return value


class ConnectFailed(Exception):
    """Base of the errors ``connect`` raises; the message is for people."""


class AuthenticationFailed(ConnectFailed):
    pass


class EndpointUnreachable(ConnectFailed):
    pass


class RedirectRefused(ConnectFailed):
    """The endpoint answered with a redirect: following it would hand the key to whatever host it names."""


class SessionNotStarted(EndpointUnreachable):
    """The server accepted the connection but closed it, or said nothing, before ``session.created``."""


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    state: ConnectionState
    detail: str = ""
    attempt: int = 0
    """While reconnecting: which reconnect this is within the budget's window (1-based)."""


StatusHandler = Callable[[ConnectionStatus], None]


@dataclass(frozen=True, slots=True)
class Backoff:
    """The one retry policy for connections: exponential delays with jitter between attempts, how long to keep
    trying to open a connection, and how many reconnects a time window allows before giving up for good."""

    first_s: float = 0.25
    factor: float = 2.0
    max_s: float = 4.0
    give_up_after_s: float = 15.0
    jitter: float = 0.2
    """Each delay is scaled by a random factor in [1 - jitter, 1 + jitter], so clients do not retry in step."""
    max_reconnects: int = 5
    reconnect_window_s: float = 120.0
    session_start_s: float = 10.0
    """How long a freshly opened connection may take to say ``session.created`` before it counts as dead."""

    def delays(self) -> list[float]:
        delays, delay, total = [], self.first_s, 0.0
        while total < self.give_up_after_s:
            delays.append(self.jittered(delay))
            total += delay
            delay = min(delay * self.factor, self.max_s)
        return delays

    def jittered(self, delay: float) -> float:
        return delay * random.uniform(1.0 - self.jitter, 1.0 + self.jitter)

    def reconnect_delay(self, attempt: int) -> float:
        """The pause before the ``attempt``-th reconnect within the window (1-based)."""
        return self.jittered(min(self.first_s * self.factor ** (attempt - 1), self.max_s))


class ReconnectBudget:
    """At most ``max_reconnects`` reconnects in any ``reconnect_window_s``: a server that closes every
    connection is not hammered."""

    def __init__(self, backoff: Backoff, now: Callable[[], float] = time.monotonic) -> None:
        self._backoff = backoff
        self._now = now
        self._recent: deque[float] = deque()

    def take(self) -> int | None:
        """Count one reconnect; its number within the window, or None when the budget is spent."""
        now = self._now()
        while self._recent and now - self._recent[0] > self._backoff.reconnect_window_s:
            self._recent.popleft()
        if len(self._recent) >= self._backoff.max_reconnects:
            return None
        self._recent.append(now)
        return len(self._recent)


class RealtimeClient:
    def __init__(
        self,
        endpoint: Endpoint,
        *,
        on_event: EventHandler,
        on_audio: AudioHandler | None = None,
        on_status: StatusHandler | None = None,
        on_sent: SentHandler | None = None,
        on_reconnected: ReconnectHook | None = None,
        reconnect_policy: ReconnectPolicy | None = None,
        transport_factory: TransportFactory = open_websocket,
        backoff: Backoff | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._on_event = on_event
        # Well-formed audio deltas (most frames) skip the typed event when the owner takes them here.
        self._on_audio = on_audio
        self._on_status = on_status or (lambda status: None)
        self._on_sent = on_sent
        self._on_reconnected = on_reconnected
        self._reconnect_policy = reconnect_policy or (lambda clean: True)
        self._open = transport_factory
        self._backoff = backoff or Backoff()
        self._budget = ReconnectBudget(self._backoff)
        self._transport: Transport | None = None
        self._outbox: deque[JsonDict] = deque()
        self._outbox_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._renewing = False
        self.state: ConnectionState = "disconnected"
        # Recent non-audio events by id, so an error can be traced to the event that caused it.
        self._recent: OrderedDict[str, JsonDict] = OrderedDict()
        self.connections = 0

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Open the connection, retrying an unreachable endpoint with backoff; raises ConnectFailed."""
        self._closing = False
        self._set_state("connecting")
        try:
            self._transport, first = await self._open_session()
        except ConnectFailed as exc:
            self._set_state("disconnected", str(exc))
            raise
        self.connections += 1
        self._set_state("connected")
        self._dispatch(first)
        self._tasks = [
            asyncio.create_task(self._receive_loop(), name="realtime-receive"),
            asyncio.create_task(self._send_loop(), name="realtime-send"),
        ]

    async def close(self) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self._drop_transport()
        self._outbox.clear()
        self._set_state("disconnected")

    async def renew(self) -> None:
        """End this server session on purpose and open a new one (before the server's time limit)."""
        if self._transport is None or self._closing:
            return
        self._renewing = True
        await self._drop_transport()

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    # ------------------------------------------------------------------ sending

    def send(self, event: ClientEvent) -> str:
        """Queue an event; returns its event_id. Audio is dropped while disconnected (it would be stale)."""
        if self.state != "connected" and isinstance(event, InputAudioAppend):
            return ""
        wire = event.to_wire(self.endpoint.protocol)
        event_id = new_event_id()
        wire["event_id"] = event_id
        if not isinstance(event, InputAudioAppend):
            self._remember(event_id, without_image_data(wire))  # an error names the event, not its megabytes
        self._outbox.append(wire)
        self._outbox_ready.set()
        return event_id

    def _remember(self, event_id: str, wire: JsonDict) -> None:
        self._recent[event_id] = wire
        if len(self._recent) > 256:
            self._recent.popitem(last=False)

    def sent_event(self, event_id: str | None) -> JsonDict | None:
        """The client event an error refers to, if it is recent."""
        return self._recent.get(event_id) if event_id else None

    async def _send_loop(self) -> None:
        while True:
            await self._outbox_ready.wait()
            transport = self._transport
            if transport is None or self.state != "connected":
                self._outbox_ready.clear()
                continue
            if not self._outbox:
                self._outbox_ready.clear()
                continue
            wire = self._outbox.popleft()
            try:
                await transport.send(json.dumps(wire, separators=(",", ":")))
            except Closed:
                # The receive loop sees the same close and reconnects; keep the event for the new session
                # unless it is audio for the old input buffer.
                if wire.get("type") != "input_audio_buffer.append":
                    self._outbox.appendleft(wire)
                self._outbox_ready.clear()
                continue
            if self._on_sent is not None:
                self._on_sent(wire)

    # ------------------------------------------------------------------ receiving

    async def _receive_loop(self) -> None:
        while not self._closing:
            transport = self._transport
            if transport is None:
                return
            try:
                frame = await transport.recv()
            except Closed as closed:
                if self._closed_on_purpose():
                    return
                if not self._renewing and not self._reconnect_policy(closed):
                    self._closing = True
                    await self._drop_transport()
                    self._set_state("disconnected")
                    return
                await self._reconnect(closed)
                continue
            self._dispatch(frame)

    def _closed_on_purpose(self) -> bool:
        return self._closing

    def _dispatch(self, frame: str | bytes) -> None:
        raw: Any
        if isinstance(frame, bytes):
            event: ServerEvent = MalformedEvent("binary frame (the protocol only sends text)", f"{len(frame)} bytes")
            raw = None
        else:
            try:
                raw = _loads(frame)
            except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
                raw = None
                event = MalformedEvent("the frame is not JSON", frame[:200])
            else:
                if self._on_audio is not None and (audio := audio_delta_fields(raw)) is not None:
                    try:
                        self._on_audio(audio, raw)
                    except Exception:  # as for any other event: a handler bug must not end the connection
                        log.exception("event handler failed on AudioDelta")
                    return
                event = parse_server_event(raw)
        try:
            self._on_event(event, raw if isinstance(raw, dict) else None)
        except Exception:  # a bug in a handler must not take the connection down
            log.exception("event handler failed on %s", type(event).__name__)

    # ------------------------------------------------------------------ (re)connecting

    async def _open_with_retries(self) -> Transport:
        last_error = "no attempt made"
        deadline = time.monotonic() + self._backoff.give_up_after_s
        for delay in [0.0, *self._backoff.delays()]:
            if delay:
                await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            try:
                return await self._open(self.endpoint.url, dict(self.endpoint.headers))
            except Redirected as exc:  # the same answer on every attempt: no retry
                raise RedirectRefused(
                    f"the endpoint redirected to {without_userinfo(exc.location)}; voicedesk does not send keys "
                    "to another address: use that URL directly"
                ) from None
            except HandshakeRejected as exc:
                if exc.is_auth_failure:
                    raise AuthenticationFailed(f"the server refused the API key ({exc.message})") from None
                last_error = str(exc)
            except Unreachable as exc:
                last_error = str(exc)
            if time.monotonic() >= deadline:
                break
        raise EndpointUnreachable(f"cannot reach {self.endpoint.describe()}: {last_error}")

    async def _open_session(self) -> tuple[Transport, str | bytes]:
        """A connection whose server has started a session: the transport and its first frame (normally
        ``session.created``). A server that accepts the socket and then says nothing counts as unreachable."""
        transport = await self._open_with_retries()
        try:
            first = await asyncio.wait_for(transport.recv(), self._backoff.session_start_s)
        except (TimeoutError, Closed) as exc:
            with contextlib.suppress(Exception):
                await transport.close()
            why = "it did not start a session" if isinstance(exc, TimeoutError) else str(exc)
            raise SessionNotStarted(f"{self.endpoint.describe()} accepted the connection but {why}") from None
        return transport, first

    async def _reconnect(self, closed: Closed) -> None:
        renewing, self._renewing = self._renewing, False
        await self._drop_transport()
        while True:
            attempt = 1 if renewing else self._budget.take()
            if attempt is None:
                self._give_up(
                    f"the server closed the connection {self._backoff.max_reconnects} times in "
                    f"{self._backoff.reconnect_window_s:.0f} s (last: {closed})"
                )
                return
            # A planned renewal is no retry: it reports attempt 0 and the person sees no count.
            self._set_state(
                "reconnecting", "renewing the session" if renewing else str(closed), 0 if renewing else attempt
            )
            if not renewing:
                await asyncio.sleep(self._backoff.reconnect_delay(attempt))
            try:
                transport, first = await self._open_session()
            except AuthenticationFailed as exc:
                self._give_up(str(exc))
                return
            except SessionNotStarted as exc:  # counts against the budget like any other close
                closed, renewing = Closed(clean=False, code=None, reason=str(exc)), False
                continue
            except ConnectFailed as exc:  # unreachable through every attempt of the open: final
                self._give_up(str(exc))
                return
            break
        self._transport = transport
        self.connections += 1
        # Drop stale audio for the old input buffer; restore the session before anything else queued.
        pending = [w for w in self._outbox if w.get("type") != "input_audio_buffer.append"]
        self._outbox.clear()
        self._set_state("connected", "reconnected")
        self._dispatch(first)
        for event in self._on_reconnected() if self._on_reconnected else ():
            self.send(event)
        self._outbox.extend(pending)
        self._outbox_ready.set()

    async def _drop_transport(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            with contextlib.suppress(Exception):
                await transport.close()

    def _give_up(self, why: str) -> None:
        self._closing = True
        self._set_state("disconnected", why)

    def _set_state(self, state: ConnectionState, detail: str = "", attempt: int = 0) -> None:
        self.state = state
        self._on_status(ConnectionStatus(state, detail, attempt))
