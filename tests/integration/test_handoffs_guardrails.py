"""Assistants handing off to each other, and output guardrails cutting an answer, over loopback websockets.

The local server's responder calls ``transfer_to_billing`` when asked about billing (only when the session
offers that tool) and says a card number when asked for one. Every client event is checked against the
``openai`` models by the harness (tests/contract.py), the session.update after a handoff included.

No assertion here depends on how fast the machine is: where playback matters, the sink's clock is driven by
the test (``NullSink(now=...)``), so the played-sample counts are the same on an idle and a loaded machine.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from typing import Any

from tests.integration.conftest import HarnessFactory
from voicedesk.audio.base import SAMPLE_RATE, samples_to_ms
from voicedesk.audio.null import NullSink
from voicedesk.local.responder import CARD_ANSWER, GUARDRAIL_APOLOGY
from voicedesk.realtime.session_config import SessionSettings, TurnDetection
from voicedesk.session import events as se
from voicedesk.session.guardrails import OutputGuardrails
from voicedesk.session.handoffs import Assistant

CARD = r"\b(?:\d[ -]?){13,16}\b"
PUSH_TO_TALK = TurnDetection(type="none")


def concierge(**changes: Any) -> Assistant:
    settings = SessionSettings(
        instructions="You greet the caller and route billing questions to Billing.",
        voice="marin",
        turn_detection=PUSH_TO_TALK,
    )
    return Assistant("Concierge", settings, tools=frozenset({"get_time"}), handoffs=("Billing",), **changes)


def billing(guardrails: OutputGuardrails | None = None) -> Assistant:
    settings = SessionSettings(instructions="You are the billing specialist.", turn_detection=PUSH_TO_TALK)
    return Assistant(
        "Billing",
        settings,
        tools=frozenset({"calculator"}),
        handoffs=("Concierge",),
        handoff_description="Billing questions: payments, invoices, cards.",
        guardrails=guardrails or OutputGuardrails(blocked_patterns=(CARD,)),
    )


def tool_names(update: dict[str, Any]) -> list[str]:
    return [str(tool["name"]) for tool in update["session"]["tools"]]


async def test_a_handoff_updates_the_session_and_the_new_assistant_answers(make_harness: HarnessFactory) -> None:
    h = await make_harness(assistants=[concierge(), billing()])
    first = await h.wait_sent("session.update")
    assert first["session"]["instructions"].startswith("You greet the caller")
    assert first["session"]["audio"]["output"]["voice"] == "marin"
    assert tool_names(first) == ["get_time", "transfer_to_billing"]
    transfer = first["session"]["tools"][1]
    assert transfer["description"] == (
        "Handoff to the Billing agent to handle the request. Billing questions: payments, invoices, cards."
    )
    assert transfer["parameters"] == {"type": "object", "properties": {}, "additionalProperties": False}

    h.controller.send_text("Hello!")  # the concierge speaks first: its voice is the session's from then on
    assert await h.controller.wait_idle(15)
    h.controller.send_text("Can you help me with a billing question about my invoice?")
    handoff = await h.wait_for(se.Handoff)
    assert (handoff.from_agent, handoff.to_agent, handoff.requested_by) == ("Concierge", "Billing", "model")
    assert await h.controller.wait_idle(15)

    # session.update with the target's instructions and tools, then the call's output, then one response.create.
    sent = h.sent
    call_output = next(i for i, e in enumerate(sent) if e.get("item", {}).get("type") == "function_call_output")
    update = max(i for i, e in enumerate(sent[:call_output]) if e["type"] == "session.update")
    assert sent[update]["session"]["instructions"] == "You are the billing specialist."
    assert tool_names(sent[update]) == ["calculator", "transfer_to_concierge"]
    assert "voice" not in sent[update]["session"]["audio"]["output"]  # it has spoken: the voice stays
    assert "marin" in handoff.voice_note and h.controller.settings.voice == "marin"
    assert sent[call_output]["item"]["output"] == '{"assistant": "Billing"}'
    assert [e["type"] for e in sent[call_output + 1 :]].count("response.create") == 1
    assert h.server.sessions[0].config["instructions"] == "You are the billing specialist."

    # The new assistant answers the request, in its own name.
    answer = h.controller.history()[-1]
    assert answer.role == "assistant" and answer.display_text.startswith("Billing here.")
    note = next(i for i in h.controller.history() if i.type == "handoff")
    assert note.text == "Concierge → Billing" and note.note == {
        "from_agent": "Concierge", "to_agent": "Billing", "requested_by": "model", "voice_note": handoff.voice_note,
    }  # fmt: skip
    assert h.controller.assistant == "Billing"

    # Handoffs chain and return.
    h.controller.send_text("Thanks. Now back to the concierge, please.")
    back = await h.wait_for(se.Handoff, start=h.events.index(handoff) + 1)
    assert (back.from_agent, back.to_agent) == ("Billing", "Concierge")
    assert await h.controller.wait_idle(15)
    assert tool_names(_last_update(h.sent)) == ["get_time", "transfer_to_billing"]
    h.controller.send_text("What are your instructions?")
    assert await h.controller.wait_idle(15)
    assert "route billing questions to Billing" in h.controller.history()[-1].display_text
    assert not [e for e in h.received if e["type"] == "error"]


def _last_update(sent: list[dict[str, Any]]) -> dict[str, Any]:
    return next(e for e in reversed(sent) if e["type"] == "session.update")


async def test_the_person_picks_another_assistant_while_connected(make_harness: HarnessFactory) -> None:
    h = await make_harness(assistants=[concierge(), billing()])
    await h.wait_sent("session.update")
    before = len(h.sent)
    event = h.controller.switch_assistant("Billing")
    assert (event.from_agent, event.to_agent, event.requested_by, event.voice_note) == (
        "Concierge", "Billing", "person", "",
    )  # fmt: skip

    def update_sent() -> dict[str, Any] | None:
        return next((e for e in h.sent[before:] if e["type"] == "session.update"), None)

    update = await h.log.wait_until(update_sent, 10, "the session.update")
    # Nothing spoken yet: Billing's own voice applies.
    assert update["session"]["audio"]["output"]["voice"] == "alloy"
    assert tool_names(update) == ["calculator", "transfer_to_concierge"]
    assert "response.create" not in [e["type"] for e in h.sent[before:]]


class PlayedInStep:
    """Drives the sink's clock from the session's events: each audio chunk of the watched answer plays for
    half its length (the server sends faster than real time, as the service does, so a backlog builds up);
    records the played position when the blocked pattern first appears in the transcript."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sink = NullSink(now=lambda: self.now)
        self.watched: str | None = None
        self.appeared_at: int | None = None
        self.tripped_at: int | None = None
        self.tripped_buffered: int | None = None
        self.played_before_recovery: int | None = None

    def on_event(self, event: se.SessionEvent) -> None:
        match event:
            case se.AudioChunk(item_id=item_id, pcm=pcm):
                if self.watched is None:
                    self.watched = item_id
                if item_id == self.watched:
                    self.now += pcm.size / SAMPLE_RATE / 2
                else:
                    if self.played_before_recovery is None:
                        self.played_before_recovery = self.sink.played_samples
                    self.now += 60.0  # the recovery plays out
            case se.TranscriptDelta(role="assistant", text=text) if self.appeared_at is None:
                if re.search(CARD, text):
                    self.appeared_at = self.sink.played_samples
            case se.GuardrailTripped():
                self.tripped_at = self.sink.played_samples
                self.tripped_buffered = self.sink.buffered_samples
            case _:
                pass


