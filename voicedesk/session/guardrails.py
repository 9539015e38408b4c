"""Output guardrails: checks over the assistant's streamed transcript that cut an answer when one trips.

Built in: ``blocked_patterns`` (regular expressions) and ``max_answer_seconds`` (how much of one answer may be
heard); plus a Python hook ``module:function`` that takes the text and returns ``(tripped, reason)`` (or just
``tripped``). As in the Agents SDK's realtime sessions, the hook runs each time an answer's text has grown by
``debounce_chars`` (100 by default, the SDK's ``debounce_text_length``) and once more when its transcript is
complete. The patterns are cheap enough to run on every delta, each check seeing only the new text and the
``OVERLAP_CHARS`` before it: a pattern stops the audio as the words arrive, not up to 100 characters later
(when the transcript streams in step with the audio, 100 characters are several seconds of speech).

When one trips, the answer is cut the way an interruption cuts it (voicedesk.session.answers): playback
stops at once, ``response.cancel``, the item truncated at what was heard (deleted when nothing was), then
``guardrail_tripped`` with the results, a note in the conversation (journaled), and a system message that
lets the model recover politely, with one ``response.create`` (not again if the recovery trips as well).

Nothing here holds the event loop for long: a pattern search looks at ``MAX_WINDOW_CHARS`` at most (tens of
microseconds: benchmarks/bench_guardrails.py); the hook runs on its own thread with a time limit, one call
at a time. A hook that raises or hangs is reported in one line
and trips nothing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from voicedesk.session import events as se
from voicedesk.session.answers import Answers
from voicedesk.session.intents import CutHeardItem, SendSystemMessage
from voicedesk.session.items import Item, note_item
from voicedesk.session.parts import SessionParts

log = logging.getLogger(__name__)

DEFAULT_DEBOUNCE_CHARS = 100
MAX_DEBOUNCE_CHARS = 1000
OVERLAP_CHARS = 200
"""A blocked pattern's match may reach this far back into text already checked."""
MAX_WINDOW_CHARS = 1000 + OVERLAP_CHARS
"""The most text one pattern search looks at (a longer stretch of new text is searched in steps)."""
DEFAULT_HOOK_TIMEOUT_S = 1.0

Hook = Callable[[str], object]
Spawn = Callable[[Coroutine[Any, Any, None], str], None]


class GuardrailError(ValueError):
    """A guardrail setting that cannot work; the message names the field."""


@dataclass(frozen=True, slots=True)
class OutputGuardrails:
    blocked_patterns: tuple[str, ...] = ()
    debounce_chars: int = DEFAULT_DEBOUNCE_CHARS
    max_answer_seconds: float | None = None
    hook: Hook | None = None
    hook_name: str = ""
    """``module:function``, for the results and messages."""
    hook_timeout_s: float = DEFAULT_HOOK_TIMEOUT_S

    @property
    def active(self) -> bool:
        return bool(self.blocked_patterns) or self.max_answer_seconds is not None or self.hook is not None

    def compiled(self) -> list[re.Pattern[str]]:
        """The patterns, compiled; GuardrailError naming the field for one that is not a regular expression."""
        patterns = []
        for pattern in self.blocked_patterns:
            try:
                patterns.append(re.compile(pattern))
            except re.error as exc:
                raise GuardrailError(f"blocked_patterns: {pattern!r} is not a regular expression ({exc})") from None
        return patterns

    def validate(self) -> None:
        self.compiled()
        if not 1 <= self.debounce_chars <= MAX_DEBOUNCE_CHARS:
            raise GuardrailError(f"debounce_chars must be between 1 and {MAX_DEBOUNCE_CHARS}")
        if self.max_answer_seconds is not None and not self.max_answer_seconds > 0:
            raise GuardrailError("max_answer_seconds must be above zero")
        if not self.hook_timeout_s > 0:
            raise GuardrailError("hook_timeout_s must be above zero")


def hook_verdict(value: object) -> tuple[bool, str]:
    """What a hook returned, as (tripped, reason); TypeError for anything else."""
    if isinstance(value, bool):
        return value, ""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], bool):
        return value[0], str(value[1])
    raise TypeError(f"it returned {value!r}, not (tripped, reason) or a bool")


@dataclass(slots=True)
class _Watch:
    searched: int = 0
    """How much of the item's text the patterns have seen."""
    hooked: int = 0
    """How much of it the hook was last given."""


