"""The response state machine and the input buffer's 100 ms rule, driven through their real objects."""

from __future__ import annotations

import pytest

from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.session.input_buffer import MIN_COMMIT_MS, InputBuffer
from voicedesk.session.response_state import ResponsePhase, ResponseState


def _phase(state: ResponseState) -> ResponsePhase:
    """Read afresh: mypy would keep ``state.phase`` narrowed across the calls that change it."""
    return state.phase


def _active(response_id: str = "resp_1") -> ResponseState:
    state = ResponseState()
    assert state.request()
    state.created(response_id)
    return state


def test_a_request_when_idle_sends_one_create_and_waits_for_it() -> None:
    state = ResponseState()
    assert (state.in_progress, state.unanswered) == (False, False)
    assert state.request() is True
    assert _phase(state) == "create_sent" and state.in_progress
    # Something new (a typed message, tool outputs) after the create went out: the server answers the
    # conversation as it was when the create arrived, so this gets its own create once that response is done.
    assert state.request() is False
    assert _phase(state) == "create_sent" and state.deferred_create
    state.created("resp_1")
    assert state.done("resp_1") is True and _phase(state) == "create_sent" and not state.deferred_create


def test_created_then_done_returns_to_idle() -> None:
    state = _active()
    assert (state.phase, state.response_id) == ("active", "resp_1")
    assert state.done("resp_1") is False
    assert (state.phase, state.response_id, state.unanswered) == ("idle", None, False)


@pytest.mark.parametrize("phase", ["idle", "create_sent"])
def test_cancel_is_only_sent_while_a_response_is_active(phase: str) -> None:
    state = ResponseState()
    if phase == "create_sent":
        state.request()
    assert state.cancel() is False
    assert _phase(state) == phase


def test_cancel_once_then_wait_for_done() -> None:
    state = _active()
    assert state.cancel() is True
    assert _phase(state) == "cancelling" and state.in_progress
    assert state.cancel() is False, "the cancel is on its way: never a second one"
    assert state.done("resp_1") is False
    assert _phase(state) == "idle"


@pytest.mark.parametrize("cancel_first", [False, True])
def test_a_request_while_a_response_runs_is_deferred_until_its_done(cancel_first: bool) -> None:
    state = _active()
    if cancel_first:
        state.cancel()
    assert state.request() is False, "response.create now would be refused"
    assert state.deferred_create and state.unanswered
    assert state.done("resp_1") is True, "now send the deferred response.create"
    assert (state.phase, state.deferred_create) == ("create_sent", False)
    state.created("resp_2")
    assert state.done("resp_2") is False
    assert _phase(state) == "idle"


def test_the_done_of_another_response_does_not_end_the_current_one() -> None:
    state = _active("resp_2")
    state.request()
    assert state.done("resp_1") is False
    assert (state.phase, state.response_id, state.deferred_create) == ("active", "resp_2", True)


def test_a_refused_create_returns_to_idle_and_a_running_response_is_untouched() -> None:
    state = ResponseState()
    state.request()
    state.create_refused()
    assert _phase(state) == "idle"
    running = _active()
    running.create_refused()
    assert _phase(running) == "active"


def test_the_server_answering_by_itself_counts_as_asked() -> None:
    state = ResponseState()
    state.expect_server_response()
    assert _phase(state) == "create_sent"
    assert state.request() is False
    running = _active()
    running.expect_server_response()
    assert _phase(running) == "active"


def test_reset_forgets_the_old_session() -> None:
    state = _active()
    state.cancel()
    state.request()
    state.reset()
    assert (state.phase, state.response_id, state.deferred_create) == ("idle", None, False)


# --------------------------------------------------------------------------- the input buffer


def test_under_100_ms_is_never_committed() -> None:
    buffer = InputBuffer()
    buffer.appended(MIN_COMMIT_MS * SAMPLE_RATE // 1000 - 1)
    assert buffer.appended_ms == MIN_COMMIT_MS - 1
    assert buffer.take_for_commit() is None
    assert buffer.appended_ms == MIN_COMMIT_MS - 1, "a refused commit keeps what was appended"
    buffer.appended(1)
    assert buffer.take_for_commit() == MIN_COMMIT_MS
    assert buffer.appended_ms == 0


def test_cleared_drops_what_was_appended() -> None:
    buffer = InputBuffer()
    buffer.appended(SAMPLE_RATE)
    buffer.cleared()
    assert buffer.take_for_commit() is None


def test_spoken_length_prefers_the_vad_marks_over_the_committed_length() -> None:
    buffer = InputBuffer()
    buffer.appended(SAMPLE_RATE)  # 1000 ms
    assert buffer.take_for_commit() == 1000
    buffer.committed("item_manual")
    assert buffer.take_spoken_ms("item_manual") == 1000
    assert buffer.take_spoken_ms("item_manual") is None
    buffer.speech_started("item_vad", 1200)
    buffer.speech_stopped("item_vad", 2050)
    buffer.committed("item_vad")
    assert buffer.take_spoken_ms("item_vad") == 850
