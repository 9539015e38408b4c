"""Helpers for the window tests (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

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
    events: list[se.SessionEvent] = field(default_factory=list)
    contract_errors: list[str] = field(default_factory=list)
    problem: Callable[[Any], None] | None = None

    def sent_types(self) -> list[str]:
        raw = [e for e in self.events if isinstance(e, se.RawModelEvent) and e.direction == "client"]
        return [str(e.data.get("type", "")) for e in raw]

    def of(self, kind: type[T]) -> list[T]:
        return [e for e in self.events if isinstance(e, kind)]


def ptt_settings(**changes: Any) -> AppSettings:
    session = SessionSettings(turn_detection=TurnDetection(type="none"), **changes)
    return AppSettings(endpoint="local", session=session)
