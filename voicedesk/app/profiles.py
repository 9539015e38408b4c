"""Profiles: named assistants in ``profiles.toml`` (the config dir), each with instructions, voice, model
settings, tools by name, turn detection, handoff targets and output guardrails.

    [[profile]]
    name = "Concierge"
    instructions = "You greet the caller and route billing questions to Billing."
    voice = "marin"
    tools = ["get_time"]
    handoffs = ["Billing"]

    [[profile]]
    name = "Billing"
    tools = ["calculator"]
    handoffs = ["Concierge"]
    guardrails = { blocked_patterns = ['\\b(?:\\d[ -]?){13,16}\\b'], debounce_chars = 100 }

A field left out takes the Settings' value (``tools`` left out: the tools chosen in Settings). A file that
cannot be used is refused with one line naming the file, the line and the field (``ProfileError``).
The file is created with one "Assistant" profile on first start, readable by its owner only.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from voicedesk.private_files import private_dir, write_private_text
from voicedesk.realtime.session_config import SessionSettings, SettingsError, TurnDetection
from voicedesk.session.guardrails import (
    DEFAULT_DEBOUNCE_CHARS,
    DEFAULT_HOOK_TIMEOUT_S,
    GuardrailError,
    OutputGuardrails,
)
from voicedesk.session.handoffs import handoff_tool_name

PROFILES_FILE = "profiles.toml"
DEFAULT_NAME = "Assistant"
HEADER = """\
# voicedesk's assistants, one [[profile]] each; the first is the one that starts (or: voicedesk --profile NAME).
# Fields: name, instructions, voice, tools = [names], handoffs = [profile names], handoff_description,
# speed, max_output_tokens, tool_choice, turn_detection = { type = "server_vad", ... },
# guardrails = { blocked_patterns = ['regex'], debounce_chars = 100, max_answer_seconds = 30,
#                hook = "module:function", hook_timeout_s = 1.0 }.
# A field left out takes its value from Settings (tools left out: the tools chosen in Settings).
"""
_PROFILE_KEYS = (
    "name", "instructions", "voice", "tools", "handoffs", "handoff_description", "speed", "max_output_tokens",
    "tool_choice", "turn_detection", "guardrails",
)  # fmt: skip
_GUARDRAIL_KEYS = ("blocked_patterns", "debounce_chars", "max_answer_seconds", "hook", "hook_timeout_s")
_TURN_KEYS = tuple(f.name for f in dataclasses.fields(TurnDetection))
_SETTING_WORDS = (("speed", "speed"), ("max output tokens", "max_output_tokens"), ("tool choice", "tool_choice"),
                  ("voice", "voice"))  # fmt: skip


class ProfileError(ValueError):
    """profiles.toml cannot be used; the message is one line: file, line, profile and field."""


@dataclass(frozen=True)
class GuardrailSpec:
    """A profile's guardrails as written (the hook by name)."""

    blocked_patterns: tuple[str, ...] = ()
    debounce_chars: int = DEFAULT_DEBOUNCE_CHARS
    max_answer_seconds: float | None = None
    hook: str | None = None
    hook_timeout_s: float = DEFAULT_HOOK_TIMEOUT_S

    @property
    def empty(self) -> bool:
        return not self.blocked_patterns and self.max_answer_seconds is None and self.hook is None

    def build(self) -> OutputGuardrails:
        """The session's guardrails, the hook imported; GuardrailError naming the field."""
        guardrails = OutputGuardrails(
            blocked_patterns=self.blocked_patterns,
            debounce_chars=self.debounce_chars,
            max_answer_seconds=self.max_answer_seconds,
            hook=resolve_hook(self.hook) if self.hook else None,
            hook_name=self.hook or "",
            hook_timeout_s=self.hook_timeout_s,
        )
        guardrails.validate()
        return guardrails