async def test_a_guardrail_cuts_an_answer_that_says_a_card_number(make_harness: HarnessFactory) -> None:
    clock = PlayedInStep()
    h = await make_harness(assistants=[billing(OutputGuardrails(blocked_patterns=(CARD,)))], sink=clock.sink)
    h.controller.subscribe(clock.on_event)
    h.controller.send_text("What card number do you have on file?")
    tripped = await h.wait_for(se.GuardrailTripped)
    assert await h.controller.wait_idle(15)

    assert [(r.guardrail, r.tripped) for r in tripped.guardrail_results] == [("blocked_patterns", True)]
    assert "blocked pattern" in tripped.reason and re.search(CARD, tripped.message)
    assert tripped.item_id == clock.watched
    # The heard audio stopped within 100 ms of the pattern appearing in the transcript: counted in samples
    # played (patterns are searched on the loop as the text arrives, whatever debounce_chars says (100 here),
    # and the flush fades out over 5 ms).
    assert clock.appeared_at is not None and clock.tripped_at is not None
    assert clock.tripped_at - clock.appeared_at <= SAMPLE_RATE // 10
    assert clock.tripped_buffered == 0  # what was queued behind it was dropped at once
    assert clock.played_before_recovery == clock.tripped_at  # not a sample of it more before the recovery
    # The truncation is exact: what was heard, to the millisecond, accepted by the server.
    interrupted = h.of(se.AudioInterrupted)[0]
    assert (interrupted.item_id, interrupted.reason) == (tripped.item_id, "guardrail")
    truncate = await h.wait_sent("conversation.item.truncate")
    assert truncate["audio_end_ms"] == interrupted.audio_end_ms > 0
    assert interrupted.audio_end_ms == samples_to_ms(clock.tripped_at - 120)  # before the 5 ms fade
    assert h.sent_types().index("response.cancel") < h.sent_types().index("conversation.item.truncate")
    assert h.server.sessions[0].truncations == [(tripped.item_id, interrupted.audio_end_ms)]
    assert h.server.sessions[0].responses[0]["status"] == "cancelled"
    heard_by_server = next(i for i in h.server.sessions[0].items if i["id"] == tripped.item_id)
    assert "4111" not in heard_by_server["content"][0]["transcript"]  # the number itself was never heard
    cut = h.controller.conversation.get(tripped.item_id)
    assert cut is not None and cut.transcript and "4111" not in cut.transcript  # nor kept (journal, window)
    assert cut.to_record()["heard_transcript"] == cut.transcript and cut.audio_ms == interrupted.audio_end_ms
    # The model is told, as a system message, and recovers politely with one more answer.
    system = next(e for e in h.sent if e["type"] == "conversation.item.create" and e["item"]["role"] == "system")
    assert "output guardrail" in system["item"]["content"][0]["text"]
    history = h.controller.history()
    note = next(i for i in history if i.type == "guardrail_tripped")
    assert note.text.startswith("Guardrail: it matched the blocked pattern") and note.note is not None
    assert note.note["item_id"] == tripped.item_id and note.note["guardrails"] == ["blocked_patterns"]
    assert history[-1].role == "assistant" and history[-1].display_text == GUARDRAIL_APOLOGY
    assert not [e for e in h.received if e["type"] == "error"]


