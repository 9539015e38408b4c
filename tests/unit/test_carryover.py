"""carry_over: what a new session gets re-created from the old conversation."""

from __future__ import annotations

from voicedesk.realtime.events import FunctionCallSpec, FunctionOutputSpec, MessageSpec
from voicedesk.session.carryover import RECENT_ITEMS, SUMMARY_LINE_CHARS, SUMMARY_MAX_CHARS, carry_over
from voicedesk.session.conversation import SUMMARY_ID_PREFIX, Item


def user(item_id: str, transcript: str) -> Item:
    return Item(item_id, "message", "user", "completed", transcript=transcript, has_audio=True)


def typed(item_id: str, text: str) -> Item:
    return Item(item_id, "message", "user", "completed", text=text)


def answer(item_id: str, transcript: str, audio_ms: int = 0, truncated_ms: int | None = None) -> Item:
    return Item(
        item_id,
        "message",
        "assistant",
        "incomplete" if truncated_ms is not None else "completed",
        transcript=transcript,
        has_audio=bool(audio_ms),
        audio_ms=audio_ms,
        truncated_ms=truncated_ms,
    )


def fcall(item_id: str, call_id: str, name: str = "get_time", arguments: str = '{"tz": "UTC"}') -> Item:
    return Item(item_id, "function_call", None, "completed", name=name, call_id=call_id, arguments=arguments)


def fout(item_id: str, call_id: str, output: str = '{"time": "12:00"}') -> Item:
    return Item(item_id, "function_call_output", None, "completed", call_id=call_id, output=output)


def test_short_conversation_is_carried_verbatim_in_order() -> None:
    items = [
        user("u1", "What time is it?"),
        fcall("c1", "call_1"),
        fout("o1", "call_1"),
        answer("a1", "It is noon."),
        typed("u2", "Thanks"),
        Item("s1", "message", "system", "completed", text="Be brief."),
    ]
    specs, summarized = carry_over(items)
    assert summarized == 0
    assert specs == [
        MessageSpec("user", "What time is it?", item_id="u1"),
        FunctionCallSpec("call_1", "get_time", '{"tz": "UTC"}', item_id="c1"),
        FunctionOutputSpec("call_1", '{"time": "12:00"}', item_id="o1"),
        MessageSpec("assistant", "It is noon.", item_id="a1"),
        MessageSpec("user", "Thanks", item_id="u2"),
        MessageSpec("system", "Be brief.", item_id="s1"),
    ]


def test_empty_and_unsendable_items_are_dropped() -> None:
    items = [
        user("u1", "   "),  # no transcript
        answer("a1", "Never heard", audio_ms=2000, truncated_ms=0),  # nothing was heard
        Item("x1", "other", None, "completed"),
        Item("m1", "message", None, "completed", text="no role"),
        Item("c1", "function_call", None, "completed", call_id="call_1"),  # no name
        Item("o1", "function_call_output", None, "completed"),  # no call id
        user("u2", "Hello"),
    ]
    specs, summarized = carry_over(items)
    assert specs == [MessageSpec("user", "Hello", item_id="u2")]
    assert summarized == 0


def test_interrupted_answer_is_carried_as_what_was_heard() -> None:
    items = [answer("a1", "The quick brown fox jumps over the lazy dog", audio_ms=4000, truncated_ms=2000)]
    specs, _ = carry_over(items)
    assert specs == [MessageSpec("assistant", "The quick brown fox", item_id="a1")]


def test_orphan_function_calls_and_outputs_are_dropped() -> None:
    items = [
        fcall("c1", "call_1"),  # no output yet (cut by the expiry)
        user("u1", "hi"),
        fout("o2", "call_2"),  # its call was never seen
        fcall("c3", "call_3"),
        fout("o3", "call_3"),
    ]
    specs, _ = carry_over(items)
    assert [s.item_id for s in specs] == ["u1", "c3", "o3"]


def test_a_call_without_arguments_is_sent_with_an_empty_object() -> None:
    specs, _ = carry_over([fcall("c1", "call_1", arguments=""), fout("o1", "call_1", output="")])
    assert specs == [
        FunctionCallSpec("call_1", "get_time", "{}", item_id="c1"),
        FunctionOutputSpec("call_1", "", item_id="o1"),
    ]


def _dialogue(turns: int, prefix: str = "") -> list[Item]:
    items: list[Item] = []
    for n in range(turns):
        items.append(user(f"{prefix}u{n}", f"question {n}"))
        items.append(answer(f"{prefix}a{n}", f"answer {n}"))
    return items


