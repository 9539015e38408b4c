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
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from voicedesk.realtime.endpoint import Endpoint
from voicedesk.realtime.events import (
    AudioFields,
    ClientEvent,
    InputAudioAppend,
    JsonDict,
    MalformedEvent,
    ServerError,
    ServerEvent,
    audio_delta_fields,
    new_event_id,
    parse_server_event,
)
from voicedesk.realtime.transport import (
    Closed,
    HandshakeRejected,
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
ReconnectPolicy = Callable[[bool], bool]
"""Given whether the close was clean (a close handshake), should we reconnect?"""

RATE_LIMIT_CODE = "rate_limit_exceeded"

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


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    state: ConnectionState
    detail: str = ""


StatusHandler = Callable[[ConnectionStatus], None]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between connection attempts, and how long to keep trying before giving up."""

    first_s: float = 0.25
    factor: float = 2.0
    max_s: float = 4.0
    give_up_after_s: float = 15.0

    def delays(self) -> list[float]:
        delays, delay, total = [], self.first_s, 0.0
        while total < self.give_up_after_s:
            delays.append(delay)
            total += delay
            delay = min(delay * self.factor, self.max_s)
        return delays


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
        rate_limit_retry_s: float = 1.0,
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
        self._rate_limit_retry_s = rate_limit_retry_s
        self._transport: Transport | None = None
        self._outbox: deque[JsonDict] = deque()
        self._outbox_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._renewing = False
        self.state: ConnectionState = "disconnected"
        # Recent non-audio events by id, so an error can be traced to the event that caused it.
        self._recent: OrderedDict[str, JsonDict] = OrderedDict()
        self._rate_limit_retried: set[str] = set()
        self.connections = 0

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Open the connection, retrying an unreachable endpoint with backoff; raises ConnectFailed."""
        self._closing = False
        self._set_state("connecting")
        try:
            self._transport = await self._open_with_retries()
        except ConnectFailed as exc:
            self._set_state("disconnected", str(exc))
            raise
        self.connections += 1
        self._set_state("connected")
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
            self._remember(event_id, wire)
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
                if not self._renewing and not self._reconnect_policy(closed.clean):
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
        if isinstance(event, ServerError) and self._retry_rate_limited(event):
            return
        try:
            self._on_event(event, raw if isinstance(raw, dict) else None)
        except Exception:  # a bug in a handler must not take the connection down
            log.exception("event handler failed on %s", type(event).__name__)

    def _retry_rate_limited(self, error: ServerError) -> bool:
        """Retry a rate-limited response.create once, after a short pause; report the second refusal."""
        if error.code != RATE_LIMIT_CODE:
            return False
        sent = self.sent_event(error.event_id)
        if sent is None or sent.get("type") != "response.create" or error.event_id in self._rate_limit_retried:
            return False
        assert error.event_id is not None
        self._rate_limit_retried.add(error.event_id)
        retry = {k: v for k, v in sent.items() if k != "event_id"}

        async def resend() -> None:
            await asyncio.sleep(self._rate_limit_retry_s)
            new_id = new_event_id()
            self._rate_limit_retried.add(new_id)  # the retry itself is not retried again
            self._remember(new_id, {**retry, "event_id": new_id})
            self._outbox.append({**retry, "event_id": new_id})
            self._outbox_ready.set()

        self._tasks.append(asyncio.create_task(resend(), name="rate-limit-retry"))
        log.info("response.create was rate limited; retrying once in %.1f s", self._rate_limit_retry_s)
        return True

    # ------------------------------------------------------------------ (re)connecting

    async def _open_with_retries(self) -> Transport:
        last_error = "no attempt made"
        deadline = time.monotonic() + self._backoff.give_up_after_s
        for delay in [0.0, *self._backoff.delays()]:
            if delay:
                await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            try:
                return await self._open(self.endpoint.url, dict(self.endpoint.headers))
            except HandshakeRejected as exc:
                if exc.is_auth_failure:
                    raise AuthenticationFailed(f"the server refused the API key ({exc.message})") from None
                last_error = str(exc)
            except Unreachable as exc:
                last_error = str(exc)
            if time.monotonic() >= deadline:
                break
        raise EndpointUnreachable(f"cannot reach {self.endpoint.describe()}: {last_error}")

    async def _reconnect(self, closed: Closed) -> None:
        renewing, self._renewing = self._renewing, False
        await self._drop_transport()
        self._set_state("reconnecting", "renewing the session" if renewing else str(closed))
        try:
            transport = await self._open_with_retries()
        except ConnectFailed as exc:
            self._closing = True
            self._set_state("disconnected", str(exc))
            return
        self._transport = transport
        self.connections += 1
        # Drop stale audio for the old input buffer; restore the session before anything else queued.
        pending = [w for w in self._outbox if w.get("type") != "input_audio_buffer.append"]
        self._outbox.clear()
        self._set_state("connected", "reconnected")
        for event in self._on_reconnected() if self._on_reconnected else ():
            self.send(event)
        self._outbox.extend(pending)
        self._outbox_ready.set()

    async def _drop_transport(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            with contextlib.suppress(Exception):
                await transport.close()

    def _set_state(self, state: ConnectionState, detail: str = "") -> None:
        self.state = state
        self._on_status(ConnectionStatus(state, detail))
