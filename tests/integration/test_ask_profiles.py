"""``voicedesk ask --profiles FILE --profile NAME``: the example profiles hand off and trip their guardrail, and
conversation.jsonl (and the journal) keep both; bad profiles are one line and exit 2."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.integration.test_ask_cli import records, run_ask
from voicedesk.app.history import import_journals, stored_items
from voicedesk.history import HistoryStore

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "profiles.toml"
QUESTION = "I have a billing question: what card number do you have on file?"


async def test_ask_with_the_example_profiles_records_the_handoff_and_the_guardrail_trip(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = await run_ask(
        "--profiles", str(EXAMPLE), "--profile", "Concierge", "--text", QUESTION, "--out-dir", str(out), "--fast"
    )
    assert code == 0, stderr
    assert "handoff: Concierge → Billing" in stdout
    assert "guardrail tripped: it matched the blocked pattern" in stdout
    conversation = records(out / "conversation.jsonl")
    kinds = [(r["type"], r["role"]) for r in conversation]
    handoff = next(r for r in conversation if r["type"] == "handoff")
    assert (handoff["from_agent"], handoff["to_agent"], handoff["text"]) == (
        "Concierge",
        "Billing",
        "Concierge → Billing",
    )
    trip = next(r for r in conversation if r["type"] == "guardrail_tripped")
    assert trip["guardrails"] == ["blocked_patterns"] and "blocked pattern" in trip["reason"]
    cut = next(r for r in conversation if r["id"] == trip["item_id"])
    assert cut["role"] == "assistant" and cut["transcript"].startswith("Billing here.")
    # As things finished: the question, the transfer, the handoff, ..., the trip (at once), the recovery last.
    assert kinds.index(("handoff", None)) == kinds.index(("function_call", None)) + 1
    assert conversation[-1]["role"] == "assistant" and conversation[-1]["transcript"].startswith("Sorry")
    assert "4111" not in trip["reason"]  # the note says which rule, never the text it caught

    # The journal holds the same notes, and importing it into the history (as for a journal written while the
    # history was off) still works: the notes come back as items, every other item as before.
    journals = list((Path(os.environ["VOICEDESK_DATA_DIR"]) / "journal").glob("*.jsonl"))
    assert len(journals) == 1
    journal = records(journals[0])
    assert [r["type"] for r in journal if r["type"] in ("handoff", "guardrail_tripped")] == [
        "handoff",
        "guardrail_tripped",
    ]
    with HistoryStore(tmp_path / "imported.sqlite") as store:
        assert import_journals(store, journals[0].parent) == 1
        (summary,) = store.conversations()
        items = stored_items(store.conversation(summary.id))
    assert [i.type for i in items] == [r["type"] for r in journal]
    assert summary.title.startswith("I have a billing question")


async def test_ask_refuses_bad_profiles_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "profiles.toml"
    cases = {
        '[[profile]]\nname = "A"\nhandoffs = ["Nobody"]\n': "profiles.toml line 3: profile 'A': handoffs: no profile "
        "named 'Nobody' (the profiles are A)",
        '[[profile]]\nname = "A"\n\n[[profile]]\nname = "B"\nvoice = marin\n': "profiles.toml line 6: not valid TOML",
        '[[profile]]\nname = "A"\nguardrails = { debounce_chars = "x" }\n': "line 3: profile 'A': guardrails: "
        "debounce_chars must be a whole number",
    }
    for text, said in cases.items():
        bad.write_text(text)
        code, _stdout, stderr = await run_ask("--profiles", str(bad), "--text", "hi", "--out-dir", str(tmp_path / "o"))
        assert code == 2 and said in stderr and len(stderr.strip().splitlines()) == 1, stderr
    code, _, stderr = await run_ask(
        "--profiles", str(EXAMPLE), "--profile", "Sales", "--text", "hi", "--out-dir", str(tmp_path / "o")
    )
    assert code == 2 and "no profile named 'Sales'" in stderr and "Concierge, Billing" in stderr
    bad.write_text('[[profile]]\nname = "A"\ntools = ["get_time", "send_fax"]\n')
    code, _, stderr = await run_ask("--profiles", str(bad), "--text", "hi", "--out-dir", str(tmp_path / "o2"))
    assert code == 2 and "line 3: profile 'A': tools: no tool named 'send_fax'" in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


async def test_the_window_refuses_an_unknown_profile_before_it_opens(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voicedesk", "--profile", "Nobody",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    _stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert stderr.decode().strip() == (
        f"voicedesk: --profile: no profile named 'Nobody' in {os.environ['VOICEDESK_CONFIG_DIR']}/profiles.toml "
        "(the profiles are Assistant)"
    )
