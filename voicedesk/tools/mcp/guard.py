"""Runs one stdio MCP server and takes it (and all it started) down when voicedesk dies, even by SIGKILL.

Started by path with ``python -I -S guard.py PARENT_PID -- COMMAND ARGS...`` so that it imports nothing but
the standard library. The MCP SDK starts it in a new session, so this process leads the server's process
group. On Linux the kernel sends us SIGTERM when voicedesk dies (PR_SET_PDEATHSIG); elsewhere, and as a
second line, the parent pid is polled. Either way the whole group
gets SIGTERM, then SIGKILL after a grace period. The server inherits stdin and stdout; this process keeps no
copy of them, so voicedesk sees the server's exit as the end of its output.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

_PR_SET_PDEATHSIG = 1
_POLL_S = 0.25
_GRACE_S = 2.0


def _ask_kernel_for_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the poll below still notices


def _end_group(server: subprocess.Popen[bytes]) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(0, signal.SIGTERM)
    except OSError:
        return
    try:
        server.wait(_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(0, signal.SIGKILL)  # this process too


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: guard.py PARENT_PID -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    parent = int(argv[0])
    _ask_kernel_for_parent_death_signal()
    if os.getppid() != parent:
        return 1  # voicedesk died before we could ask to be told
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    try:
        server = subprocess.Popen(argv[2:])
    except OSError as exc:
        print(f"cannot start {argv[2]!r}: {exc.strerror or exc}", file=sys.stderr)
        return 127
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    code: int | None = None
    while code is None:
        try:
            code = server.wait(_POLL_S)
        except subprocess.TimeoutExpired:
            if stopping or os.getppid() != parent:
                _end_group(server)
    _end_group(server)  # whatever the server left behind in its group
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
