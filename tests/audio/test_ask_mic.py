"""``voicedesk ask --mic``: a live conversation through the virtual microphone and speaker, stopped with Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from audio_testkit import VirtualPulse, espeak

pytestmark = pytest.mark.pulse


def _wait_for_line(process: subprocess.Popen[str], needle: str, timeout: float, seen: list[str]) -> bool:
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                return False
            continue
        seen.append(line)
        if needle in line:
            return True
    return False


def test_live_conversation_through_the_devices_and_a_clean_ctrl_c(pulse: VirtualPulse, tmp_path: Path) -> None:
    speech = espeak("Hello, can you hear me?", tmp_path / "hello.wav")
    if speech is None:
        pytest.skip("espeak-ng is not installed")
    out = tmp_path / "out"
    recorder = pulse.record("spk.monitor", rate=24000)
    process = subprocess.Popen(
        [sys.executable, "-m", "voicedesk", "ask", "--mic", "--out-dir", str(out), "--echo", "off"],
        env={**pulse.env, "VOICEDESK_NO_KEYRING": "1", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    try:
        assert _wait_for_line(process, "listening", 20, seen), "".join(seen)
        time.sleep(0.5)  # let the input stream settle before speaking into the microphone
        pulse.play_file("micsrc", speech)
        assert _wait_for_line(process, "assistant:", 30, seen), "".join(seen)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
        heard = recorder.stop()
    stderr = process.stderr.read() if process.stderr else ""
    assert code == 0, stderr
    assert "Traceback" not in stderr
    records = [json.loads(line) for line in (out / "conversation.jsonl").read_text().splitlines()]
    assert [r["role"] for r in records][:2] == ["user", "assistant"]
    assert records[0]["has_audio"] and records[1]["audio_ms"] > 300
    # The answer really came out of the speaker.
    assert float(np.sqrt(np.mean(heard.astype(np.float64) ** 2))) > 0.005
    assert (out / "assistant.wav").stat().st_size > 44 + records[1]["audio_ms"] * 24  # 48 bytes/ms, at least half
