"""What the local "model" says: deterministic, plain, and grounded in the real conversation.

The answers are chosen so tests can prove things about the client: "what was my first message" quotes the
first user item of *this* session (did the client carry the conversation over after a reconnect?), "talk
for N seconds" produces an answer of a known length (long-answer and barge-in tests), and recognisable
requests call the session's tools (calculator, clock, stop_conversation, or any tool by name). A request
that names another assistant ("billing") calls its ``transfer_to_billing`` tool when the session has one
(the handoff tests); the assistant taken over then answers the same request in its own name. Asked for a
card number, it says one (the guardrail tests), and after a system message about a guardrail it apologises.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from voicedesk.local.wire import JsonDict

TurnKind = Literal["user", "assistant", "system", "function_call", "function_call_output"]


@dataclass(frozen=True, slots=True)
class Turn:
    """One conversation item as the responder needs it."""

    kind: TurnKind
    text: str = ""  # message text (the heard transcript for user audio), tool output, or call arguments
    audio: bool = False  # a user turn that arrived as audio
    name: str = ""  # function name, for function_call turns
    images: tuple[str, ...] = ()  # what the model sees of a user message's images


@dataclass(frozen=True, slots=True)
class Speak:
    text: str
    seconds: float | None = None  # exact audio length, else ~0.3 s per word


@dataclass(frozen=True, slots=True)
class CallTool:
    name: str
    arguments: str  # JSON text, as streamed in function_call_arguments deltas


Output = Speak | CallTool

_NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "  # noqa: SIM905
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_OPERATOR_WORDS = [
    (r"\bmultiplied by\b", "*"), (r"\bdivided by\b", "/"), (r"\btimes\b", "*"), (r"\bplus\b", "+"),
    (r"\bminus\b", "-"), (r"\bover\b", "/"), (r"(?<=\d)\s*x\s*(?=\d)", "*"),
]  # fmt: skip
_EXPRESSION = re.compile(r"\(*\s*-?\d+(?:\.\d+)?(?:\s*\)*\s*[-+*/]\s*\(*\s*-?\d+(?:\.\d+)?\s*\)*)+")
_ZONES = {
    "paris": "Europe/Paris", "london": "Europe/London", "berlin": "Europe/Berlin",
    "madrid": "Europe/Madrid", "rome": "Europe/Rome", "tokyo": "Asia/Tokyo",
    "new york": "America/New_York", "los angeles": "America/Los_Angeles", "sydney": "Australia/Sydney",
    "utc": "UTC", "gmt": "UTC",
}  # fmt: skip
_ZONE_NAME = re.compile(r"\b[A-Z][A-Za-z_]+/[A-Z][A-Za-z_]+\b")
_GOODBYE = re.compile(r"\b(good ?bye|bye|see you|that'?s all)\b")
HANDOFF_PREFIX = "transfer_to_"
CARD_ANSWER = (
    "The card number on file is 4111 1111 1111 1111, and the next payment of forty euros is due on the first "
    "of next month."
)
GUARDRAIL_APOLOGY = "Sorry, I cannot say that here. Is there anything else I can help you with?"
_FILLER = (
    "This is sentence number {n} of a long answer from the local test server, "
    "and it keeps going so the audio lasts as long as you asked."
)


def respond(turns: Sequence[Turn], *, instructions: str, tools: Sequence[JsonDict], tool_choice: Any) -> list[Output]:
    last = turns[-1] if turns else None
    if last is not None and last.kind == "system" and "guardrail" in last.text.lower():
        return [Speak(GUARDRAIL_APOLOGY)]
    if last is not None and last.kind == "function_call_output":
        taken_over = _handed_over_to(turns)
        if taken_over is None:
            return [Speak(_say_tool_output(last.text))]
        # The new assistant takes the request up itself (never handing it on again: no ping-pong).
        tools = [t for t in tools if not str(t.get("name", "")).startswith(HANDOFF_PREFIX)]
        answer = _respond_to_user(turns, instructions, tools, tool_choice)
        first = answer[0] if answer else None
        if isinstance(first, Speak):
            answer[0] = Speak(f"{taken_over} here. {first.text}", first.seconds)
        return answer
    return _respond_to_user(turns, instructions, tools, tool_choice)


def _respond_to_user(
    turns: Sequence[Turn], instructions: str, tools: Sequence[JsonDict], tool_choice: Any
) -> list[Output]:
    last = turns[-1] if turns else None
    user = next((t for t in reversed(turns) if t.kind == "user"), None)
    if user is None or (last is not None and last.kind in ("assistant", "function_call")):
        forced = _forced_tool(tools, tool_choice)
        if forced is not None:
            return [CallTool(forced, "{}")]
        return [Speak("Hello! How can I help you today?" if user is None else "Is there anything else?")]
    words = _normalise(user.text)
    functions = [str(t.get("name")) for t in tools if t.get("type", "function") == "function" and t.get("name")]
    if tool_choice != "none" and functions:
        call = _tool_call(user.text, words, functions, tools, tool_choice)
        if call is not None:
            return call
    seen = _images_since_last_answer(turns)
    if seen and not user.text.strip():
        return [Speak(f"I see {_and_list(seen)}.")]
    answer = _answer(user, words, turns, instructions)
    return [Speak(f"I see {_and_list(seen)}. {answer.text}", answer.seconds)] if seen else [answer]


def _images_since_last_answer(turns: Sequence[Turn]) -> list[str]:
    """The images of the person's turn: their messages since the assistant last spoke (an image is often
    shared just before the question about it)."""
    seen: list[str] = []
    for turn in reversed(turns):
        if turn.kind != "user":
            break
        seen[:0] = turn.images
    return seen


def _and_list(things: Sequence[str]) -> str:
    return things[0] if len(things) == 1 else ", ".join(things[:-1]) + " and " + things[-1]


def _answer(user: Turn, words: str, turns: Sequence[Turn], instructions: str) -> Speak:
    if re.search(r"\b(what|which) (was|is) my first (message|question)\b", words):
        first = next(t for t in turns if t.kind == "user")
        return Speak(f"Your first message was: {_quote(first.text)}.")
    talk = re.search(r"\b(?:talk|speak) for (\d+(?:\.\d+)?) (second|sec|minute|min)", words)
    if talk:
        seconds = float(talk.group(1)) * (60.0 if talk.group(2).startswith("min") else 1.0)
        seconds = min(max(seconds, 1.0), 600.0)
        return Speak(_long_text(seconds), seconds=seconds)
    if re.search(r"\bwhat (are|were|is) your (instructions|system prompt)\b", words):
        if instructions.strip():
            return Speak(f"My instructions are: {_quote(instructions)}.")
        return Speak("I have no special instructions.")
    if re.search(r"\bcard number\b", words):
        return Speak(CARD_ANSWER)
    if user.audio:
        return Speak(f"I heard {_quote(user.text)}.")
    return Speak(f"You said: {_quote(user.text)}.")


def _tool_call(
    text: str, words: str, functions: list[str], tools: Sequence[JsonDict], tool_choice: Any
) -> list[Output] | None:
    forced = _forced_tool(tools, tool_choice)
    named = re.search(r"\b(?:call|use|run) (?:the )?(?:tool |function )?([a-z_][a-z0-9_]*)", text.lower())
    if named and named.group(1) in functions and (forced is None or forced == named.group(1)):
        args = re.search(r"\bwith (\{.*\})", text)
        return [CallTool(named.group(1), _json_args(args.group(1) if args else "{}"))]
    handoff = next((f for f in functions if f.startswith(HANDOFF_PREFIX) and _names(words, f)), None)
    if handoff is not None and forced in (None, handoff):
        return [CallTool(handoff, "{}")]
    stop = next((f for f in functions if f == "stop_conversation"), None) or next(
        (f for f in functions if "stop" in f or "hang_up" in f or "end_conversation" in f), None
    )
    if stop and _GOODBYE.search(words) and forced in (None, stop):
        return [Speak("Goodbye! It was nice talking with you."), CallTool(stop, "{}")]
    calc = next((f for f in functions if "calc" in f or "math" in f), None)
    expression = _expression(words)
    if calc and expression and forced in (None, calc):
        key = _first_property(tools, calc) or "expression"
        return [CallTool(calc, json.dumps({key: expression}))]
    clock = next((f for f in functions if "time" in f or "clock" in f), None)
    if clock and re.search(r"\btime\b", words) and forced in (None, clock):
        return [CallTool(clock, json.dumps(_time_args(text, words, tools, clock)))]
    if forced is not None:
        return [CallTool(forced, "{}")]
    return None


def _names(words: str, handoff_tool: str) -> bool:
    """The request names the assistant this tool hands off to ("billing" for transfer_to_billing)."""
    target = handoff_tool[len(HANDOFF_PREFIX) :].replace("_", " ").strip()
    return bool(target) and re.search(rf"\b{re.escape(target)}\b", words) is not None


def _handed_over_to(turns: Sequence[Turn]) -> str | None:
    """The assistant a handoff just went to: the last call was a transfer_to_ tool, and its output names it."""
    call = next((t for t in reversed(turns) if t.kind == "function_call"), None)
    if call is None or not call.name.startswith(HANDOFF_PREFIX):
        return None
    value: Any = None
    with contextlib.suppress(ValueError):
        value = json.loads(turns[-1].text)
    name = value.get("assistant") if isinstance(value, dict) else None
    return str(name) if name else call.name[len(HANDOFF_PREFIX) :].replace("_", " ").title()


def _forced_tool(tools: Sequence[JsonDict], tool_choice: Any) -> str | None:
    """The tool tool_choice insists on: a named function, or the first tool when 'required'."""
    if isinstance(tool_choice, dict) and tool_choice.get("name"):
        return str(tool_choice["name"])
    if tool_choice == "required":
        names = [str(t["name"]) for t in tools if t.get("name")]
        return names[0] if names else None
    return None


def _expression(words: str) -> str | None:
    text = words
    for pattern, op in _OPERATOR_WORDS:
        text = re.sub(pattern, f" {op} ", text)
    text = re.sub(r"\b[a-z]+\b", lambda m: str(_NUMBER_WORDS.get(m.group(0), m.group(0))), text)
    found = _EXPRESSION.search(text)
    if not found:
        return None
    return re.sub(r"\s+", "", found.group(0))


def _time_args(text: str, words: str, tools: Sequence[JsonDict], name: str) -> JsonDict:
    zone = None
    explicit = _ZONE_NAME.search(text)
    if explicit:
        zone = explicit.group(0)
    else:
        zone = next((z for city, z in _ZONES.items() if re.search(rf"\b{city}\b", words)), None)
    if zone is None:
        return {}
    props = _properties(tools, name)
    key = next((p for p in props if "zone" in p or p == "tz"), None) if props else "timezone"
    return {key: zone} if key else {}


def _properties(tools: Sequence[JsonDict], name: str) -> list[str]:
    tool = next((t for t in tools if t.get("name") == name), {})
    params = tool.get("parameters")
    props = params.get("properties") if isinstance(params, dict) else None
    return [str(p) for p in props] if isinstance(props, dict) else []


def _first_property(tools: Sequence[JsonDict], name: str) -> str | None:
    props = _properties(tools, name)
    return props[0] if props else None


def _json_args(raw: str) -> str:
    try:
        return json.dumps(json.loads(raw))
    except ValueError:
        return "{}"


def _say_tool_output(output: str) -> str:
    value: Any = output
    with contextlib.suppress(ValueError):
        value = json.loads(output)
    if isinstance(value, dict) and "error" in value:
        return f"Sorry, that did not work: {_quote(_plain(value['error']))}."
    if isinstance(value, str) and re.search(r"\b(error|exception|failed|traceback)\b", value, re.I):
        return f"Sorry, that did not work: {_quote(value)}."
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    return f"The result is {_quote(_plain(value))}."


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    return json.dumps(value)


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9+*/().'\- ]", " ", text.lower()).split())


def _quote(text: str) -> str:
    """Text to embed in an answer sentence: one line, without its own final punctuation."""
    return " ".join(text.split()).rstrip(".!?;:,") or "nothing"


def _long_text(seconds: float) -> str:
    words_needed = max(1, round(seconds / 0.3))
    words = f"Here is a long answer that lasts {seconds:g} seconds.".split()
    n = 1
    while len(words) < words_needed:
        words += _FILLER.format(n=n).split()
        n += 1
    text = " ".join(words[:words_needed])
    return text.rstrip(",.") + "."
