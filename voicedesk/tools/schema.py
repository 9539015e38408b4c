"""Type hints -> the JSON schema the model sees, plus the converter that turns validated JSON back into the
Python values the function expects (enum members, dataclass instances, floats where ints arrived).

One walk over each hint produces both, so the schema and the conversion can never disagree.

Optional values (``X | None``) in an object (the tool's parameters, a TypedDict or dataclass) are simply
not required and keep X's schema: simpler for the model than a union with null. The validator treats a
null sent for a property that is not required as if it were left out. Elsewhere (list items, dict values)
they become ``anyOf: [X, {"type": "null"}]``.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from voicedesk.tools.docstrings import parse_docstring

JsonSchema = dict[str, Any]
Converter = Callable[[Any], Any]

_NO_DEFAULT: Any = inspect.Parameter.empty


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """What one type hint means on the wire and how to convert it back."""

    schema: JsonSchema
    convert: Converter
    optional: bool = False
    """The hint admits None (``X | None``)."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One property of an object: a function parameter, a TypedDict key or a dataclass field."""

    name: str
    spec: TypeSpec
    description: str = ""
    default: Any = _NO_DEFAULT
    key_required: bool = True
    """False for a TypedDict key marked NotRequired (or in a total=False TypedDict)."""

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT

    @property
    def required(self) -> bool:
        return self.key_required and not self.has_default and not self.spec.optional


def parameters_spec(func: Callable[..., Any], descriptions: Mapping[str, str], where: str) -> TypeSpec:
    """The object schema of a function's parameters; its converter returns the keyword arguments."""
    try:
        signature = inspect.signature(func)
        hints = typing.get_type_hints(func, include_extras=True)
    except (TypeError, ValueError, NameError) as exc:
        raise TypeError(f"{where}: cannot read the signature ({exc})") from exc
    fields: list[FieldSpec] = []
    for param in signature.parameters.values():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise TypeError(f"{where}: *args and **kwargs cannot be described to the model")
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise TypeError(f"{where}: parameter {param.name!r} is positional-only; tools are called by name")
        if param.name not in hints:
            raise TypeError(f"{where}: parameter {param.name!r} has no type hint")
        spec = type_spec(hints[param.name], f"{where}, parameter {param.name!r}", frozenset())
        fields.append(FieldSpec(param.name, spec, descriptions.get(param.name, ""), param.default))
    return _object_spec(fields, description="")


