"""A small JSON Schema validator for the subset ``schema.py`` generates, with messages meant for the model.

Supported keywords: type (a name or a list), enum, properties, required, additionalProperties (false or a
schema), items, anyOf. Annotations (description, default) are ignored. One leniency, matching how the
schemas are generated: null sent for a property that is not required counts as leaving it out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any


def validate(value: Any, schema: Mapping[str, Any]) -> list[str]:
    """Every problem found, in plain words; an empty list means the value fits."""
    problems: list[str] = []
    _check(value, schema, "", problems)
    return problems


def _check(value: Any, schema: Mapping[str, Any], path: str, problems: list[str]) -> None:
    if "anyOf" in schema:
        _check_any_of(value, schema["anyOf"], path, problems)
        return
    if "type" in schema and not _has_type(value, schema["type"]):
        problems.append(f"{_label(path)} must be {_expected(schema['type'])}, got {_describe(value)}")
        return
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(f"{_label(path)} must be a finite number")
        return
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        options = ", ".join(json.dumps(option) for option in schema["enum"])
        problems.append(f"{_label(path)} must be one of {options}, got {json.dumps(value)}")
        return
    if isinstance(value, dict):
        _check_object(value, schema, path, problems)
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _check(item, schema["items"], f"{path}[{index}]", problems)


def _check_any_of(value: Any, options: list[Mapping[str, Any]], path: str, problems: list[str]) -> None:
    attempts: list[list[str]] = []
    for option in options:
        found: list[str] = []
        _check(value, option, path, found)
        if not found:
            return
        attempts.append(found)
    # Report the first alternative's problems: for X | None that is X's, the informative one.
    problems.extend(attempts[0])


def _check_object(value: dict[str, Any], schema: Mapping[str, Any], path: str, problems: list[str]) -> None:
    properties: Mapping[str, Any] = schema.get("properties", {})
    required: list[str] = schema.get("required", [])
    for name in required:
        if name not in value:
            problems.append(f"missing required argument '{_join(path, name)}'")
        elif value[name] is None:
            problems.append(f"argument '{_join(path, name)}' is required and must not be null")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            if item is not None:  # null: reported above if required, else counts as left out
                _check(item, properties[key], _join(path, key), problems)
        elif extra is False:
            known = ", ".join(properties) or "none"
            problems.append(f"unknown argument '{_join(path, key)}' (expected: {known})")
        elif isinstance(extra, Mapping):
            _check(item, extra, f"{path}[{json.dumps(key)}]", problems)


def _has_type(value: Any, expected: str | list[str]) -> bool:
    names = [expected] if isinstance(expected, str) else expected
    return any(_is(value, name) for name in names)


def _is(value: Any, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        # JSON Schema counts 3.0 as an integer; bool is not a number here even though Python says so.
        return not isinstance(value, bool) and (
            isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        )
    if name == "number":
        return not isinstance(value, bool) and isinstance(value, int | float)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    raise ValueError(f"unknown JSON Schema type {name!r}")


def _same(value: Any, option: Any) -> bool:
    # Python says True == 1; JSON does not.
    return bool(value == option) and isinstance(value, bool) == isinstance(option, bool)


_ARTICLES = {
    "null": "null",
    "boolean": "a boolean (true or false)",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "array": "an array",
    "object": "an object",
}


def _expected(expected: str | list[str]) -> str:
    names = [expected] if isinstance(expected, str) else expected
    return " or ".join(_ARTICLES.get(name, name) for name in names)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {json.dumps(shown)}"
    return "an array" if isinstance(value, list) else "an object"


def _label(path: str) -> str:
    return f"argument '{path}'" if path else "the arguments"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