async def test_a_clean_answer_is_left_alone_and_the_next_one_is_cut(make_harness: HarnessFactory) -> None:
    h = await make_harness(assistants=[billing()])
    h.controller.send_text("What is the time?")
    assert await h.controller.wait_idle(15)
    assert not h.of(se.GuardrailTripped)
    h.controller.send_text("And what card number do you have on file?")
    tripped = await h.wait_for(se.GuardrailTripped)
    assert await h.controller.wait_idle(15)
    assert tripped.item_id in [i.id for i in h.controller.history()]
    assert tripped.message.endswith("4111 1111 1111 1111,")  # cut as the pattern's last word arrived
    assert h.controller.history()[-1].display_text == GUARDRAIL_APOLOGY


GIVEN: list[str] = []


def trip_on_payment(text: str) -> tuple[bool, str]:
    GIVEN.append(text)
    return "payment" in text, "it talks about a payment"


def never_trips(text: str) -> bool:
    GIVEN.append(text)
    return False


def broken_hook(text: str) -> tuple[bool, str]:
    raise ValueError("the model file is missing")


async def test_a_hook_trips_and_a_broken_or_hung_hook_is_one_line_and_trips_nothing(
    make_harness: HarnessFactory,
) -> None:
    tripping = OutputGuardrails(hook=trip_on_payment, hook_name="tests:trip_on_payment", debounce_chars=20)
    h = await make_harness(assistants=[billing(tripping)])
    h.controller.send_text("What card number do you have on file?")
    tripped = await h.wait_for(se.GuardrailTripped)
    assert [(r.guardrail, r.reason) for r in tripped.guardrail_results] == [
        ("tests:trip_on_payment", "it talks about a payment")
    ]
    assert await h.controller.wait_idle(15)
    assert "payment" in tripped.message and GIVEN.index(tripped.message) > 0  # checked before, as it grew

    # The hook is given the text each time it grew by debounce_chars, and the whole answer at its end.
    GIVEN.clear()
    h = await make_harness(assistants=[billing(OutputGuardrails(hook=never_trips, hook_name="t:n", debounce_chars=30))])
    h.controller.send_text("What card number do you have on file?")
    assert await h.controller.wait_idle(15)
    await h.log.wait_until(lambda: GIVEN[-1] == CARD_ANSWER or None, 5, "the whole answer checked")
    lengths = [len(text) for text in GIVEN]
    assert all(later - earlier >= 30 for earlier, later in itertools.pairwise(lengths[:-1])), lengths
    assert lengths[-1] > lengths[-2], "the end of the answer, however little it grew since"
    assert not h.of(se.GuardrailTripped)

    release = threading.Event()
    calls: list[str] = []

    def hung_hook(text: str) -> bool:
        calls.append(text)
        release.wait(30)
        return True

    try:
        for hook, name, what in (
            (broken_hook, "tests:broken", "failed (ValueError: the model file is missing)"),
            (hung_hook, "tests:hung", "did not answer within 0.2 s"),
        ):
            guard = OutputGuardrails(hook=hook, hook_name=name, debounce_chars=10, hook_timeout_s=0.2)
            h = await make_harness(assistants=[billing(guard)])
            h.controller.send_text("What card number do you have on file?")
            problem = await h.wait_for(se.ErrorOccurred, lambda e: e.code == "guardrail_hook")
            assert await h.controller.wait_idle(15)
            assert problem.message == f"The guardrail hook {name} {what}: it stopped nothing."
            assert len([e for e in h.of(se.ErrorOccurred) if e.code == "guardrail_hook"]) == 1
            assert not h.of(se.GuardrailTripped)
            assert h.controller.history()[-1].display_text == CARD_ANSWER  # the answer went on, whole
        assert len(calls) == 1  # a hung hook is not called again while it hangs
    finally:
        release.set()


