"""Notes in the conversation (a handoff, a guardrail trip): kept in place, journaled, never sent; and what a
guardrail keeps of the answer it cut."""

from __future__ import annotations

from voicedesk.session.carryover import carry_over
from voicedesk.session.conversation import Conversation, Item
from voicedesk.session.items import item_from_record, note_item


def _message(item_id: str, role: str, text: str) -> dict[str, object]:
    kind = "input_text" if role == "user" else "output_text"
    return {
        "id": item_id,
        "type": "message",
        "role": role,
        "status": "completed",
        "content": [{"type": kind, "text": text}],
    }


def test_a_note_keeps_its_place_when_the_server_inserts_after_the_item_before_it() -> None:
    conversation = Conversation()
    finished: list[Item] = []
    conversation.on_finished(finished.append)
    conversation.add(_message("u1", "user", "billing please"))
    conversation.add({"id": "c1", "type": "function_call", "status": "completed", "call_id": "k", "name": "t"}, "u1")
    note = note_item("handoff", "Concierge → Billing", from_agent="Concierge", to_agent="Billing")
    conversation.add_note(note)
    # The server knows nothing of the note: the call's output says it follows the call.
    conversation.add({"id": "o1", "type": "function_call_output", "call_id": "k", "output": "{}"}, "c1")
    conversation.add(_message("a1", "assistant", "Billing here."), "o1")
    assert [i.id for i in conversation.items()] == ["u1", "c1", note.id, "o1", "a1"]
    assert note in finished  # journaled as soon as it is made
    record = note.to_record()
    assert record["type"] == "handoff" and record["from_agent"] == "Concierge" and record["text"] == note.text
    back = item_from_record(record)
    assert back is not None and (back.type, back.text, back.note) == (note.type, note.text, note.note)
    specs, _ = carry_over(list(conversation.items()))
    assert note.id not in [s.item_id for s in specs]  # never re-created on the server


def test_a_guardrail_keeps_only_the_heard_words_of_the_answer_it_cut() -> None:
    conversation = Conversation()
    conversation.add({"id": "a", "type": "message", "role": "assistant", "status": "in_progress", "content": []})
    conversation.add_audio("a", 24000 * 4)
    conversation.append_assistant_delta("a", 0, "one two three four five six seven eight")
    conversation.truncate("a", 2000)
    conversation.keep_heard_only("a")
    conversation.append_assistant_delta("a", 0, " nine ten")  # still in flight when it was cut: dropped
    conversation.set_assistant_text("a", 0, "one two three four five six seven eight nine ten")
    item = conversation.get("a")
    assert item is not None
    assert item.transcript == item.heard_text == "one two three four" and item.audio_ms == 2000
