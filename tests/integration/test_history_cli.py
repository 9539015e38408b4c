"""The history as a person uses it from a terminal: real ``voicedesk ask`` runs against the embedded server,
then ``voicedesk history`` on the same SQLite file; a resume re-creates the earlier items on the wire."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
from pathlib import Path
from typing import Any

from tests.contract import validate_client_event
from tests.integration.test_ask_cli import records, run_ask
from voicedesk.history import HistoryStore


async def history(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "voicedesk",
        "history",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def _history_file() -> Path:
    return Path(os.environ["VOICEDESK_DATA_DIR"]) / "history.sqlite3"


def _client_events(out: Path) -> list[dict[str, Any]]:
    return [r["event"] for r in records(out / "events.jsonl") if r["direction"] == "client"]


async def _two_conversations(tmp_path: Path) -> None:
    for n, text in enumerate(["What is the invoice total for March?", "Book a train to Lyon tomorrow"]):
        code, _, stderr = await run_ask("--text", text, "--out-dir", str(tmp_path / f"run{n}"), "--fast")
        assert code == 0, stderr


async def test_every_ask_run_is_listed_with_its_title_and_found_by_search(tmp_path: Path) -> None:
    await _two_conversations(tmp_path)
    code, out, err = await history("list", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert [c["title"] for c in listed] == ["Book a train to Lyon tomorrow", "What is the invoice total for March?"]
    assert all(c["items"] == 2 and c["source"] == "ask" and c["endpoint"] == "local" for c in listed)
    assert all(c["output_tokens"] > 0 and c["estimated_cost_usd"] > 0 for c in listed)  # from the usage reported
    code, out, _ = await history("search", "invoice", "--json")
    hits = json.loads(out)
    assert {h["conversation"]["id"] for h in hits} == {listed[1]["id"]}
    assert any("\u27e6invoice\u27e7" in h["snippet"] for h in hits)
    code, out, _ = await history("search", "kangaroo")
    assert code == 0 and out == ""
    mode = stat.S_IMODE(_history_file().stat().st_mode)
    assert mode == 0o600


async def test_resume_recreates_the_earlier_items_before_the_new_turn(tmp_path: Path) -> None:
    await _two_conversations(tmp_path)
    with HistoryStore(_history_file()) as store:
        earlier = store.conversation("last")
    out = tmp_path / "resumed"
    code, stdout, stderr = await run_ask(
        "--resume", "last", "--text", "what was my first message", "--out-dir", str(out), "--fast"
    )
    assert code == 0, stderr
    sent = _client_events(out)
    creates = [e for e in sent if e["type"] == "conversation.item.create"]
    for event in creates:
        validate_client_event(event, "ga")
    # The stored items first, with their own ids, then the new question.
    assert [e["item"].get("id") for e in creates[:2]] == [r["id"] for r in earlier.records]
    assert creates[0]["item"]["content"][0]["text"] == "Book a train to Lyon tomorrow"
    assert creates[2]["item"]["content"][0]["text"] == "what was my first message"
    # The server saw the earlier conversation: its answer quotes it.
    assert "Your first message was: Book a train to Lyon tomorrow" in stdout
    # The conversation goes on in the same stored conversation.
    with HistoryStore(_history_file()) as store:
        assert store.count() == (2, 6)
        assert len(store.conversation(earlier.summary.id).records) == 4


async def test_bad_ids_get_one_line_and_exit_2_before_anything_starts(tmp_path: Path) -> None:
    code, _, stderr = await run_ask("--resume", "last", "--text", "hi", "--out-dir", str(tmp_path / "a"))
    assert code == 2 and stderr.count("\n") == 1 and "no conversation" in stderr
    assert not (tmp_path / "a").exists()
    await _two_conversations(tmp_path)
    for args in (["show", "zzz"], ["show", "0123456789abcdef0"], ["export", "nope", "--format", "md"]):
        code, _, stderr = await history(*args)
        assert code == 2 and stderr.count("\n") == 1, (args, stderr)
    code, _, stderr = await history("search", "?!")
    assert code == 2 and "at least one word" in stderr


async def test_export_rename_and_delete(tmp_path: Path) -> None:
    await _two_conversations(tmp_path)
    code, out, _ = await history("list", "--json")
    first = json.loads(out)[1]["id"]
    target = tmp_path / "march.md"
    code, _, err = await history("export", first[:6], "--format", "md", "-o", str(target))
    assert code == 0, err
    text = target.read_text()
    assert text.startswith("# What is the invoice total for March?") and "You said" in text
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    code, out, _ = await history("export", first, "--format", "json")
    assert [i["role"] for i in json.loads(out)["items"]] == ["user", "assistant"]
    assert (await history("rename", first, "March", "invoice"))[0] == 0
    code, out, _ = await history("show", first, "--json")
    assert json.loads(out)["conversation"]["title"] == "March invoice"
    code, out, _ = await history("delete", first)
    assert code == 0 and first in out
    code, out, _ = await history("list", "--json")
    assert [c["id"] for c in json.loads(out)] != [] and first not in out
    assert (await history("search", "invoice"))[1] == ""


async def test_no_history_leaves_nothing(tmp_path: Path) -> None:
    code, _, stderr = await run_ask("--text", "hello", "--out-dir", str(tmp_path / "o"), "--fast", "--no-history")
    assert code == 0, stderr
    with HistoryStore(_history_file()) as store:
        assert store.count() == (0, 0)


async def test_a_killed_run_keeps_every_finished_item(tmp_path: Path) -> None:
    """kill -9 in the middle of a long answer: what finished before it is stored, at most the answer in flight
    is lost."""
    out = tmp_path / "killed"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "voicedesk",
        "ask",
        "--text",
        "What is the invoice total for March?",
        "--text",
        "talk for 60 seconds",
        "--out-dir",
        str(out),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    lines = []
    try:
        async with asyncio.timeout(60):
            while True:  # the second question is on its way: the first answer has finished
                line = (await process.stdout.readline()).decode()
                lines.append(line)
                if line.startswith("user: talk for 60"):
                    break
            while _stored_items() < 3:  # noqa: ASYNC110 - the writer thread has stored what finished
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # the long answer is streaming
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert any(line.startswith("assistant: You said") for line in lines), lines
    with HistoryStore(_history_file()) as store:
        stored = store.conversation("last")
    said = [(r["role"], r.get("text") or r.get("transcript")) for r in stored.records]
    assert said[:3] == [
        ("user", "What is the invoice total for March?"),
        ("assistant", "You said: What is the invoice total for March."),
        ("user", "talk for 60 seconds"),
    ]
    assert len(said) == 3  # the answer in flight is the only thing missing


def _stored_items() -> int:
    if not _history_file().exists():
        return 0
    with HistoryStore(_history_file()) as store:
        return store.count()[1]
