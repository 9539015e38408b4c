"""Command line: ``voicedesk`` (the window), ``ask`` (headless), ``devices``, ``serve`` (local server).

Every failure a person can cause (a bad flag, a missing file, a wrong key) ends with one clear line on
stderr and a documented exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes.util
import dataclasses
import logging
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from voicedesk import __version__
from voicedesk.config import AppSettings, ConfigError, load_settings
from voicedesk.history_cli import add_history_parser, run_history
from voicedesk.realtime.endpoint import EndpointError, check_websocket_url
from voicedesk.realtime.session_config import TURN_DETECTION_TYPES, SettingsError, TurnDetection
from voicedesk.tools_cli import add_tools_parser, run_tools

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"voicedesk: {message} (see --help)\n")


def _add_endpoint_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("endpoint (default: OpenAI when OPENAI_API_KEY is set, else the local server)")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--url", help="full websocket URL of a realtime endpoint (key from OPENAI_API_KEY if set)")
    where.add_argument("--azure-endpoint", metavar="URL", help="Azure resource URL, https://NAME.openai.azure.com")
    where.add_argument("--local", action="store_true", help="use the embedded local server even if a key is set")
    group.add_argument("--deployment", help="Azure deployment name")
    group.add_argument(
        "--allow-insecure", action="store_true", help="allow sending the key over plain ws:// to another machine"
    )
    group.add_argument(
        "--protocol", choices=("ga", "beta"), help="wire protocol (default: GA; beta for api-version URLs)"
    )
    group.add_argument("--model", help="model name (OpenAI)")
    group.add_argument("--voice", help="assistant voice, e.g. alloy, marin, cedar")
    audio = parser.add_argument_group("audio")
    audio.add_argument("--input-device", metavar="NAME", help="microphone, by (part of) its name")
    audio.add_argument("--output-device", metavar="NAME", help="speaker, by (part of) its name")
    audio.add_argument("--echo", choices=("aec", "half-duplex", "off"), help="echo handling (default aec)")
    audio.add_argument(
        "--noise-suppression",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="take steady noise (fans, hum) out of the microphone (default: the saved setting, off)",
    )


def _add_window_options(parser: argparse.ArgumentParser) -> None:
    _add_endpoint_options(parser)
    window = parser.add_argument_group("window")
    window.add_argument("--connect", action="store_true", help="connect at start")
    window.add_argument("--smoke", action="store_true", help="open, run one turn on the local server, exit 0")
    window.add_argument("--profile", metavar="NAME", help="the assistant (profile) that talks first")
    window.add_argument("--hidden", action="store_true", help="start in the tray, the window hidden")


def _verbose_option(*, default: object) -> _Parser:
    """-v works before or after the command; a command's own default must not undo one given before it."""
    parent = _Parser(add_help=False)
    parent.add_argument("-v", "--verbose", action="store_true", default=default, help="log details to stderr")
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="voicedesk",
        usage="voicedesk [window options] | voicedesk {gui,ask,devices,history,tools,serve} [options]",
        description="A desktop voice assistant for realtime speech models. With no command it opens the window; "
        "`voicedesk COMMAND --help` tells more about a command.",
        parents=[_verbose_option(default=False)],
    )
    parser.add_argument("--version", action="version", version=f"voicedesk {__version__}")
    _add_window_options(parser)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, title="commands", metavar="COMMAND")
    command_options = [_verbose_option(default=argparse.SUPPRESS)]

    gui = sub.add_parser("gui", help="open the window (the default)", parents=command_options)
    _add_window_options(gui)

    ask = sub.add_parser("ask", help="talk to the model from files, headless", parents=command_options)
    ask.add_argument("inputs", nargs="*", metavar="INPUT.wav", help="user turns as WAV files (any rate/channels)")
    ask.add_argument("--text", action="append", default=[], metavar="MESSAGE", help="a typed user turn")
    ask.add_argument("--image", action="append", default=[], metavar="FILE", help="an image for the next turn")
    ask.add_argument("--out-dir", required=True, type=Path, help="where to write assistant.wav and the logs")
    _add_endpoint_options(ask)
    ask.add_argument("--instructions", help="system instructions for the model")
    ask.add_argument(
        "--profiles", type=Path, metavar="FILE", help="assistants (default: profiles.toml in the config dir)"
    )
    ask.add_argument("--profile", metavar="NAME", help="the assistant (profile) that talks first")
    ask.add_argument("--turn-detection", choices=TURN_DETECTION_TYPES, help="default server_vad")
    ask.add_argument("--transcribe", metavar="MODEL", help="input transcription model ('none' to disable)")
    ask.add_argument(
        "--tools",
        help=f"exactly these tools, comma-separated: built-in ({','.join(_builtin_tool_names())}), from --tools-dir "
        "or from MCP servers ('' for none)",
    )
    ask.add_argument("--mcp-config", type=Path, metavar="FILE", help="MCP servers, in mcp.json's format")
    ask.add_argument("--tools-dir", type=Path, metavar="DIR", help="a folder of your own Python tools")
    ask.add_argument(
        "--approve",
        choices=("all", "none"),
        default="none",
        help="run tools whose policy is 'ask' (MCP and your own tools) without asking, or never (default none)",
    )
    ask.add_argument("--fast", action="store_true", help="stream files as fast as the socket takes them")
    ask.add_argument("--interrupt-after", type=_seconds, metavar="SECONDS", help="interrupt each answer after S s")
    ask.add_argument("--timeout", type=_seconds, default=300.0, help="give up on an answer after this many seconds")
    ask.add_argument("--mic", action="store_true", help="talk live with the microphone and speaker")
    ask.add_argument("--resume", metavar="ID", help="go on with a stored conversation (an id, a prefix, or 'last')")
    ask.add_argument("--no-history", action="store_true", help="do not store this conversation in the history")
    ask.add_argument("--overwrite", action="store_true", help="replace the files of an earlier run in --out-dir")

    sub.add_parser("devices", help="list audio devices", parents=command_options)
    add_history_parser(sub, command_options)
    add_tools_parser(sub, command_options)

    # serve's options live in voicedesk.app.serve, one definition for both ways to start it; that module is too
    # slow to import here, so this parser takes everything after "serve" as is ("\0": no option prefix).
    serve = sub.add_parser(
        "serve", help="run the embedded local realtime server (serve --help)", add_help=False, prefix_chars="\0"
    )
    serve.add_argument("serve_args", nargs="*")
    return parser