async def test_max_answer_seconds_cuts_at_exactly_what_was_heard(make_harness: HarnessFactory) -> None:
    now = [0.0]
    sink = NullSink(now=lambda: now[0] if now[0] < 1e6 else time.monotonic() + 1e6)
    h = await make_harness(assistants=[billing(OutputGuardrails(max_answer_seconds=1.0))], sink=sink)
    h.controller.send_text("talk for 5 seconds")
    await h.wait_for(se.AgentEnd)  # the whole answer is queued, none of it played yet
    now[0] += 1.0  # one second plays; the session's next tick sees it
    tripped = await h.wait_for(se.GuardrailTripped)
    assert [r.guardrail for r in tripped.guardrail_results] == ["max_answer_seconds"]
    assert "more than 1 s" in tripped.reason
    interrupted = h.of(se.AudioInterrupted)[0]
    assert interrupted.audio_end_ms == 1000 and interrupted.reason == "guardrail"
    truncate = await h.wait_sent("conversation.item.truncate")
    assert truncate["audio_end_ms"] == 1000
    now[0] = 2e6  # from here on, real time: the recovery answer plays, and is too long as well
    assert await h.controller.wait_idle(15)
    assert h.server.sessions[0].truncations[0] == (tripped.item_id, 1000)
    # The recovery was cut too, and not asked for again: the person speaks next.
    assert len(h.of(se.GuardrailTripped)) == 2 and h.sent_types().count("response.create") == 2