@dataclass(frozen=True)
class Profile:
    name: str
    instructions: str | None = None
    voice: str | None = None
    tools: tuple[str, ...] | None = None
    handoffs: tuple[str, ...] = ()
    handoff_description: str = ""
    speed: float | None = None
    max_output_tokens: int | Literal["inf"] | None = None
    tool_choice: str | None = None
    turn_detection: Mapping[str, Any] | None = None
    guardrails: GuardrailSpec = field(default_factory=GuardrailSpec)
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    """Where each field was written (its line in the file), for messages; "" is the [[profile]] line."""

    def settings(self, base: SessionSettings) -> SessionSettings:
        """``base`` (the Settings' model settings) with this profile's fields over it; SettingsError."""
        changes: dict[str, Any] = {
            name: getattr(self, name)
            for name in ("instructions", "voice", "speed", "max_output_tokens", "tool_choice")
            if getattr(self, name) is not None
        }
        if self.turn_detection is not None:
            changes["turn_detection"] = dataclasses.replace(base.turn_detection, **self.turn_detection)
        settings = dataclasses.replace(base, **changes)
        settings.validate()
        return settings


def resolve_hook(spec: str) -> Callable[[str], object]:
    """``module:function`` imported; GuardrailError naming the field when it cannot be."""
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise GuardrailError(f"hook: {spec!r} is not module:function")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise GuardrailError(f"hook: cannot import {module_name} ({type(exc).__name__}: {exc})") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise GuardrailError(f"hook: {module_name} has no function {function_name}")
    hook: Callable[[str], object] = function
    return hook


# ------------------------------------------------------------------ reading


def profiles_path(config_dir: Path) -> Path:
    return config_dir / PROFILES_FILE


def ensure_profiles_file(path: Path) -> Path:
    """Create the file with one "Assistant" profile when there is none yet (first start)."""
    if not path.exists():
        private_dir(path.parent)
        write_private_text(path, dump_profiles([Profile(DEFAULT_NAME)]))
    return path


def load_profiles(path: Path) -> list[Profile]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: cannot read it ({exc})") from None
    return parse_profiles(text, str(path))