def test_exactly_recent_items_are_not_summarized() -> None:
    specs, summarized = carry_over(_dialogue(RECENT_ITEMS // 2))
    assert summarized == 0
    assert len(specs) == RECENT_ITEMS


def test_long_conversation_is_summarized_then_recent_items_verbatim() -> None:
    items = _dialogue(20)  # 40 items
    specs, summarized = carry_over(items)
    assert summarized == 40 - RECENT_ITEMS
    assert len(specs) == RECENT_ITEMS + 1
    note, *latest = specs
    assert isinstance(note, MessageSpec)
    assert note.role == "system"
    assert note.item_id is not None and note.item_id.startswith(SUMMARY_ID_PREFIX)
    assert len(note.item_id) <= 32  # the protocol's limit for client item ids
    expected_lines = [f"user: question {n}\nassistant: answer {n}" for n in range(8)]
    assert note.text == (
        "Summary of the earlier part of this conversation (it continues below):\n" + "\n".join(expected_lines)
    )
    assert [s.item_id for s in latest] == [i.id for i in items[-RECENT_ITEMS:]]


def test_summary_ids_are_unique() -> None:
    first, _ = carry_over(_dialogue(20))
    second, _ = carry_over(_dialogue(20))
    assert first[0].item_id != second[0].item_id


def test_summary_uses_heard_text_and_tool_lines() -> None:
    older = [
        user("x_u0", "Start   the\n timer"),
        fcall("x_c0", "call_0", name="timer", arguments='{"s": 5}'),
        fout("x_o0", "call_0", output="started"),
        answer("x_a0", "The quick brown fox jumps over the lazy dog", audio_ms=4000, truncated_ms=2000),
    ]
    specs, summarized = carry_over(older + _dialogue(12), recent=RECENT_ITEMS)
    assert summarized == 4
    assert specs[0].text.splitlines()[1:] == [  # type: ignore[union-attr]
        "user: Start the timer",
        'tool call timer({"s": 5})',
        "tool result: started",
        "assistant: The quick brown fox",
    ]


def test_long_lines_and_long_summaries_are_bounded() -> None:
    items = [user(f"u{n}", "word " * 100) for n in range(60)]
    specs, summarized = carry_over(items)
    assert summarized == 60 - RECENT_ITEMS
    line = specs[0].text.splitlines()[1]  # type: ignore[union-attr]
    assert len(line) <= SUMMARY_LINE_CHARS + len("user: ")
    assert line.endswith("…")
    body = specs[0].text.split("\n", 1)[1]  # type: ignore[union-attr]
    assert len(body) <= SUMMARY_MAX_CHARS + 1
    assert body.startswith("…")


def test_verbatim_part_never_starts_with_an_output_whose_call_was_summarized() -> None:
    items = [*_dialogue(10, "h"), fcall("c1", "call_1"), fout("o1", "call_1"), *_dialogue(12, "t")[:-1]]
    # 20 + 2 + 23 = 45 items; the last 24 start exactly on o1
    specs, summarized = carry_over(items)
    latest = specs[1:]
    assert [s.item_id for s in latest][:1] != ["o1"]
    assert "o1" not in {s.item_id for s in latest}
    assert summarized == 45 - len(latest)
    assert "tool call get_time" in specs[0].text  # type: ignore[union-attr]
    assert "tool result:" in specs[0].text  # type: ignore[union-attr]


def test_parallel_calls_split_by_the_cut_keep_no_orphan_output() -> None:
    """call A | call B, output A, output B: output A must not be sent without call A."""
    head = _dialogue(10, "h")  # 20 items
    tools = [fcall("cA", "call_A"), fcall("cB", "call_B", name="weather"), fout("oA", "call_A"), fout("oB", "call_B")]
    tail = _dialogue(11, "t")[:-1]  # 21 items
    items = head + tools + tail  # 45 items: the cut falls after cA; the last 24 are cB, oA, oB + the tail
    specs, summarized = carry_over(items)
    latest = specs[1:]
    sent_calls = {s.call_id for s in latest if isinstance(s, FunctionCallSpec)}
    sent_outputs = {s.call_id for s in latest if isinstance(s, FunctionOutputSpec)}
    assert sent_outputs <= sent_calls
    assert [s.item_id for s in latest][:3] == ["cB", "oB", "tu0"]
    assert summarized == 22  # the head, cA and oA
    assert summarized + len(latest) == len(items)
    assert "tool call get_time" in specs[0].text  # type: ignore[union-attr]
    assert "tool result:" in specs[0].text  # type: ignore[union-attr]


def test_order_is_preserved_across_the_cut() -> None:
    items = _dialogue(30)
    specs, _ = carry_over(items, recent=6)
    assert [s.item_id for s in specs[1:]] == ["u27", "a27", "u28", "a28", "u29", "a29"]
    lines = specs[0].text.splitlines()[1:]  # type: ignore[union-attr]
    assert lines[:4] == ["user: question 0", "assistant: answer 0", "user: question 1", "assistant: answer 1"]
    assert lines[-1] == "assistant: answer 26"
