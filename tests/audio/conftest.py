"""Fixtures for the audio engine tests: the session-wide virtual PulseAudio devices."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from audio_testkit import PulseUnavailable, VirtualPulse, reinit_portaudio, warm_up


@pytest.fixture(scope="session")
def pulse() -> Iterator[VirtualPulse]:
    root = Path(tempfile.mkdtemp(prefix="vd-pulse-"))
    vp = VirtualPulse(root)
    try:
        vp.start()
    except (PulseUnavailable, OSError, RuntimeError, subprocess.SubprocessError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"PulseAudio virtual devices unavailable: {exc}")
    try:
        reinit_portaudio()
        warm_up()
    except Exception as exc:  # PortAudio missing or not routed to the daemon
        vp.stop()
        pytest.skip(f"PortAudio on PulseAudio unavailable: {exc}")
    yield vp
    vp.stop()
    reinit_portaudio()
    shutil.rmtree(root, ignore_errors=True)
