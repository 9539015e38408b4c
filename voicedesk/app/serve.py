"""``voicedesk serve``: the embedded local realtime server on its own, until Ctrl-C (SIGINT) or SIGTERM.

It binds loopback unless told otherwise. Any other host is reachable from other machines, so it then needs a
key, and says so loudly. The key never comes from argv (the process list shows argv to every local user):
it comes from ``VOICEDESK_SERVE_KEY`` or ``--api-key-file PATH``.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from voicedesk.local.server import (
    DEFAULT_AUDIO_PACE,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_PORT,
    LocalRealtimeServer,
    LocalServerOptions,
)

KEY_ENV = "VOICEDESK_SERVE_KEY"
EXIT_USAGE = 2
_KEY_HOW = f"set {KEY_ENV} or pass --api-key-file PATH"


class _Parser(argparse.ArgumentParser):
    """One line on stderr and exit 2 for a bad option, as the rest of the command line does."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range: 0..65535 (0 picks a free port)")
    return port


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive whole number")
    return value


def build_parser(prog: str = "voicedesk serve") -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description="Run the local realtime server (OpenAI Realtime protocol, offline).",
        epilog=f"A key, when wanted, comes from {KEY_ENV} or --api-key-file, never from the command line.",
        allow_abbrev=False,  # else --api-key would abbreviate --api-key-file and take the key for a path
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback only)")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help="0 picks a free port (default %(default)s)")
    parser.add_argument(
        "--pace",
        type=float,
        default=DEFAULT_AUDIO_PACE,
        help="answer audio speed vs real time, default %(default)s; 'inf' = no pacing",
    )
    parser.add_argument("--api-key-file", type=Path, metavar="PATH", help="require the key in this file")
    parser.add_argument("--api-key", metavar="KEY", help=argparse.SUPPRESS)  # refused: see main
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let web pages from this origin connect, e.g. http://localhost:3000 (repeatable; default: none)",
    )
    parser.add_argument(
        "--max-connections",
        type=_count,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help="open connections at once (default %(default)s)",
    )
    parser.add_argument("--session-max-s", type=float, default=3600.0, help="session length limit in seconds")
    parser.add_argument(
        "--transcript", action="append", default=[], help="what the next audio turn 'says' (repeatable)"
    )
    parser.add_argument("--deflate", action="store_true", help="offer permessage-deflate compression")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    return parser


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve to anything: treat it as reachable


def _read_key(parser: argparse.ArgumentParser, key_file: Path | None) -> str | None:
    if key_file is None:
        return os.environ.get(KEY_ENV, "").strip() or None
    try:
        key = key_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        parser.error(f"cannot read the key from {key_file}: {getattr(exc, 'strerror', None) or exc}")
    if not key or "\n" in key:
        parser.error(f"{key_file} should hold the key alone on one line")
    return key


async def serve_forever(host: str, port: int, options: LocalServerOptions | None = None) -> None:
    """Run until SIGINT or SIGTERM (or cancelled); print the URL on stdout once listening."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    try:
        # Handlers on the loop, not KeyboardInterrupt: a shell or script that started us with SIGINT ignored
        # would otherwise leave Ctrl-C without effect.
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop.set)
                handled.append(signum)
            except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
                pass
        async with LocalRealtimeServer(options, host=host, port=port) as server:
            print(server.url, flush=True)
            print("voicedesk local realtime server: Ctrl-C to stop", file=sys.stderr, flush=True)
            await stop.wait()
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)


def main(argv: Sequence[str] | None = None, prog: str = "voicedesk serve") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.api_key is not None:
        parser.error(f"--api-key would show the key to every user in the process list; {_KEY_HOW}")
    if not args.pace > 0:
        parser.error("--pace must be positive")
    if args.verbose:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger().setLevel(logging.INFO)  # `voicedesk serve -v`: the command line set WARNING already
    key = _read_key(parser, args.api_key_file)
    exposed = not is_loopback(args.host)
    if exposed and key is None:
        parser.error(f"--host {args.host} is reachable from other machines, so it needs a key: {_KEY_HOW}")
    options = LocalServerOptions(
        api_key=key,
        allowed_origins=tuple(args.allow_origin),
        max_connections=args.max_connections,
        session_max_s=args.session_max_s,
        audio_pace=args.pace,
        transcripts=list(args.transcript),
        record_audio=False,
        keep_sessions=False,
        deflate=args.deflate,
    )
    if exposed:
        print(
            f"{prog}: WARNING: listening on {args.host}, reachable from other machines; clients need the key, "
            "and the audio and the key travel unencrypted (ws://)",
            file=sys.stderr,
            flush=True,
        )
    try:
        asyncio.run(serve_forever(args.host, args.port, options))
    except KeyboardInterrupt:  # a Ctrl-C before the loop's handlers are in place
        pass
    except OSError as exc:
        print(f"{prog}: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