def check_profiles(path: Path | None, start: str | None) -> None:
    """``--profiles`` / ``--profile``, checked before anything starts (ConfigError: one line)."""
    if path is None and start is None:
        return  # the config dir's file: a problem with it is reported, and the Settings make the assistant
    from voicedesk.app.assistants import RuntimeProfiles
    from voicedesk.app.profiles import ProfileError, profiles_path
    from voicedesk.config import config_dir

    try:
        RuntimeProfiles.open(path or profiles_path(config_dir()), start, create=path is None)
    except (ProfileError, OSError) as exc:
        raise ConfigError(f"{'--profiles' if path is not None else '--profile'}: {exc}") from None


def _seconds(text: str) -> float:
    """A time span from the command line: a finite number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds above zero")
    return value


def _builtin_tool_names() -> list[str]:
    from voicedesk.tools.builtins import default_registry

    return default_registry().names()


def settings_from_args(args: argparse.Namespace, base: AppSettings) -> AppSettings:
    """Command-line options override the saved settings for this run (nothing is saved)."""
    settings = dataclasses.replace(base)
    session = settings.session
    settings.allow_insecure = settings.allow_insecure or getattr(args, "allow_insecure", False)
    if getattr(args, "url", None):
        check_websocket_url(args.url)
        settings.endpoint, settings.custom_url = "custom", args.url
    elif getattr(args, "azure_endpoint", None):
        check_websocket_url(args.azure_endpoint, azure=True)
        if not args.deployment:
            raise ConfigError("--azure-endpoint needs --deployment NAME")
        settings.endpoint, settings.azure_endpoint, settings.azure_deployment = (
            "azure",
            args.azure_endpoint,
            args.deployment,
        )
    elif getattr(args, "local", False):
        settings.endpoint = "local"
    if getattr(args, "protocol", None):
        settings.protocol = args.protocol
    changes: dict[str, object] = {}
    for option, name in (("model", "model"), ("voice", "voice"), ("instructions", "instructions")):
        value = getattr(args, option, None)
        if value is not None:
            changes[name] = value
    transcribe = getattr(args, "transcribe", None)
    if transcribe is not None:
        changes["transcription_model"] = None if transcribe.lower() in ("", "none", "off") else transcribe
    turn_detection = getattr(args, "turn_detection", None)
    if turn_detection:
        changes["turn_detection"] = dataclasses.replace(session.turn_detection or TurnDetection(), type=turn_detection)
    settings.session = dataclasses.replace(session, **changes)  # type: ignore[arg-type]
    settings.session.validate()
    tools = getattr(args, "tools", None)
    if tools is not None:
        names = [t.strip() for t in tools.split(",") if t.strip()]
        settings.tools = [name for name in names if name in _builtin_tool_names()]
        unknown = [name for name in names if name not in _builtin_tool_names()]
        if unknown and not (getattr(args, "mcp_config", None) or getattr(args, "tools_dir", None)):
            raise ConfigError(
                f"--tools: no tool named {', '.join(map(repr, unknown))} "
                f"(the built-in tools are {', '.join(_builtin_tool_names())}; "
                "others come from --tools-dir or --mcp-config)"
            )
    for option in ("input_device", "output_device", "echo", "noise_suppression"):
        value = getattr(args, option, None)
        if value is not None:
            setattr(settings, option, value)
    return settings


def _ordered_turns(argv: Sequence[str], args: argparse.Namespace) -> list[tuple[str, str]]:
    """WAV files, --text messages and --image files in the order they were given on the command line."""
    files, given = list(args.inputs), {"text": list(args.text), "image": list(args.image)}
    turns: list[tuple[str, str]] = []
    tokens = list(argv)
    i = 0
    while i < len(tokens):
        token, option = tokens[i], tokens[i].removeprefix("--").partition("=")
        values = given.get(option[0]) if token.startswith("--") else None
        if values and not option[1] and i + 1 < len(tokens) and tokens[i + 1] == values[0]:
            turns.append((option[0], values.pop(0)))
            i += 2
            continue
        if values and option[1] and option[2] == values[0]:
            turns.append((option[0], values.pop(0)))
        elif files and token == files[0]:
            turns.append(("wav", files.pop(0)))
        i += 1
    return turns + [("wav", f) for f in files] + [(kind, v) for kind in given for v in given[kind]]


def _require_devices() -> None:
    """A live conversation needs a microphone and a speaker: say so up front rather than listen to nothing."""
    from voicedesk.ask import UsageError

    try:
        from voicedesk.audio.devices import list_devices
    except OSError as exc:
        raise UsageError(f"cannot use audio devices: {exc}") from None
    for kind, what in (("input", "microphone"), ("output", "speaker")):
        if not list_devices(kind):  # type: ignore[arg-type]
            raise UsageError(f"no {what} found (`voicedesk devices` lists the audio devices)")


def _run_ask(argv: Sequence[str], args: argparse.Namespace) -> int:
    from voicedesk.ask import AskOptions, UsageError, check_resume, load_turns, prepare_out_dir, run_ask
    from voicedesk.config import resolve_endpoint

    try:
        settings = settings_from_args(args, load_settings())
        if args.mic:
            if args.inputs or args.text or args.image:
                raise UsageError("--mic is a live conversation: give it no files, --text or --image")
            if not settings.session.vad_enabled:
                raise UsageError("--mic needs turn detection server_vad or semantic_vad")
            _require_devices()
            turns = []
        else:
            turns = load_turns(_ordered_turns(argv, args))
        if args.resume is not None:
            if args.no_history:
                raise UsageError("--resume continues a stored conversation: it cannot go with --no-history")
            check_resume(args.resume)
        resolve_endpoint(settings)  # a key that must not go where the URL points is refused now
        if args.mcp_config is not None and not args.mcp_config.is_file():
            raise UsageError(f"--mcp-config {args.mcp_config}: no such file")
        if args.tools_dir is not None and not args.tools_dir.is_dir():
            raise UsageError(f"--tools-dir {args.tools_dir}: no such folder")
        check_profiles(args.profiles, args.profile)
        prepare_out_dir(args.out_dir, overwrite=args.overwrite)
    except (ConfigError, SettingsError, EndpointError, UsageError) as exc:
        print(f"voicedesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    options = AskOptions(
        turns=turns,
        out_dir=args.out_dir,
        settings=settings,
        fast=args.fast,
        interrupt_after_s=args.interrupt_after,
        answer_timeout_s=args.timeout,
        mic=args.mic,
        history=not args.no_history,
        resume=args.resume,
        only_tools=[t.strip() for t in args.tools.split(",") if t.strip()] if args.tools is not None else None,
        tools_dir=args.tools_dir,
        mcp_config=args.mcp_config,
        approve_all=args.approve == "all",
        profiles=args.profiles,
        profile=args.profile,
    )
    try:
        return asyncio.run(run_ask(options))
    except OSError as exc:  # e.g. the PortAudio library missing (--mic), or the output dir not writable
        print(f"voicedesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ConfigError, EndpointError) as exc:
        print(f"voicedesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 0


def _run_serve(args: argparse.Namespace) -> int:
    from voicedesk.app.serve import main as serve_main

    return serve_main(args.serve_args, prog="voicedesk serve")


def _run_devices() -> int:
    try:
        from voicedesk.audio.devices import format_device_list
    except ImportError:
        print("voicedesk: the audio engine is not part of this build yet", file=sys.stderr)
        return 1
    except OSError as exc:  # PortAudio library missing
        print(f"voicedesk: cannot use audio devices: {exc}", file=sys.stderr)
        return 1
    print(format_device_list())
    return 0


def display_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """Why the window could not open here, said before Qt aborts with its own words; None when it can."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return None
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform not in ("", "xcb", "wayland", "wayland-egl"):
        return None  # offscreen, vnc, eglfs...: the person chose a platform that needs no display
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return (
            "no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set): start it from a "
            "desktop session or under xvfb-run, or use `voicedesk ask` headless"
        )
    uses_x11 = platform == "xcb" or (platform == "" and not env.get("WAYLAND_DISPLAY"))
    if not uses_x11:
        return None
    if not getattr(sys, "frozen", False) and ctypes.util.find_library("xcb-cursor") is None:
        return "the window needs the X11 library libxcb-cursor (Debian/Ubuntu: sudo apt install libxcb-cursor0)"
    if not _x11_display_answers(env["DISPLAY"]):
        return f"cannot connect to the X display {env['DISPLAY']!r} (DISPLAY): is the X server running?"
    return None


