"""Read a tool's description and its parameters' descriptions from a Google- or NumPy-style docstring.

Only what the model needs is extracted: the summary paragraph and one sentence or more per parameter.
Types written in the docstring are ignored; the type hints are the single source of truth.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

_GOOGLE_HEADER = re.compile(
    r"^(args|arguments|parameters|params|keyword args|keyword arguments|attributes|fields):\s*$", re.I
)
_NUMPY_HEADERS = {"parameters", "other parameters", "attributes"}
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?::.*)?$")
_ANY_SECTION = re.compile(r"^[A-Z][A-Za-z ]*:\s*$")


@dataclass(frozen=True, slots=True)
class Docstring:
    summary: str = ""
    params: dict[str, str] = field(default_factory=dict)


def parse_docstring(doc: str | None) -> Docstring:
    """Summary paragraph plus per-parameter descriptions from ``Args:`` or a NumPy ``Parameters`` table."""
    if not doc or not doc.strip():
        return Docstring()
    lines = inspect.cleandoc(doc).splitlines()
    return Docstring(summary=_summary(lines), params=_params(lines))


def _summary(lines: list[str]) -> str:
    # The first paragraph, joined: a summary wrapped over two lines is still one sentence.
    taken: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or _is_section_start(lines, index):
            break
        taken.append(stripped)
    return " ".join(taken)


def _is_section_start(lines: list[str], index: int) -> bool:
    return bool(_ANY_SECTION.match(lines[index].strip())) or _is_underlined(lines, index)


def _is_underlined(lines: list[str], index: int) -> bool:
    following = lines[index + 1].strip() if index + 1 < len(lines) else ""
    return bool(following) and set(following) == {"-"}


def _params(lines: list[str]) -> dict[str, str]:
    for index, line in enumerate(lines):
        stripped = line.strip()
        if _GOOGLE_HEADER.match(stripped):
            return _entries(lines[index + 1 :], _indent(line), _GOOGLE_ENTRY)
        if stripped.lower() in _NUMPY_HEADERS and _is_underlined(lines, index):
            return _entries(lines[index + 2 :], _indent(line) - 1, _NUMPY_ENTRY)
    return {}


def _entries(body: list[str], header_indent: int, entry: re.Pattern[str]) -> dict[str, str]:
    """Entries sit at the first indentation deeper than the header; deeper lines continue them."""
    result: dict[str, list[str]] = {}
    entry_indent: int | None = None
    current: str | None = None
    for index, line in enumerate(body):
        if not line.strip():
            continue
        if _is_underlined(body, index):
            break  # the next NumPy section ("Returns" over a row of dashes)
        indent = _indent(line)
        if indent <= header_indent or (entry_indent is not None and indent < entry_indent):
            break  # the section ended
        if entry_indent is None:
            entry_indent = indent
        if indent == entry_indent:
            match = entry.match(line.strip())
            if match is None:
                break  # e.g. the next NumPy section's title
            current = match.group(1)
            first = match.group(2) if match.lastindex and match.lastindex >= 2 else None
            result[current] = [first.strip()] if first and first.strip() else []
        elif current is not None:
            result[current].append(line.strip())
    return {name: " ".join(words) for name, words in result.items() if words}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())