def parse_profiles(text: str, where: str = PROFILES_FILE) -> list[Profile]:
    """The profiles of a profiles.toml text, checked; ProfileError (one line) for the first problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column \d+\)$", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)$", "", str(exc))
        raise ProfileError(f"{where} line {found.group(1) if found else '?'}: not valid TOML: {message}") from None
    locate = _Locator(text, where)
    for key in data:
        if key != "profile":
            raise ProfileError(f"{locate.top(key)}: unknown table or key {key!r} (each assistant is a [[profile]])")
    tables = data.get("profile", [])
    if not isinstance(tables, list) or not tables:
        raise ProfileError(f"{where}: no [[profile]] in it: give at least one, with a name")
    profiles = [_profile(table, index, locate) for index, table in enumerate(tables)]
    names = [p.name for p in profiles]
    for index, profile in enumerate(profiles):
        if names.index(profile.name) != index:
            raise ProfileError(f"{locate.at(index, 'name')}: profile {profile.name!r}: name: another profile has it")
        for target in profile.handoffs:
            if target not in names:
                raise ProfileError(
                    f"{locate.at(index, 'handoffs')}: profile {profile.name!r}: handoffs: no profile named "
                    f"{target!r} (the profiles are {', '.join(names)})"
                )
    return profiles


def _profile(table: Any, index: int, locate: _Locator) -> Profile:
    if not isinstance(table, dict):
        raise ProfileError(f"{locate.at(index, '')}: a profile must be a table")
    label = f"profile {table.get('name')!r}" if isinstance(table.get("name"), str) else f"profile {index + 1}"

    def fail(key: str, problem: str) -> ProfileError:
        return ProfileError(f"{locate.at(index, key)}: {label}: {key}: {problem}")

    for key in table:
        if key not in _PROFILE_KEYS:
            raise fail(key, f"unknown field (the fields are {', '.join(_PROFILE_KEYS)})")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ProfileError(f"{locate.at(index, 'name')}: profile {index + 1}: name: give every profile a name")
    if len(handoff_tool_name(name)) > 64:
        raise fail("name", "too long to hand off to (at most 52 characters)")
    values: dict[str, Any] = {"name": name.strip()}
    for key in ("instructions", "voice", "handoff_description", "tool_choice"):
        if key in table:
            if not isinstance(table[key], str):
                raise fail(key, "must be a string")
            values[key] = table[key]
    for key in ("tools", "handoffs"):
        if key in table:
            if not isinstance(table[key], list) or not all(isinstance(v, str) for v in table[key]):
                raise fail(key, 'must be a list of names, like ["get_time"]')
            values[key] = tuple(table[key])
    if "speed" in table:
        values["speed"] = _number(table["speed"], lambda problem: fail("speed", problem))
    if "max_output_tokens" in table:
        tokens = table["max_output_tokens"]
        if tokens != "inf" and (isinstance(tokens, bool) or not isinstance(tokens, int)):
            raise fail("max_output_tokens", 'must be a whole number or "inf"')
        values["max_output_tokens"] = tokens
    if "turn_detection" in table:
        values["turn_detection"] = _turn_detection(table["turn_detection"], fail)
    if "guardrails" in table:
        values["guardrails"] = _guardrails(table["guardrails"], fail)
    profile = Profile(**values, lines=locate.lines_of(index))
    try:
        profile.settings(SessionSettings())
    except (SettingsError, TypeError) as exc:
        said = str(exc)
        key = next((k for words, k in _SETTING_WORDS if words in said), "turn_detection")
        raise fail(key, said) from None
    return profile


def _number(value: Any, fail: Callable[[str], ProfileError]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail("must be a number")
    return float(value)


def _turn_detection(value: Any, fail: Callable[[str, str], ProfileError]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fail("turn_detection", 'must be a table, like { type = "semantic_vad" }')
    unknown = [key for key in value if key not in _TURN_KEYS]
    if unknown:
        raise fail("turn_detection", f"unknown field {unknown[0]!r} (the fields are {', '.join(_TURN_KEYS)})")
    try:
        TurnDetection(**value).validate()
    except SettingsError as exc:
        raise fail("turn_detection", str(exc)) from None
    return dict(value)


def _guardrails(value: Any, fail: Callable[[str, str], ProfileError]) -> GuardrailSpec:
    if not isinstance(value, dict):
        raise fail("guardrails", "must be a table, like { blocked_patterns = ['regex'] }")
    for key in value:
        if key not in _GUARDRAIL_KEYS:
            raise fail("guardrails", f"unknown field {key!r} (the fields are {', '.join(_GUARDRAIL_KEYS)})")
    patterns = value.get("blocked_patterns", [])
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise fail("guardrails", "blocked_patterns must be a list of regular expressions")
    debounce = value.get("debounce_chars", DEFAULT_DEBOUNCE_CHARS)
    if isinstance(debounce, bool) or not isinstance(debounce, int):
        raise fail("guardrails", "debounce_chars must be a whole number")
    hook = value.get("hook")
    if hook is not None and not isinstance(hook, str):
        raise fail("guardrails", 'hook must be "module:function"')
    seconds, timeout = value.get("max_answer_seconds"), value.get("hook_timeout_s", DEFAULT_HOOK_TIMEOUT_S)
    for key, number in (("max_answer_seconds", seconds), ("hook_timeout_s", timeout)):
        if number is not None and (isinstance(number, bool) or not isinstance(number, int | float)):
            raise fail("guardrails", f"{key} must be a number of seconds")
    spec = GuardrailSpec(
        tuple(patterns), debounce, float(seconds) if seconds is not None else None, hook, float(timeout)
    )
    try:
        spec.build()
    except GuardrailError as exc:
        raise fail("guardrails", str(exc)) from None
    return spec


class _Locator:
    """Lines of the file for messages: tomllib gives positions for syntax errors only, so the lines of each
    [[profile]] and of its keys are found here."""

    _HEADER = re.compile(r"^\s*\[\[\s*profile\s*\]\]")
    _TABLE = re.compile(r"^\s*\[(?!\[)\s*profile\.")  # [profile.guardrails]: still the same profile
    _ANY_TABLE = re.compile(r"^\s*\[")
    _KEY = re.compile(r"""^\s*["']?([A-Za-z0-9_-]+)["']?\s*=""")

    def __init__(self, text: str, where: str) -> None:
        self.where = where
        self._profiles: list[dict[str, int]] = []
        self._top: dict[str, int] = {}
        section: dict[str, int] | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if self._HEADER.match(line):
                section = {"": number}
                self._profiles.append(section)
            elif self._TABLE.match(line) and section is not None:
                name = line.split(".", 1)[1].split("]", 1)[0].strip()
                section.setdefault(name, number)
            elif self._ANY_TABLE.match(line):
                section = None
                key = line.strip().strip("[]").strip()
                self._top.setdefault(key, number)
            elif (key_match := self._KEY.match(line)) is not None:
                (section if section is not None else self._top).setdefault(key_match.group(1), number)

    def lines_of(self, index: int) -> dict[str, int]:
        return dict(self._profiles[index]) if index < len(self._profiles) else {}

    def at(self, index: int, key: str) -> str:
        lines = self.lines_of(index)
        line = lines.get(key) or lines.get("")
        return f"{self.where} line {line}" if line else self.where

    def top(self, key: str) -> str:
        line = self._top.get(key)
        return f"{self.where} line {line}" if line else self.where


# ------------------------------------------------------------------ writing


def dump_profiles(profiles: Sequence[Profile]) -> str:
    """profiles.toml's text for these profiles (what the Settings editor saves)."""
    out = [HEADER]
    for profile in profiles:
        out.append("\n[[profile]]\n")
        out.append(f"name = {_string(profile.name)}\n")
        for key in ("instructions", "voice", "handoff_description", "tool_choice"):
            value = getattr(profile, key)
            if value:
                out.append(f"{key} = {_string(value)}\n")
        if profile.tools is not None:
            out.append(f"tools = {_strings(profile.tools)}\n")
        if profile.handoffs:
            out.append(f"handoffs = {_strings(profile.handoffs)}\n")
        if profile.speed is not None:
            out.append(f"speed = {profile.speed!r}\n")
        if profile.max_output_tokens is not None:
            tokens = profile.max_output_tokens
            out.append(f"max_output_tokens = {_string(tokens) if tokens == 'inf' else tokens}\n")
        if profile.turn_detection:
            out.append(f"turn_detection = {_inline(profile.turn_detection)}\n")
        if not profile.guardrails.empty:
            spec = profile.guardrails
            fields: dict[str, Any] = {"blocked_patterns": list(spec.blocked_patterns)} if spec.blocked_patterns else {}
            fields["debounce_chars"] = spec.debounce_chars
            if spec.max_answer_seconds is not None:
                fields["max_answer_seconds"] = spec.max_answer_seconds
            if spec.hook:
                fields |= {"hook": spec.hook, "hook_timeout_s": spec.hook_timeout_s}
            out.append(f"guardrails = {_inline(fields)}\n")
    return "".join(out)


def save_profiles(path: Path, profiles: Sequence[Profile]) -> list[Profile]:
    """Check and write the file (0600, replacing it whole); returns the profiles as read back from it."""
    text = dump_profiles(profiles)
    checked = parse_profiles(text, str(path))
    private_dir(path.parent)
    temporary = path.with_name(path.name + ".tmp")
    write_private_text(temporary, text)
    os.replace(temporary, path)
    return checked


def _string(value: str) -> str:
    if "'" not in value and not re.search(r"[\x00-\x1f\x7f]", value):
        return f"'{value}'"  # a literal string: regular expressions stay readable
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    for character, escape in (("\n", "\\n"), ("\t", "\\t"), ("\r", "\\r")):
        escaped = escaped.replace(character, escape)
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group(0)):04x}", escaped) + '"'


def _strings(values: Sequence[str]) -> str:
    return "[" + ", ".join(_string(v) for v in values) + "]"


def _inline(table: Mapping[str, Any]) -> str:
    parts = []
    for key, value in table.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str):
            text = _string(value)
        elif isinstance(value, list | tuple):
            text = _strings([str(v) for v in value])
        else:
            text = repr(value)
        parts.append(f"{key} = {text}")
    return "{ " + ", ".join(parts) + " }"
