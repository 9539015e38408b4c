"""``voicedesk serve``: the embedded local realtime server on its own, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from voicedesk.local.server import DEFAULT_PORT, LocalRealtimeServer, LocalServerOptions


async def serve_forever(host: str, port: int, options: LocalServerOptions | None = None) -> None:
    """Run until cancelled (Ctrl-C) or SIGTERM; print the URL on stdout once listening."""
    async with LocalRealtimeServer(options, host=host, port=port) as server:
        print(server.url, flush=True)
        print("voicedesk local realtime server: Ctrl-C to stop", file=sys.stderr, flush=True)
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="voicedesk serve", description="Run the local realtime server (OpenAI Realtime protocol, offline)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--pace", type=float, default=4.0, help="answer audio speed vs real time; 'inf' = no pacing")
    parser.add_argument("--api-key", default=None, help="require this key in the handshake")
    parser.add_argument("--session-max-s", type=float, default=3600.0, help="session length limit in seconds")
    parser.add_argument(
        "--transcript", action="append", default=[], help="what the next audio turn 'says' (repeatable)"
    )
    parser.add_argument("--deflate", action="store_true", help="offer permessage-deflate compression")
    args = parser.parse_args(argv)
    if not args.pace > 0:
        parser.error("--pace must be positive")
    options = LocalServerOptions(
        api_key=args.api_key,
        session_max_s=args.session_max_s,
        audio_pace=args.pace,
        transcripts=list(args.transcript),
        record_audio=False,
        deflate=args.deflate,
    )
    try:
        asyncio.run(serve_forever(args.host, args.port, options))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"voicedesk serve: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
