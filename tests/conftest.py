"""Every test runs with its own config and data dirs, no keychain and no API key from the environment:
nothing a test does can touch the developer's settings, and nothing can reach a real service."""

from __future__ import annotations

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
