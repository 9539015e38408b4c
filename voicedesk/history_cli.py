"""``voicedesk history``: list, show, search, export, rename and delete stored conversations."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the command line imports this module at start-up: the store loads when a command runs
    from voicedesk.history import ConversationSummary, HistoryStore


def add_history_parser(sub: argparse._SubParsersAction[Any], parents: Sequence[argparse.ArgumentParser]) -> None:
    history = sub.add_parser("history", help="list, search and export past conversations", parents=parents)
    actions = history.add_subparsers(dest="history_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the newest conversations first")
    listing.add_argument("--limit", type=_positive, default=20, help="how many (default 20)")
    listing.add_argument("--json", action="store_true", help="one JSON document")
    show = actions.add_parser("show", help="one conversation, item by item")
    show.add_argument("id", help="an id, a unique prefix of one, or 'last'")
    show.add_argument("--json", action="store_true")
    search = actions.add_parser("search", help="conversations that said all these words")
    search.add_argument("query", nargs="+")
    search.add_argument("--limit", type=_positive, default=20)
    search.add_argument("--json", action="store_true")
    export = actions.add_parser("export", help="a conversation as Markdown or JSON")
    export.add_argument("id")
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.add_argument("-o", "--output", type=Path, help="a file (default: standard output)")
    rename = actions.add_parser("rename", help="give a conversation a title")
    rename.add_argument("id")
    rename.add_argument("title", nargs="+")
    delete = actions.add_parser("delete", help="delete a conversation for good")
    delete.add_argument("id")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("give a number of 1 or more")
    return value


def run_history(args: argparse.Namespace) -> int:
    from voicedesk.app.history import history_path, import_journals
    from voicedesk.config import data_dir
    from voicedesk.history import HistoryError, HistoryStore

    try:
        with HistoryStore(history_path(data_dir())) as store:
            import_journals(store, data_dir() / "journal")
            return _run(store, args)
    except HistoryError as exc:
        print(f"voicedesk: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"voicedesk: cannot write {exc.filename or 'the output'}: {exc.strerror}", file=sys.stderr)
        return 1


def _run(store: HistoryStore, args: argparse.Namespace) -> int:
    from voicedesk.app.history import delete_conversation, export_text
    from voicedesk.history.store import HIGHLIGHT
    from voicedesk.private_files import write_private_text

    command = args.history_command
    if command == "list":
        summaries = store.conversations(limit=args.limit)
        if args.json:
            print(json.dumps([s.to_json() for s in summaries], ensure_ascii=False, indent=2))
        else:
            for summary in summaries:
                print(_line(summary))
    elif command == "show":
        stored = store.conversation(args.id)
        if args.json:
            print(export_text(stored, "json"), end="")
        else:
            print(export_text(stored, "md"), end="")
    elif command == "search":
        hits = store.search(" ".join(args.query), limit=args.limit)
        if args.json:
            payload = [
                {"conversation": h.conversation.to_json(), "item_id": h.item_id, "role": h.role, "snippet": h.snippet}
                for h in hits
            ]
            print(json.dumps(payload, ensure_ascii=False, indent=2))
        else:
            for hit in hits:
                snippet = hit.snippet.replace(HIGHLIGHT[0], "*").replace(HIGHLIGHT[1], "*")
                print(f"{_line(hit.conversation)}\n    {hit.role or ''}: {' '.join(snippet.split())}")
    elif command == "export":
        stored = store.conversation(args.id)
        text = export_text(stored, args.format, store.images(stored.summary.id) if args.format == "md" else None)
        if args.output is None:
            print(text, end="")
        else:
            write_private_text(args.output, text)
    elif command == "rename":
        store.rename(args.id, " ".join(args.title))
    elif command == "delete":
        conversation_id = delete_conversation(store, args.id)
        print(f"deleted {conversation_id}")
    return 0


def _line(summary: ConversationSummary) -> str:
    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(summary.started_at))
    duration = summary.duration_s
    length = f"{duration / 60:.0f} min" if duration is not None and duration >= 60 else f"{duration or 0:.0f} s"
    cost = f"${summary.cost_usd:.3f}" if summary.cost_usd else ""
    return f"{summary.id[:8]}  {started}  {length:>7}  {summary.item_count:>4} items  {cost:>7}  {summary.title}"
