"""MCP tool names and input schemas made fit for the Realtime API and the registry's validator."""

from __future__ import annotations

import json

import hypothesis.strategies as st
from hypothesis import given

from voicedesk.tools.mcp.schema import NAME, clean_parameters, exposed_names
from voicedesk.tools.validation import validate


def test_own_name_when_unique_else_server_prefix() -> None:
    names = exposed_names(
        [("files", "read"), ("files", "search"), ("notes", "search"), ("notes", "calculator"), ("web", "fetch page")],
        taken=["calculator"],
    )
    assert names == {
        ("files", "read"): "read",
        ("files", "search"): "files__search",
        ("notes", "search"): "notes__search",
        ("notes", "calculator"): "notes__calculator",
        ("web", "fetch page"): "web__fetch_page",
    }


def test_long_and_look_alike_names_stay_valid_and_distinct() -> None:
    long_server = "s" * 70
    names = exposed_names([(long_server, "x"), ("a.b", "x"), ("a:b", "x"), ("other", "x")], taken=[])
    assert all(NAME.match(name) for name in names.values())
    assert len(set(names.values())) == 4
    assert names[("a.b", "x")] == "a_b__x"
    assert names[("a:b", "x")].startswith("a_b__x_") and len(names[("a:b", "x")]) <= 64
    assert len(names[(long_server, "x")]) == 64


@given(st.lists(st.tuples(st.text(max_size=80), st.text(max_size=80)), max_size=8), st.lists(st.text(max_size=10)))
def test_names_always_valid_and_unique(pairs: list[tuple[str, str]], taken: list[str]) -> None:
    names = exposed_names(pairs, taken)
    assert all(NAME.match(name) for name in names.values())
    assert len(set(names.values())) == len(names)
    assert not set(names.values()) & set(taken)


def test_schema_cleaned_to_the_supported_subset() -> None:
    raw = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "searchArguments",
        "type": "object",
        "properties": {
            "query": {"type": "string", "title": "Query", "description": "What to look for.", "minLength": 1},
            "mode": {"oneOf": [{"const": "fast"}, {"const": "deep"}], "default": "fast"},
            "filter": {"$ref": "#/$defs/Filter", "description": "Which notes."},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "when": {"type": ["string", "null"], "format": "date-time"},
            "weird": {"not": {"type": "null"}, "x-vendor": 1},
        },
        "required": ["query", "ghost"],
        "additionalProperties": False,
        "$defs": {
            "Filter": {
                "type": "object",
                "properties": {"folder": {"type": "string"}, "limit": {"type": "integer", "maximum": 50}},
                "required": ["folder"],
                "patternProperties": {"^x": {}},
            }
        },
    }
    assert clean_parameters(raw) == {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to look for.", "minLength": 1},
            "mode": {"default": "fast", "anyOf": [{"enum": ["fast"]}, {"enum": ["deep"]}]},
            "filter": {
                "type": "object",
                "description": "Which notes.",
                "properties": {"folder": {"type": "string"}, "limit": {"type": "integer", "maximum": 50}},
                "required": ["folder"],
            },
            "tags": {"type": "array", "items": {"type": "string"}},
            "when": {"type": ["string", "null"], "format": "date-time"},
            "weird": {},
        },
        "required": ["query"],
        "additionalProperties": False,
    }


def test_empty_missing_or_odd_schemas_become_an_empty_object() -> None:
    assert clean_parameters(None) == {"type": "object", "properties": {}}
    assert clean_parameters({"type": "string"}) == {"type": "object", "properties": {}}
    assert clean_parameters({"properties": []}) == {"type": "object", "properties": {}}


def test_recursive_references_are_cut() -> None:
    raw = {
        "type": "object",
        "properties": {"tree": {"$ref": "#/$defs/Node"}},
        "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
    }
    cleaned = clean_parameters(raw)
    assert len(json.dumps(cleaned)) < 5000
    assert validate({"tree": {"child": {"child": {}}}}, cleaned) == []


schemas = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=30,
)


@given(schemas)
def test_any_input_gives_an_object_schema_the_validator_accepts(raw: object) -> None:
    cleaned = clean_parameters(raw if isinstance(raw, dict) else None)
    assert cleaned["type"] == "object"
    json.dumps(cleaned)
    validate({}, cleaned)  # never raises: no unknown type names survive
