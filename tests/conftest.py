"""Every test runs with its own config and data dirs, no keychain and no API key from the environment:
nothing a test does can touch the developer's settings, and nothing can reach a real service."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("VOICEDESK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("VOICEDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOICEDESK_NO_KEYRING", "1")
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    yield


class _UnretrievedTaskErrors(logging.Handler):
    """asyncio's "Task exception was never retrieved" reports: a background task whose failure nobody saw."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "never retrieved" in record.getMessage():
            self.messages.append(record.getMessage())


@pytest.fixture(autouse=True)
def no_unretrieved_task_exceptions() -> Iterator[None]:
    handler = _UnretrievedTaskErrors()
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    try:
        yield  # a failed task is reported when it is freed: at once unless a reference cycle holds it
    finally:
        logger.removeHandler(handler)
    assert not handler.messages, "a background task failed and nobody looked:\n" + "\n".join(handler.messages)