class GuardrailRunner:
    def __init__(self, parts: SessionParts, answers: Answers, *, spawn: Spawn) -> None:
        self._parts = parts
        self._answers = answers
        self._spawn = spawn
        self.config = OutputGuardrails()
        self._patterns: list[re.Pattern[str]] = []
        self._watches: dict[str, _Watch] = {}
        self._tripped: set[str] = set()
        self._hook_running = False
        self._reported: set[str] = set()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    def use(self, config: OutputGuardrails) -> None:
        """The current assistant's guardrails (validated by whoever made them)."""
        self.config = config
        self._patterns = config.compiled()

    def reset(self) -> None:
        """A new server session: the old one's answers are over."""
        self._watches.clear()

    # ------------------------------------------------------------------ checks

    def on_text(self, item_id: str, text: str, *, final: bool = False) -> None:
        """The answer's text so far (``final``: its transcript is complete)."""
        config = self.config
        if not (self._patterns or config.hook is not None) or item_id in self._tripped:
            return
        watch = self._watches.setdefault(item_id, _Watch())
        results = self._search(watch, text)
        if results:
            self.trip(item_id, text, results)
            return
        grown = len(text) - watch.hooked
        if config.hook is None or grown <= 0 or (grown < config.debounce_chars and not final):
            return
        if not self._hook_running:  # one call at a time: a slow hook is given the text as it is when it is free
            self._hook_running = True
            watch.hooked = len(text)
            self._spawn(self._ask_hook(config, item_id, text), "guardrail-hook")

    def _search(self, watch: _Watch, text: str) -> tuple[se.GuardrailResult, ...]:
        """The patterns over the text added since the last search (and the overlap before it)."""
        step = MAX_WINDOW_CHARS - OVERLAP_CHARS
        found: dict[str, se.GuardrailResult] = {}
        while self._patterns and watch.searched < len(text):
            start = max(0, watch.searched - OVERLAP_CHARS)
            watch.searched = min(len(text), watch.searched + step)
            window = text[start : watch.searched]
            for pattern in self._patterns:
                if pattern.pattern not in found and pattern.search(window):
                    reason = f"it matched the blocked pattern {pattern.pattern!r}"
                    found[pattern.pattern] = se.GuardrailResult("blocked_patterns", reason)
        return tuple(found.values())

    def tick(self) -> None:
        """Periodic: ``max_answer_seconds`` against what has been heard of the answer playing now."""
        limit = self.config.max_answer_seconds
        heard = self._parts.playback.heard_now() if limit is not None else None
        if limit is None or heard is None or heard.item_id in self._tripped:
            return
        if heard.audio_end_ms >= limit * 1000:
            item = self._parts.conversation.get(heard.item_id)
            reason = f"the answer went on for more than {limit:g} s"
            self.trip(
                heard.item_id, item.display_text if item else "", (se.GuardrailResult("max_answer_seconds", reason),)
            )

    async def _ask_hook(self, config: OutputGuardrails, item_id: str, text: str) -> None:
        assert config.hook is not None
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="guardrail-hook")
        loop = asyncio.get_running_loop()
        call = self._executor.submit(config.hook, text)
        # Free for the next check only when the thread is: a hung hook never piles up calls.
        call.add_done_callback(lambda _done: loop.call_soon_threadsafe(self._hook_done))
        try:
            tripped, reason = hook_verdict(await asyncio.wait_for(asyncio.wrap_future(call), config.hook_timeout_s))
        except TimeoutError:
            self._problem(config, f"did not answer within {config.hook_timeout_s:g} s")
            return
        except Exception as exc:
            self._problem(config, f"failed ({type(exc).__name__}: {exc})")
            return
        if tripped and item_id not in self._tripped:
            result = se.GuardrailResult(config.hook_name, reason or f"{config.hook_name} said no")
            self.trip(item_id, text, (result,))
            return
        item = self._parts.conversation.get(item_id)
        if item is not None and len(item.display_text) > len(text):  # it grew (or ended) while the hook ran
            self.on_text(item_id, item.display_text, final=item.status != "in_progress")

    def _hook_done(self) -> None:
        self._hook_running = False

    def _problem(self, config: OutputGuardrails, what: str) -> None:
        """One line per hook and kind of failure; the answer goes on."""
        key = f"{config.hook_name} {what.split(' ', 1)[0]}"
        if key in self._reported:
            return
        self._reported.add(key)
        message = f"The guardrail hook {config.hook_name} {what}: it stopped nothing."
        log.warning("%s", message)
        self._parts.emit(
            se.ErrorOccurred(message, "guardrail_hook", hint="Fix the hook, or remove it from the profile.")
        )

    # ------------------------------------------------------------------ tripping

    def trip(self, item_id: str, text: str, results: tuple[se.GuardrailResult, ...]) -> None:
        """Cut the answer (as an interruption does), say why, and let the model recover."""
        parts = self._parts
        self._tripped.add(item_id)
        playing = parts.playback.current()
        if playing is None or playing.item_id == item_id or parts.playback.span_of(item_id) is None:
            self._answers.interrupt("guardrail")  # not another answer a late verdict would cut instead
        if parts.playback.span_of(item_id) is None:  # none of its audio arrived: nothing heard, nothing kept
            parts.playback.refuse(item_id)
            if item_id in parts.conversation:
                parts.wire.send(CutHeardItem(item_id, 0, 0))
        parts.conversation.keep_heard_only(item_id)
        recovering = _since_last_trip(parts.conversation.items())
        event = se.GuardrailTripped(results, text, item_id)
        parts.emit(event)
        names = [result.guardrail for result in results]
        note = note_item("guardrail_tripped", f"Guardrail: {event.reason}", guardrails=names, reason=event.reason,
                         item_id=item_id)  # fmt: skip
        parts.conversation.add_note(note)
        parts.emit(se.HistoryUpdated(parts.conversation.items()))  # the note, and the answer as heard
        parts.wire.send(
            SendSystemMessage(
                f"Your last answer was stopped by an output guardrail ({event.reason}); the person did not hear the "
                "rest of it. Do not repeat it. Apologise briefly and carry on without it."
            )
        )
        if not recovering:  # a recovery that trips as well is not asked for again: the person speaks next
            self._answers.request()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def _since_last_trip(items: tuple[Item, ...]) -> bool:
    """Nothing the person said since the last guardrail trip: an answer cut now was the recovery."""
    for item in reversed(items):
        if item.type == "guardrail_tripped":
            return True
        if item.type == "message" and item.role == "user":
            return False
    return False
