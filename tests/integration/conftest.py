"""A session controller talking over real loopback websockets to the embedded local server.

Every client event the controller sends in these tests is validated against the ``openai`` package's
models (tests/contract.py): the protocol contract is checked on every code path the tests drive.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import pytest

from tests.contract import validate_client_event
from tests.eventlog import EventLog
from voicedesk.audio.base import Pcm16
from voicedesk.audio.filesource import FileSource
from voicedesk.audio.null import NullSink
from voicedesk.local.server import LocalRealtimeServer, LocalServerOptions
from voicedesk.realtime.client import Backoff
from voicedesk.realtime.endpoint import Endpoint, custom_endpoint
from voicedesk.realtime.session_config import SessionSettings, TurnDetection
from voicedesk.realtime.transport import TransportFactory, open_websocket
from voicedesk.session import events as se
from voicedesk.session.controller import SessionController
from voicedesk.session.handoffs import Assistant
from voicedesk.tools.builtins import default_registry

E = TypeVar("E")
FAST_BACKOFF = Backoff(first_s=0.05, max_s=0.5, give_up_after_s=3.0)


@dataclass
class Harness:
    server: LocalRealtimeServer
    controller: SessionController
    sink: NullSink
    source: FileSource
    log: EventLog = field(default_factory=EventLog)
    contract_errors: list[str] = field(default_factory=list)

    # The tests' vocabulary, kept: each is the event log's.
    @property
    def events(self) -> list[se.SessionEvent]:
        return self.log.events

    @property
    def sent(self) -> list[dict[str, Any]]:
        return self.log.sent

    @property
    def received(self) -> list[dict[str, Any]]:
        return self.log.received

    def of(self, kind: type[E]) -> list[E]:
        return self.log.of(kind)

    def sent_types(self) -> list[str]:
        return self.log.sent_types()

    async def wait_for(
        self, kind: type[E], predicate: Callable[[E], bool] = lambda e: True, within: float = 15.0, start: int = 0
    ) -> E:
        return await self.log.wait_for(kind, predicate, within, start)

    async def wait_sent(self, event_type: str, within: float = 10.0) -> dict[str, Any]:
        return await self.log.wait_sent(event_type, within)


class HarnessFactory(Protocol):
    """The ``make_harness`` fixture: starts a local server and a controller talking to it."""

    async def __call__(
        self,
        settings: SessionSettings | None = None,
        options: LocalServerOptions | None = None,
        *,
        speed: float = ...,
        tools: bool = ...,
        beta: bool = ...,
        connect: bool = ...,
        session_timeout_s: float | None = ...,
        endpoint: Endpoint | None = ...,
        endpoint_for: Callable[[LocalRealtimeServer], Endpoint] | None = ...,
        transport_factory: TransportFactory = ...,
        on_input_sent: Callable[[Pcm16], None] | None = ...,
        backoff: Backoff = ...,
        response_timeout_s: float = ...,
        assistants: Sequence[Assistant] = ...,
        assistant: str | None = ...,
        sink: NullSink | None = ...,
    ) -> Harness: ...


@pytest.fixture
async def make_harness() -> AsyncIterator[HarnessFactory]:
    harnesses: list[Harness] = []

    async def make(
        settings: SessionSettings | None = None,
        options: LocalServerOptions | None = None,
        *,
        speed: float = math.inf,
        tools: bool = True,
        beta: bool = False,
        connect: bool = True,
        session_timeout_s: float | None = None,
        endpoint: Endpoint | None = None,
        endpoint_for: Callable[[LocalRealtimeServer], Endpoint] | None = None,
        transport_factory: TransportFactory = open_websocket,
        on_input_sent: Callable[[Pcm16], None] | None = None,
        backoff: Backoff = FAST_BACKOFF,
        response_timeout_s: float = 20.0,
        assistants: Sequence[Assistant] = (),
        assistant: str | None = None,
        sink: NullSink | None = None,
    ) -> Harness:
        server = LocalRealtimeServer(options or LocalServerOptions(audio_pace=math.inf))
        await server.start()
        settings = settings or SessionSettings(turn_detection=TurnDetection(type="none"))
        sink = sink or NullSink(speed=speed)
        source = FileSource(speed=speed)
        if endpoint_for is not None:
            endpoint = endpoint_for(server)
        endpoint = endpoint or custom_endpoint(server.url, protocol="beta" if beta else "ga")
        controller = SessionController(
            endpoint,
            settings,
            source=source,
            sink=sink,
            tools=default_registry() if tools else None,
            session_timeout_s=session_timeout_s,
            backoff=backoff,
            transport_factory=transport_factory,
            on_input_sent=on_input_sent,
            response_timeout_s=response_timeout_s,
            assistants=assistants,
            assistant=assistant,
        )
        controller.raw_events = True
        harness = Harness(server, controller, sink, source)

        def record(event: se.SessionEvent) -> None:
            harness.log.record(event)
            if isinstance(event, se.RawModelEvent) and event.direction == "client":
                try:
                    validate_client_event(event.data, endpoint.protocol)
                except AssertionError as exc:  # listeners' errors are swallowed: keep it for teardown
                    harness.contract_errors.append(str(exc))

        controller.subscribe(record)
        harnesses.append(harness)
        if connect:
            await controller.connect()
        return harness

    yield make
    for harness in harnesses:
        await harness.controller.disconnect()
        await harness.server.stop()
    errors = [error for harness in harnesses for error in harness.contract_errors]
    assert not errors, "client events that do not validate against the openai models:\n" + "\n".join(errors)
