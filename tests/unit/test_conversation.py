"""The client-side conversation: order, streamed text, late transcripts, truncation, finished items."""

from __future__ import annotations

from typing import Any

import pytest

from voicedesk.session.conversation import SUMMARY_ID_PREFIX, Conversation, Item


def user_audio(item_id: str, transcript: str | None = None) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_audio", "transcript": transcript}],
    }


def user_text(item_id: str, text: str) -> dict[str, Any]:
    return {"id": item_id, "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def assistant(item_id: str, status: str = "in_progress", content: list[Any] | None = None) -> dict[str, Any]:
    return {"id": item_id, "type": "message", "role": "assistant", "status": status, "content": content or []}


def call(item_id: str, call_id: str = "call_1", name: str = "get_time", arguments: str = "") -> dict[str, Any]:
    return {"id": item_id, "type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def ids(conv: Conversation) -> list[str]:
    return [item.id for item in conv.items()]


class Finished:
    def __init__(self, conv: Conversation) -> None:
        self.items: list[Item] = []
        conv.on_finished(self.items.append)

    @property
    def ids(self) -> list[str]:
        return [i.id for i in self.items]


# --------------------------------------------------------------------------- order


def test_items_are_appended_in_arrival_order() -> None:
    conv = Conversation()
    conv.add(user_audio("u1"))
    conv.add(assistant("a1"), "u1")
    conv.add(user_audio("u2"), "a1")
    assert ids(conv) == ["u1", "a1", "u2"]
    assert len(conv) == 3
    assert conv.last_id() == "u2"


def test_previous_item_id_inserts_in_the_middle() -> None:
    conv = Conversation()
    conv.add(user_audio("u1"))
    conv.add(assistant("a1"), "u1")
    conv.add(user_text("u0", "earlier"), "u1")  # e.g. an item created after u1 while a1 already exists
    assert ids(conv) == ["u1", "u0", "a1"]


def test_previous_item_id_unknown_or_none_appends() -> None:
    conv = Conversation()
    conv.add(user_audio("u1"))
    conv.add(assistant("a1"), "item_nobody_knows")
    conv.add(user_audio("u2"), None)
    assert ids(conv) == ["u1", "a1", "u2"]


def test_an_item_whose_previous_id_is_itself_is_appended_once() -> None:
    conv = Conversation()
    conv.add(user_audio("u1"), "u1")
    conv.add(user_audio("u2"))
    conv.add(assistant("a1"), "a1")
    assert ids(conv) == ["u1", "u2", "a1"]
    assert [i.id for i in conv.items()] == list(dict.fromkeys(ids(conv)))


def test_re_adding_a_known_id_updates_without_duplicating() -> None:
    conv = Conversation()
    conv.add(user_text("u1", "hi"))
    conv.add(assistant("a1"))
    item = conv.add(user_text("u1", "hello"), "a1")
    assert ids(conv) == ["u1", "a1"]
    assert item is not None and item.text == "hello"


def test_get_and_contains() -> None:
    conv = Conversation()
    conv.add(user_text("u1", "hi"))
    assert "u1" in conv and "x" not in conv
    assert conv.get("x") is None
    item = conv.get("u1")
    assert item is not None
    assert (item.id, item.type, item.role, item.text) == ("u1", "message", "user", "hi")


def test_remove_and_clear() -> None:
    conv = Conversation()
    conv.add(user_text("u1", "hi"))
    conv.add(assistant("a1"))
    assert conv.remove("u1") is True
    assert conv.remove("u1") is False
    assert ids(conv) == ["a1"]
    conv.append_input_transcript("u9", "pending")
    conv.clear()
    assert ids(conv) == [] and conv.last_id() is None
    conv.add(user_audio("u9"))
    assert conv.get("u9").transcript == ""  # type: ignore[union-attr]  # the pending transcript went too


def test_item_types_and_roles() -> None:
    conv = Conversation()
    conv.add(call("c1"))
    conv.add({"id": "o1", "type": "function_call_output", "call_id": "call_1", "output": "{}"})
    conv.add({"id": "m1", "type": "mcp_call"})
    conv.add({"id": "s1", "type": "message", "role": "system", "content": [{"type": "input_text", "text": "x"}]})
    conv.add({"id": "w1", "type": "message", "role": "wizard", "content": []})
    assert [(i.type, i.role) for i in conv.items()] == [
        ("function_call", None),
        ("function_call_output", None),
        ("other", None),
        ("message", "system"),
        ("message", None),
    ]


# --------------------------------------------------------------------------- streaming


def test_assistant_deltas_are_merged_per_content_part() -> None:
    conv = Conversation()
    conv.add(assistant("a1"))
    conv.append_assistant_text("a1", 0, "Hel")
    conv.append_assistant_text("a1", 1, "World")
    item = conv.append_assistant_text("a1", 0, "lo ")
    assert item is not None and item.transcript == "Hello World"
    conv.set_assistant_text("a1", 0, "Hello, ")
    assert conv.get("a1").transcript == "Hello, World"  # type: ignore[union-attr]


def test_parts_are_joined_by_index_not_arrival() -> None:
    conv = Conversation()
    conv.add(assistant("a1"))
    conv.append_assistant_text("a1", 2, "c")
    conv.append_assistant_text("a1", 0, "a")
    conv.append_assistant_text("a1", 1, "b")
    assert conv.get("a1").transcript == "abc"  # type: ignore[union-attr]


def test_deltas_for_unknown_items_are_ignored() -> None:
    conv = Conversation()
    assert conv.append_assistant_text("nope", 0, "x") is None
    conv.set_assistant_text("nope", 0, "x")
    conv.add_audio("nope", 100)
    conv.set_function_arguments("nope", "{}", append=True)
    assert conv.audio_ms("nope") == 0
    assert len(conv) == 0


def test_audio_is_counted_in_ms_at_24khz() -> None:
    conv = Conversation()
    conv.add(assistant("a1"))
    conv.add_audio("a1", 24000)
    conv.add_audio("a1", 12000)
    item = conv.get("a1")
    assert item is not None and item.has_audio and item.audio_ms == 1500
    assert conv.audio_ms("a1") == 1500


def test_item_content_from_the_server_is_merged() -> None:
    conv = Conversation()
    conv.add(assistant("a1"))
    conv.mark_done(
        assistant(
            "a1",
            "completed",
            [{"type": "output_audio", "transcript": "Hi there."}, {"type": "output_text", "text": "Hi!"}],
        )
    )
    item = conv.get("a1")
    assert item is not None
    assert (item.transcript, item.text, item.has_audio, item.status) == ("Hi there.", "Hi!", True, "completed")
    assert item.display_text == "Hi there."


def test_beta_content_names_are_understood() -> None:
    conv = Conversation()
    conv.add(assistant("a1", "completed", [{"type": "audio", "transcript": "Hey."}, {"type": "text", "text": "t"}]))
    item = conv.get("a1")
    assert item is not None and (item.transcript, item.text, item.has_audio) == ("Hey.", "t", True)


def test_function_arguments_stream_then_settle() -> None:
    conv = Conversation()
    conv.add(call("c1"))
    conv.set_function_arguments("c1", '{"tz"', append=True)
    conv.set_function_arguments("c1", ': "UTC"}', append=True)
    assert conv.get("c1").arguments == '{"tz": "UTC"}'  # type: ignore[union-attr]
    conv.set_function_arguments("c1", '{"tz": "CET"}', append=False)
    item = conv.mark_done(call("c1", arguments='{"tz": "CET"}'))
    assert item is not None
    assert (item.name, item.call_id, item.arguments, item.status) == (
        "get_time",
        "call_1",
        '{"tz": "CET"}',
        "completed",
    )


# --------------------------------------------------------------------------- user transcripts


def test_late_user_transcript_lands_on_the_user_item() -> None:
    conv = Conversation()
    finished = Finished(conv)
    conv.add(user_audio("u1"))
    conv.mark_done(user_audio("u1"))
    conv.add(assistant("a1"), "u1")
    conv.append_assistant_text("a1", 0, "Sure, it is noon.")
    conv.append_input_transcript("u1", "What ")
    conv.append_input_transcript("u1", "time is it?")
    assert finished.ids == []  # the user item waits for its final transcript
    conv.set_input_transcript("u1", "What time is it?")
    user, answer = conv.items()
    assert (user.id, user.transcript) == ("u1", "What time is it?")
    assert (answer.id, answer.transcript) == ("a1", "Sure, it is noon.")
    assert finished.ids == ["u1"]
    assert finished.items[0].transcript == "What time is it?"


def test_transcript_before_the_item_is_kept() -> None:
    conv = Conversation()
    finished = Finished(conv)
    assert conv.set_input_transcript("u1", "Early bird.") is None
    item = conv.add(user_audio("u1"))
    assert item is not None and item.transcript == "Early bird."
    conv.mark_done(user_audio("u1"))
    assert finished.ids == ["u1"]  # already final: no need to wait for response.done


def test_transcript_deltas_before_the_item_are_kept_but_not_final() -> None:
    conv = Conversation()
    finished = Finished(conv)
    assert conv.append_input_transcript("u1", "Ear") is None
    conv.append_input_transcript("u1", "ly")
    conv.add(user_audio("u1"))
    conv.mark_done(user_audio("u1"))
    assert conv.get("u1").transcript == "Early"  # type: ignore[union-attr]
    assert finished.ids == []
    conv.set_input_transcript("u1", "Early.")
    assert finished.ids == ["u1"]
    assert finished.items[0].transcript == "Early."


def test_failed_transcription_settles_the_item() -> None:
    conv = Conversation()
    finished = Finished(conv)
    conv.add(user_audio("u1"))
    conv.mark_done(user_audio("u1"))
    conv.input_transcript_failed("u1")
    assert finished.ids == ["u1"]
    assert finished.items[0].transcript == ""
    conv.input_transcript_failed("unknown")  # harmless


def test_without_transcription_user_audio_finishes_at_once() -> None:
    conv = Conversation(transcription_enabled=False)
    finished = Finished(conv)
    conv.add(user_audio("u1"))
    conv.mark_done(user_audio("u1"))
    assert finished.ids == ["u1"]


def test_user_text_does_not_wait_for_a_transcript() -> None:
    conv = Conversation()
    finished = Finished(conv)
    conv.add(user_text("u1", "typed"))
    conv.mark_done(user_text("u1", "typed"))
    assert finished.ids == ["u1"]
    assert finished.items[0].display_text == "typed"


# --------------------------------------------------------------------------- finishing


def test_finished_fires_once_per_item() -> None:
    conv = Conversation()
    finished = Finished(conv)
    conv.add(assistant("a1"))
    conv.mark_done(assistant("a1", "completed"))
    conv.mark_done(assistant("a1", "completed"))
    conv.settle_waiting_transcripts()
    assert finished.ids == ["a1"]


def test_finished_waits_for_the_server() -> None:
    conv = Conversation()
    finished = Finished(conv)
    conv.add(assistant("a1"))
    conv.append_assistant_text("a1", 0, "partial")
    conv.settle_waiting_transcripts()
    assert finished.ids == []  # not done on the server yet
    conv.mark_done(assistant("a1", "completed"))
    assert finished.ids == ["a1"]
    assert finished.items[0].transcript == "partial"


def test_settle_waiting_transcripts_finishes_user_items_that_never_got_one() -> None:
    conv = Conversation()
    finished = Finished(conv)
    conv.add(user_audio("u1"))
    conv.mark_done(user_audio("u1"))
    conv.add(assistant("a1"), "u1")
    conv.mark_done(assistant("a1", "completed"))
    assert finished.ids == ["a1"]
    conv.settle_waiting_transcripts()
    assert finished.ids == ["a1", "u1"]
    conv.set_input_transcript("u1", "too late")  # updates the item, but it was already reported
    assert finished.ids == ["a1", "u1"]
    assert conv.get("u1").transcript == "too late"  # type: ignore[union-attr]


def test_every_listener_is_called() -> None:
    conv = Conversation()
    first, second = Finished(conv), Finished(conv)
    conv.mark_done(assistant("a1", "completed"))
    assert first.ids == second.ids == ["a1"]


def test_an_item_added_complete_is_done_without_item_done() -> None:
    """Beta sends no conversation.item.done: the person's committed audio and items the client created
    arrive complete in conversation.item.created and must still be journaled and carried over."""
    conv = Conversation()
    finished = Finished(conv)
    conv.add(user_text("u1", "typed") | {"status": "completed"})
    conv.add(user_audio("u2"))  # status completed, transcript still to come
    conv.add({"id": "o1", "type": "function_call_output", "call_id": "c", "output": "x", "status": "completed"})
    conv.add(assistant("a1", "in_progress"))
    assert finished.ids == ["u1", "o1"]
    assert [i.id for i in conv.finished_items()] == ["u1", "u2", "o1"]
    conv.set_input_transcript("u2", "spoken")
    assert finished.ids == ["u1", "o1", "u2"]


def test_mark_done_of_an_unknown_item_adds_it() -> None:
    conv = Conversation()
    item = conv.mark_done(assistant("a1", "incomplete"))
    assert item is not None and item.status == "incomplete"
    assert ids(conv) == ["a1"]


def test_finished_items_lists_only_server_done_items_in_order() -> None:
    conv = Conversation()
    conv.add(user_text("u1", "a"))
    conv.add(assistant("a1"))
    conv.add(user_text("u2", "b"))
    conv.mark_done(user_text("u2", "b"))
    conv.mark_done(user_text("u1", "a"))
    assert [i.id for i in conv.finished_items()] == ["u1", "u2"]


def test_status_from_done_is_not_overwritten_by_a_later_echo() -> None:
    conv = Conversation()
    conv.mark_done(assistant("a1", "completed"))
    conv.add(assistant("a1", "in_progress"))
    assert conv.get("a1").status == "completed"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- truncation


def test_truncation_and_heard_text() -> None:
    conv = Conversation()
    conv.add(assistant("a1"))
    conv.append_assistant_text("a1", 0, "The quick brown fox jumps over the lazy dog")  # 43 chars
    conv.add_audio("a1", 24000 * 4)  # 4 s
    item = conv.truncate("a1", 2000)  # half heard
    assert item is not None
    assert (item.truncated_ms, item.status, item.audio_ms) == (2000, "incomplete", 4000)
    assert item.heard_text == "The quick brown fox"
    assert item.display_text == "The quick brown fox jumps over the lazy dog"


@pytest.mark.parametrize(
    ("truncated_ms", "heard"),
    [
        (-500, ""),  # a nonsense negative truncation means nothing was heard
        (0, ""),
        (100, ""),
        (1000, "The quick"),
        (3999, "The quick brown fox jumps over the lazy"),
        (4000, None),
        (9000, None),
    ],
)
def test_heard_text_never_ends_mid_word(truncated_ms: int, heard: str | None) -> None:
    text = "The quick brown fox jumps over the lazy dog"
    item = Item("a1", "message", "assistant", "incomplete", transcript=text, audio_ms=4000, truncated_ms=truncated_ms)
    assert item.heard_text == (text if heard is None else heard)


def test_heard_text_without_truncation_is_everything() -> None:
    item = Item("a1", "message", "assistant", "completed", transcript="All of it.", audio_ms=2000)
    assert item.heard_text == "All of it."


def test_transcript_after_truncation_does_not_overwrite_what_was_heard() -> None:
    conv = Conversation()
    conv.add(assistant("a1"))
    conv.append_assistant_text("a1", 0, "One two three")
    conv.add_audio("a1", 24000)
    conv.truncate("a1", 500)
    conv.set_assistant_text("a1", 0, "One two three four five six")
    conv.mark_done(assistant("a1", "incomplete", [{"type": "output_audio", "transcript": "One two three four five"}]))
    item = conv.get("a1")
    assert item is not None
    assert item.transcript == "One two three"
    assert item.heard_text == "One"


def test_truncating_a_done_item_keeps_its_status() -> None:
    conv = Conversation()
    conv.mark_done(assistant("a1", "completed"))
    item = conv.truncate("a1", 100)
    assert item is not None and item.status == "completed" and item.truncated_ms == 100
    assert conv.truncate("unknown", 100) is None


# --------------------------------------------------------------------------- summary items


def test_summary_items_are_hidden() -> None:
    conv = Conversation()
    finished = Finished(conv)
    summary = {
        "id": SUMMARY_ID_PREFIX + "0011223344556677",
        "type": "message",
        "role": "system",
        "content": [{"type": "input_text", "text": "Summary..."}],
    }
    assert conv.add(summary) is None
    assert conv.mark_done(summary) is None
    assert len(conv) == 0 and summary["id"] not in conv
    assert finished.ids == []


# --------------------------------------------------------------------------- records


def test_records() -> None:
    conv = Conversation()
    conv.add(assistant("a1"))
    conv.append_assistant_text("a1", 0, "Hello there friend")
    conv.add_audio("a1", 48000)
    conv.truncate("a1", 1000)
    conv.add(call("c1", arguments="{}"))
    conv.add({"id": "o1", "type": "function_call_output", "call_id": "call_1", "output": "12:00"})
    a1, c1, o1 = conv.items()
    record = a1.to_record()
    assert record.pop("created_at") == pytest.approx(a1.created_at, abs=0.001)
    assert record == {
        "id": "a1",
        "type": "message",
        "role": "assistant",
        "status": "incomplete",
        "text": "",
        "transcript": "Hello there friend",
        "has_audio": True,
        "audio_ms": 2000,
        "truncated_ms": 1000,
        "heard_transcript": "Hello",
    }
    c1_record = c1.to_record()
    del c1_record["created_at"]
    assert c1_record == {
        "id": "c1",
        "type": "function_call",
        "role": None,
        "status": "in_progress",
        "name": "get_time",
        "call_id": "call_1",
        "arguments": "{}",
    }
    o1_record = o1.to_record()
    del o1_record["created_at"]
    assert o1_record == {
        "id": "o1",
        "type": "function_call_output",
        "role": None,
        "status": "in_progress",
        "call_id": "call_1",
        "output": "12:00",
        "name": "get_time",  # taken from the matching call: the output item does not carry it
    }


def test_snapshots_are_frozen_copies() -> None:
    conv = Conversation()
    conv.add(assistant("a1"))
    before = conv.get("a1")
    conv.append_assistant_text("a1", 0, "more")
    assert before is not None and before.transcript == ""
    with pytest.raises(AttributeError):
        before.transcript = "x"  # type: ignore[misc]
