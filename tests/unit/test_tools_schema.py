"""Function signatures -> Realtime API function tool definitions (exact schemas)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NotRequired, Optional, TypedDict

import pytest

from voicedesk.tools import Tool, ToolRegistry
from voicedesk.tools.docstrings import parse_docstring


def params(func: Any) -> dict[str, Any]:
    return Tool.from_function(func).parameters


def prop(func: Any, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = params(func)["properties"][name]
    return schema


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Place(TypedDict):
    """Where something is."""

    city: str
    country: NotRequired[str]


@dataclass
class Window:
    """A span of time.

    Attributes:
        start: First hour.
        hours: How many hours.
    """

    start: int
    hours: float = 1.0
    tags: list[str] = field(default_factory=list)


def test_scalars_are_required_and_typed() -> None:
    def f(text: str, count: int, ratio: float, loud: bool) -> None: ...

    assert params(f) == {
        "type": "object",
        "properties": {
            "text": {"type": "string"},
            "count": {"type": "integer"},
            "ratio": {"type": "number"},
            "loud": {"type": "boolean"},
        },
        "required": ["text", "count", "ratio", "loud"],
        "additionalProperties": False,
    }


def test_no_parameters_gives_an_empty_object() -> None:
    def f() -> None: ...

    assert params(f) == {"type": "object", "properties": {}, "required": [], "additionalProperties": False}


def test_literal_becomes_enum() -> None:
    def f(unit: Literal["c", "f"], n: Literal[1, 2, 3], mixed: Literal["a", 1]) -> None: ...

    assert prop(f, "unit") == {"type": "string", "enum": ["c", "f"]}
    assert prop(f, "n") == {"type": "integer", "enum": [1, 2, 3]}
    assert prop(f, "mixed") == {"enum": ["a", 1]}


def test_optional_is_not_required_and_keeps_the_inner_schema() -> None:
    def f(a: str | None, b: Optional[int] = None) -> None: ...  # noqa: UP045 - testing the old spelling

    assert params(f) == {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "required": [],
        "additionalProperties": False,
    }


def test_defaults_are_shown_and_not_required() -> None:
    def f(name: str, times: int = 3, unit: Literal["c", "f"] = "c", color: Color = Color.RED) -> None: ...

    schema = params(f)
    assert schema["required"] == ["name"]
    assert schema["properties"]["times"] == {"type": "integer", "default": 3}
    assert schema["properties"]["unit"] == {"type": "string", "enum": ["c", "f"], "default": "c"}
    assert schema["properties"]["color"] == {"type": "string", "enum": ["red", "green"], "default": "red"}


def test_lists_and_dicts() -> None:
    def f(
        names: list[str],
        grid: list[list[int]],
        scores: dict[str, float],
        maybe: list[int | None],
        anything: list,  # type: ignore[type-arg]
    ) -> None: ...

    assert prop(f, "names") == {"type": "array", "items": {"type": "string"}}
    assert prop(f, "grid") == {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}
    assert prop(f, "scores") == {"type": "object", "additionalProperties": {"type": "number"}}
    assert prop(f, "maybe") == {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}
    assert prop(f, "anything") == {"type": "array"}


def test_enum_subclasses() -> None:
    def f(color: Color, level: Level) -> None: ...

    assert prop(f, "color") == {"type": "string", "enum": ["red", "green"]}
    assert prop(f, "level") == {"type": "integer", "enum": [1, 2]}


def test_typed_dict_is_a_nested_object() -> None:
    def f(place: Place) -> None: ...

    assert prop(f, "place") == {
        "type": "object",
        "description": "Where something is.",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }


def test_dataclass_is_a_nested_object_with_field_docs() -> None:
    def f(window: Window) -> None: ...

    assert prop(f, "window") == {
        "type": "object",
        "description": "A span of time.",
        "properties": {
            "start": {"type": "integer", "description": "First hour."},
            "hours": {"type": "number", "description": "How many hours.", "default": 1.0},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["start"],
        "additionalProperties": False,
    }


def test_docstring_gives_descriptions_google_style() -> None:
    def weather(city: str, days: int = 1) -> str:
        """Get the weather forecast
        for a city.

        Longer explanation that the model does not need.

        Args:
            city: The city name,
                in English.
            days (int): How many days ahead.

        Returns:
            A forecast.
        """
        return ""

    tool = Tool.from_function(weather)
    assert tool.definition() == {
        "type": "function",
        "name": "weather",
        "description": "Get the weather forecast for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city name, in English."},
                "days": {"type": "integer", "description": "How many days ahead.", "default": 1},
            },
            "required": ["city"],
            "additionalProperties": False,
        },
    }


def test_docstring_numpy_style() -> None:
    doc = parse_docstring(
        """Look something up.

        Parameters
        ----------
        query : str
            What to look for.
        limit : int, optional
            At most this many.

        Returns
        -------
        list
            Results.
        """
    )
    assert doc.summary == "Look something up."
    assert doc.params == {"query": "What to look for.", "limit": "At most this many."}


def test_annotated_string_is_a_description() -> None:
    def f(n: Annotated[int, "How many"]) -> None: ...

    assert prop(f, "n") == {"type": "integer", "description": "How many"}


def test_explicit_name_and_description_win() -> None:
    registry = ToolRegistry()

    @registry.tool(name="lookup", description="Find it.")
    def find(query: str) -> str:
        """Docstring summary."""
        return query

    assert registry.names() == ["lookup"]
    definition = registry.definitions()[0]
    assert definition["name"] == "lookup"
    assert definition["description"] == "Find it."


@pytest.mark.parametrize(
    "hint",
    [
        "int | str",  # a real union
        "set[int]",
        "dict[int, str]",
        "object",
        "Any",
    ],
)
def test_unsupported_types_fail_at_registration(hint: str) -> None:
    namespace: dict[str, Any] = {"Any": Any}
    exec(f"def f(x: {hint}) -> None: ...", namespace)
    with pytest.raises(TypeError, match="parameter 'x'"):
        Tool.from_function(namespace["f"])


def test_parameter_without_hint_or_with_varargs_is_refused() -> None:
    def no_hint(x) -> None: ...  # type: ignore[no-untyped-def]

    def varargs(*items: int) -> None: ...

    with pytest.raises(TypeError, match="no type hint"):
        Tool.from_function(no_hint)
    with pytest.raises(TypeError, match=r"\*args"):
        Tool.from_function(varargs)


def test_bad_names_and_duplicates_are_refused() -> None:
    registry = ToolRegistry()

    def ok() -> None: ...

    registry.register(ok)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(ok)
    with pytest.raises(ValueError, match="must be 1-64"):
        registry.register(ok, name="has space")
    with pytest.raises(ValueError, match="must be 1-64"):
        registry.register(lambda: None)


def test_registry_bookkeeping() -> None:
    registry = ToolRegistry()

    @registry.tool
    def a() -> None:
        """A."""

    @registry.tool
    def b() -> None:
        """B."""

    @registry.tool
    def c() -> None:
        """C."""

    assert a is not None  # the decorator returns the function itself
    assert registry.names() == ["a", "b", "c"]
    assert "b" in registry
    small = registry.subset(["c", "a"])
    assert small.names() == ["c", "a"]
    assert registry.names() == ["a", "b", "c"]  # the original is untouched
    with pytest.raises(KeyError, match="zzz"):
        registry.subset(["a", "zzz"])
    registry.unregister("b")
    assert registry.names() == ["a", "c"]
    assert registry.get("b") is None
    got = registry.get("a")
    assert got is not None and got.description == "A."
    with pytest.raises(KeyError):
        registry.unregister("b")


def test_definitions_are_copies() -> None:
    registry = ToolRegistry()

    @registry.tool
    def f(x: int) -> None: ...

    registry.definitions()[0]["parameters"]["properties"]["x"]["type"] = "string"
    assert registry.definitions()[0]["parameters"]["properties"]["x"] == {"type": "integer"}
