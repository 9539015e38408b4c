"""The first minutes with the command line: every mistake is one line and exit 2, before anything starts."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest


def voicedesk(
    *args: str, env: dict[str, str] | None = None, unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "VOICEDESK_NO_KEYRING": "1", **(env or {})}
    environment.pop("OPENAI_API_KEY", None)
    for name in unset:
        environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "voicedesk", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def one_line_exit_2(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("voicedesk: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def test_help_shows_the_window_options_and_the_commands() -> None:
    result = voicedesk("--help")
    assert result.returncode == 0
    for option in ("--local", "--connect", "--smoke", "--url", "-v, --verbose"):
        assert option in result.stdout
    for command in ("gui", "ask", "devices", "serve"):
        assert f"\n    {command} " in result.stdout


@pytest.mark.parametrize("argv", [["-v", "--version"], ["--version", "-v"], ["-v", "devices", "--help"]])
def test_verbose_is_accepted_before_or_after(argv: list[str]) -> None:
    result = voicedesk(*argv)
    assert result.returncode == 0, result.stderr


def test_window_options_work_without_the_gui_command() -> None:
    result = voicedesk("-v", "--local", "--smoke", env={"QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    assert "voicedesk --smoke: ok" in result.stdout + result.stderr
    assert "INFO" in result.stderr, "-v before the window options turns on logging"


def test_no_display_is_named_not_left_to_qt() -> None:
    line = one_line_exit_2(voicedesk("--local", unset=("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")))
    assert "no display" in line and "xvfb-run" in line and "voicedesk ask" in line


def test_an_x_server_that_does_not_answer_is_named() -> None:
    result = voicedesk("--local", env={"DISPLAY": ":9871", "QT_QPA_PLATFORM": "xcb"}, unset=("WAYLAND_DISPLAY",))
    line = one_line_exit_2(result)
    assert "':9871'" in line and ("X display" in line or "libxcb-cursor" in line)


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--timeout", "nan", "above zero"),
        ("--timeout", "-5", "above zero"),
        ("--timeout", "0", "above zero"),
        ("--timeout", "inf", "above zero"),
        ("--timeout", "soon", "not a number"),
        ("--interrupt-after", "-2", "above zero"),
        ("--tools", "calculator,nope", "no tool named 'nope'"),
    ],
)
def test_bad_ask_options_exit_2_before_anything_starts(tmp_path: Path, option: str, value: str, words: str) -> None:
    out = tmp_path / "out"
    line = one_line_exit_2(voicedesk("ask", "--text", "hi", "--out-dir", str(out), f"{option}={value}"))
    assert words in line
    assert not out.exists(), "nothing was started, nothing written"


def wav_header(rate: int) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    data = b"\x00\x01" * 10
    return (
        b"RIFF"
        + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


@pytest.mark.parametrize("kind", ["1 Hz", "device", "fifo", "text"])
def test_inputs_that_are_not_usable_audio_exit_2(tmp_path: Path, kind: str) -> None:
    if kind == "1 Hz":
        path = tmp_path / "slow.wav"
        path.write_bytes(wav_header(1))
    elif kind == "device":
        path = Path("/dev/zero")
    elif kind == "fifo":
        path = tmp_path / "pipe.wav"
        os.mkfifo(path)
    else:
        path = tmp_path / "notes.wav"
        path.write_text("not audio\n")
    out = tmp_path / "out"
    line = one_line_exit_2(voicedesk("ask", str(path), "--out-dir", str(out)))
    assert str(path) in line
    assert not out.exists()
