"""Helpers for the window tests (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tests.eventlog import EventLog
from voicedesk.app import AppRuntime
from voicedesk.audio.filesource import FileSource
from voicedesk.audio.null import NullSink
from voicedesk.config import AppSettings
from voicedesk.local.server import LocalServerOptions
from voicedesk.realtime.client import Backoff
from voicedesk.realtime.session_config import SessionSettings, TurnDetection
from voicedesk.session import events as se
from voicedesk.ui.main_window import MainWindow

T = TypeVar("T")
FAST_BACKOFF = Backoff(first_s=0.05, max_s=0.2, give_up_after_s=0.5)
WAIT_MS = 15_000


@dataclass
class AppHarness:
    window: MainWindow
    runtime: AppRuntime
    source: FileSource
    sink: NullSink
    server_options: LocalServerOptions
    log: EventLog = field(default_factory=EventLog)
    contract_errors: list[str] = field(default_factory=list)
    problem: Callable[[Any], None] | None = None

    @property
    def events(self) -> list[se.SessionEvent]:
        """The log's list: the fixture appends to it, and the log sees every append."""
        return self.log.events

    def sent_types(self) -> list[str]:
        return self.log.sent_types()

    def of(self, kind: type[T]) -> list[T]:
        return self.log.of(kind)

    def seen(self, kind: type[T], predicate: Callable[[T], bool] = lambda e: True) -> Callable[[], bool]:
        """For ``qtbot.waitUntil``: an event of ``kind`` satisfying ``predicate`` has arrived."""
        return self.log.seen(kind, predicate)


def ptt_settings(**changes: Any) -> AppSettings:
    session = SessionSettings(turn_detection=TurnDetection(type="none"), **changes)
    return AppSettings(endpoint="local", session=session)