def _x11_display_answers(display: str) -> bool:
    """Connect to the X server the way Qt will; True when it answers or when libxcb cannot be asked."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return True
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        return bool(connection) and xcb.xcb_connection_has_error(connection) == 0
    finally:
        if connection:
            xcb.xcb_disconnect(connection)


def _run_gui(args: argparse.Namespace) -> int:
    problem = display_problem()
    if problem is not None:
        print(f"voicedesk: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        from voicedesk.ui.app import run_app  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        print(f"voicedesk: the desktop window cannot start: {exc}", file=sys.stderr)
        return 1
    try:
        settings = settings_from_args(args, load_settings())
        check_profiles(None, args.profile)
    except (ConfigError, SettingsError, EndpointError) as exc:
        print(f"voicedesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return int(run_app(settings, connect=args.connect, smoke=args.smoke, profile=args.profile, hidden=args.hidden))


def _subcommand_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            sub: argparse.ArgumentParser = action.choices[name]
            return sub
    raise KeyError(name)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    verbose = False
    while argv and argv[0] in ("-v", "--verbose"):
        verbose = True
        argv.pop(0)
    if argv and argv[0] == "ask":
        # WAV files and --text may be intermixed: the ask parser reads them that way.
        args = _subcommand_parser(parser, "ask").parse_intermixed_args(argv[1:])
        args.command = "ask"
    else:
        args = parser.parse_args(argv)
    args.verbose = verbose or getattr(args, "verbose", False)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.command in (None, "gui"):
        return _run_gui(args)
    if args.command == "ask":
        return _run_ask(argv, args)
    if args.command == "devices":
        return _run_devices()
    if args.command == "history":
        return run_history(args)
    if args.command == "tools":
        return run_tools(args)
    return _run_serve(args)