def type_spec(hint: Any, where: str, seen: frozenset[type]) -> TypeSpec:
    """Schema and converter for one hint; ``seen`` guards against self-referencing classes."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        return _annotated(args, where, seen)
    if origin is typing.NotRequired or origin is typing.Required:
        return type_spec(args[0], where, seen)  # TypedDict key markers; __required_keys__ says the rest
    if origin is typing.Union or origin is types.UnionType:
        return _optional(args, where, seen)
    if origin is typing.Literal:
        return _literal(args, where)
    if hint is list or origin is list:
        return _array(args, where, seen)
    if hint is dict or origin is dict:
        return _mapping(args, where, seen)
    if isinstance(hint, type):
        return _class(hint, where, seen)
    raise TypeError(f"{where}: the type {hint!r} is not supported in a tool")


_SCALARS: dict[type, tuple[str, Converter]] = {
    bool: ("boolean", bool),
    int: ("integer", int),  # int() also accepts 3.0, which JSON Schema counts as an integer
    float: ("number", float),
    str: ("string", str),
}


def _class(cls: type, where: str, seen: frozenset[type]) -> TypeSpec:
    if cls in _SCALARS:
        json_type, convert = _SCALARS[cls]
        return TypeSpec({"type": json_type}, convert)
    if issubclass(cls, enum.Enum):
        return _enum(cls, where)
    if cls in seen:
        raise TypeError(f"{where}: {cls.__name__} refers to itself, which a JSON schema here cannot express")
    if typing.is_typeddict(cls):
        return _typed_dict(cls, where, seen | {cls})
    if dataclasses.is_dataclass(cls):
        return _dataclass(cls, where, seen | {cls})
    raise TypeError(f"{where}: the type {cls.__name__} is not supported in a tool")


def _annotated(args: tuple[Any, ...], where: str, seen: frozenset[type]) -> TypeSpec:
    # Annotated[int, "how many"]: the first string is the description.
    inner = type_spec(args[0], where, seen)
    notes = [meta for meta in args[1:] if isinstance(meta, str)]
    if not notes:
        return inner
    return dataclasses.replace(inner, schema={**inner.schema, "description": notes[0]})


def _optional(args: tuple[Any, ...], where: str, seen: frozenset[type]) -> TypeSpec:
    present = [arg for arg in args if arg is not type(None)]
    if len(present) != 1 or len(present) == len(args):
        raise TypeError(f"{where}: only 'X | None' unions are supported, not {args!r}")
    inner = type_spec(present[0], where, seen)

    def convert(value: Any) -> Any:
        return None if value is None else inner.convert(value)

    return TypeSpec(inner.schema, convert, optional=True)


def _literal(values: tuple[Any, ...], where: str) -> TypeSpec:
    if not values or not all(isinstance(value, str | int | float) for value in values):
        raise TypeError(f"{where}: Literal values must be strings, numbers or booleans")
    return TypeSpec(_enum_schema(list(values)), lambda value: _matching(values, value))


def _enum(cls: type[enum.Enum], where: str) -> TypeSpec:
    members = list(cls)
    values = [member.value for member in members]
    if not members or not all(isinstance(value, str | int | float) for value in values):
        raise TypeError(f"{where}: enum {cls.__name__} needs string or number values")
    return TypeSpec(_enum_schema(values), lambda value: cls(_matching(tuple(values), value)))


def _enum_schema(values: list[Any]) -> JsonSchema:
    kinds = {_json_type(value) for value in values}
    schema: JsonSchema = {"type": kinds.pop()} if len(kinds) == 1 else {}
    schema["enum"] = values
    return schema


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return "number" if isinstance(value, float) else "string"


def _matching(values: tuple[Any, ...], value: Any) -> Any:
    """The declared value equal to ``value`` (so 3.0 from JSON becomes the declared 3)."""
    for candidate in values:
        if candidate == value and isinstance(candidate, bool) == isinstance(value, bool):
            return candidate
    return value


def _item_schema(spec: TypeSpec) -> JsonSchema:
    if spec.optional:
        return {"anyOf": [spec.schema, {"type": "null"}]}
    return spec.schema


def _array(args: tuple[Any, ...], where: str, seen: frozenset[type]) -> TypeSpec:
    if not args:
        return TypeSpec({"type": "array"}, list)
    item = type_spec(args[0], f"{where}, list item", seen)
    return TypeSpec(
        {"type": "array", "items": _item_schema(item)},
        lambda value: [item.convert(element) for element in value],
    )


def _mapping(args: tuple[Any, ...], where: str, seen: frozenset[type]) -> TypeSpec:
    if not args:
        return TypeSpec({"type": "object"}, dict)
    if args[0] is not str:
        raise TypeError(f"{where}: dictionary keys must be str (JSON object keys are strings)")
    item = type_spec(args[1], f"{where}, dictionary value", seen)
    return TypeSpec(
        {"type": "object", "additionalProperties": _item_schema(item)},
        lambda value: {key: item.convert(element) for key, element in value.items()},
    )


def _typed_dict(cls: type, where: str, seen: frozenset[type]) -> TypeSpec:
    doc = parse_docstring(cls.__doc__)
    hints = typing.get_type_hints(cls, include_extras=True)
    required_keys: frozenset[str] = getattr(cls, "__required_keys__", frozenset(hints))
    fields = [
        FieldSpec(
            name,
            type_spec(hint, f"{where}, key {name!r} of {cls.__name__}", seen),
            doc.params.get(name, ""),
            key_required=_key_required(hint, name in required_keys),
        )
        for name, hint in hints.items()
    ]
    return _object_spec(fields, doc.summary)


def _key_required(hint: Any, declared: bool) -> bool:
    # Under "from __future__ import annotations" Python 3.11 cannot see (Not)Required in the string
    # annotations when it builds __required_keys__, so the resolved hint decides.
    origin = typing.get_origin(hint)
    if origin is typing.NotRequired:
        return False
    return origin is typing.Required or declared


def _dataclass(cls: type, where: str, seen: frozenset[type]) -> TypeSpec:
    # A dataclass without a docstring gets "Name(field: type, ...)" generated: not a description.
    own_doc = cls.__doc__ if cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}(") else None
    doc = parse_docstring(own_doc)
    hints = typing.get_type_hints(cls, include_extras=True)
    fields: list[FieldSpec] = []
    for item in dataclasses.fields(cls):
        if not item.init:
            continue
        has_factory = item.default_factory is not dataclasses.MISSING
        default = item.default if item.default is not dataclasses.MISSING else _NO_DEFAULT
        spec = type_spec(hints[item.name], f"{where}, field {item.name!r} of {cls.__name__}", seen)
        fields.append(FieldSpec(item.name, spec, doc.params.get(item.name, ""), default))
        if has_factory:  # a factory default: not required, but no value to show
            fields[-1] = dataclasses.replace(fields[-1], key_required=False)
    inner = _object_spec(fields, doc.summary)
    return TypeSpec(inner.schema, lambda value: cls(**inner.convert(value)))


def _object_spec(fields: list[FieldSpec], description: str) -> TypeSpec:
    properties: dict[str, JsonSchema] = {}
    for item in fields:
        schema = dict(item.spec.schema)
        if item.description:
            schema["description"] = item.description
        shown = _json_default(item.default) if item.has_default else None
        if shown is not None:
            schema["default"] = shown
        properties[item.name] = schema
    result: JsonSchema = {"type": "object"}
    if description:
        result["description"] = description
    result["properties"] = properties
    result["required"] = [item.name for item in fields if item.required]
    result["additionalProperties"] = False

    def convert(value: Mapping[str, Any]) -> dict[str, Any]:
        converted: dict[str, Any] = {}
        for item in fields:
            given = value.get(item.name)
            if given is not None:
                converted[item.name] = item.spec.convert(given)
            elif item.spec.optional and not item.has_default and item.key_required:
                converted[item.name] = None  # an Optional without a default still needs its argument
            # otherwise leave it out: the Python default (or the missing NotRequired key) applies
        return converted

    return TypeSpec(result, convert)


def _json_default(value: Any) -> Any:
    """A default worth showing the model, or None when it has no plain JSON form."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, str | int | float):
        return value
    if isinstance(value, list | tuple) and all(isinstance(item, str | int | float) for item in value):
        return list(value)
    return None
