"""Protocol contract: validate wire events against the ``openai`` package's pydantic models.

The ``openai`` event unions, as exported, are plain ``Union``s tagged with the SDK's own metadata:
pydantic tries every member in turn, which is slow and reports dozens of irrelevant errors. Here
each union is rebuilt as a pydantic discriminated union on ``type`` (one cached ``TypeAdapter`` per
protocol and direction), validated in strict mode, and then walked once more for keys the models do
not declare: the SDK's models allow extra fields, so a misspelled or wrong-protocol field (GA
``session.modalities``, beta ``session.audio``) would otherwise pass silently.

    validate_client_event(wire, "ga")      # raises AssertionError with a readable message
    validate_server_event(wire, "beta")
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pydantic
from openai.types.beta.realtime import realtime_client_event as beta_client
from openai.types.beta.realtime import realtime_server_event as beta_server
from openai.types.realtime import realtime_client_event as ga_client
from openai.types.realtime import realtime_server_event as ga_server

__all__ = [
    "client_event_types",
    "server_event_types",
    "unknown_keys",
    "validate_client_event",
    "validate_server_event",
]

ProtocolName = Literal["ga", "beta"]
Direction = Literal["client", "server"]

_UNIONS: dict[tuple[Direction, ProtocolName], Any] = {
    ("client", "ga"): ga_client.RealtimeClientEvent,
    ("client", "beta"): beta_client.RealtimeClientEvent,
    ("server", "ga"): ga_server.RealtimeServerEvent,
    ("server", "beta"): beta_server.RealtimeServerEvent,
}


# --------------------------------------------------------------------------- the rebuilt unions


def _union_members(alias: Any) -> tuple[type[pydantic.BaseModel], ...]:
    """The model classes of an SDK alias ``Annotated[Union[...], PropertyInfo(discriminator="type")]``."""
    while get_origin(alias) is Annotated:
        alias = get_args(alias)[0]
    members = get_args(alias)
    assert members and all(isinstance(m, type) and issubclass(m, pydantic.BaseModel) for m in members), alias
    return members


def _type_tags(model: type[pydantic.BaseModel]) -> tuple[str, ...]:
    field = model.model_fields["type"]
    assert get_origin(field.annotation) is Literal, f"{model.__name__}.type is not a Literal"
    return get_args(field.annotation)


@cache
def _members_by_type(direction: Direction, protocol: ProtocolName) -> dict[str, type[pydantic.BaseModel]]:
    by_type: dict[str, type[pydantic.BaseModel]] = {}
    for model in _union_members(_UNIONS[(direction, protocol)]):
        for tag in _type_tags(model):
            assert tag not in by_type, f"two {protocol} {direction} models for {tag!r}"
            by_type[tag] = model
    return by_type


@cache
def _adapter(direction: Direction, protocol: ProtocolName) -> pydantic.TypeAdapter[Any]:
    """A discriminated union of the protocol's events; built once (the SDK defers model building)."""
    members = tuple(_members_by_type(direction, protocol).values())
    union = Annotated[Union[members], pydantic.Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007
    return pydantic.TypeAdapter(union)


def client_event_types(protocol: ProtocolName) -> frozenset[str]:
    """Every client event ``type`` the protocol defines."""
    return frozenset(_members_by_type("client", _check_protocol(protocol)))


def server_event_types(protocol: ProtocolName) -> frozenset[str]:
    """Every server event ``type`` the protocol defines."""
    return frozenset(_members_by_type("server", _check_protocol(protocol)))


# --------------------------------------------------------------------------- undeclared keys


def _strip_annotated(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _union_options(annotation: Any) -> list[Any]:
    """The members of a (possibly nested, possibly Annotated) Union, flattened, without None."""
    options = []
    for arg in get_args(annotation):
        arg = _strip_annotated(arg)
        if get_origin(arg) in (Union, types.UnionType):
            options.extend(_union_options(arg))
        elif arg is not type(None):
            options.append(arg)
    return options


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)


def _field_key(name: str, field: pydantic.fields.FieldInfo) -> str:
    return field.alias or name


def _literal_values(annotation: Any) -> tuple[Any, ...] | None:
    """The allowed values when ``annotation`` is a Literal or Optional[Literal]; None otherwise."""
    annotation = _strip_annotated(annotation)
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        values: list[Any] = []
        for arg in get_args(annotation):
            arg = _strip_annotated(arg)
            if arg is type(None):
                values.append(None)
            elif get_origin(arg) is Literal:
                values.extend(get_args(arg))
            else:
                return None
        return tuple(values)
    return None


def _plausible(model: type[pydantic.BaseModel], value: Mapping[str, Any]) -> bool:
    """Could ``value`` be this union member? Required keys present, Literal fields (the tags) matching."""
    for name, field in model.model_fields.items():
        key = _field_key(name, field)
        if key not in value:
            if field.is_required():
                return False
            continue
        allowed = _literal_values(field.annotation)
        if allowed is not None and value[key] not in allowed:
            return False
    return True


def unknown_keys(
    value: Any, annotation: Any, path: str = "", *, tolerated: Mapping[str, frozenset[str]] | None = None
) -> list[str]:
    """Keys in ``value`` (recursively) that the model behind ``annotation`` does not declare.

    Each entry reads ``"<path>: unknown key 'k' (ModelName declares a, b, c)"``. Unions are resolved to
    the member that ``value`` plausibly is (by required keys and Literal tags); when several are
    plausible, one without unknown keys wins. ``tolerated`` maps a path (``"session"``) to undeclared
    keys accepted there.
    """
    tolerated = tolerated or {}
    annotation = _strip_annotated(annotation)
    origin = get_origin(annotation)
    if value is None:
        return []
    if origin in (Union, types.UnionType):
        options = _union_options(annotation)
        best: list[str] | None = None
        for option in options:
            if _is_model(option):
                if not isinstance(value, Mapping) or not _plausible(option, value):
                    continue
            elif get_origin(option) in (list, tuple, dict):
                pass
            else:
                continue  # a scalar/Literal member: no keys to check
            issues = unknown_keys(value, option, path, tolerated=tolerated)
            if not issues:
                return []
            if best is None or len(issues) < len(best):
                best = issues
        return best or []
    if origin in (list, tuple) and isinstance(value, list | tuple):
        args = get_args(annotation)
        if not args:
            return []
        return [
            issue
            for i, v in enumerate(value)
            for issue in unknown_keys(v, args[0], f"{path}[{i}]", tolerated=tolerated)
        ]
    if origin is dict and isinstance(value, Mapping):
        args = get_args(annotation)
        if len(args) != 2:
            return []
        return [
            issue
            for k, v in value.items()
            for issue in unknown_keys(v, args[1], _join(path, str(k)), tolerated=tolerated)
        ]
    if _is_model(annotation) and isinstance(value, Mapping):
        fields = annotation.model_fields
        declared = {_field_key(name, field): field for name, field in fields.items()}
        issues = [
            f"{path or '<event>'}: unknown key {key!r} ({annotation.__name__} declares {', '.join(sorted(declared))})"
            for key in value
            if key not in declared and key not in tolerated.get(path, ())
        ]
        for key, field in declared.items():
            if key in value:
                issues.extend(unknown_keys(value[key], field.annotation, _join(path, key), tolerated=tolerated))
        return issues
    return []


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --------------------------------------------------------------------------- validation

_SESSION_IDENTITY = frozenset({"id", "object", "expires_at"})
_TOLERATED: dict[tuple[Direction, str], dict[str, frozenset[str]]] = {
    # The SDK describes the session in session.created/updated with the *request* model, which has no
    # place for the identity fields every real server sends with it.
    ("server", "session.created"): {"session": _SESSION_IDENTITY},
    ("server", "session.updated"): {"session": _SESSION_IDENTITY},
}


def _check_protocol(protocol: str) -> ProtocolName:
    if protocol not in ("ga", "beta"):
        raise ValueError(f"protocol must be 'ga' or 'beta', not {protocol!r}")
    return typing.cast(ProtocolName, protocol)


def _short(value: Any, limit: int = 80) -> str:
    try:
        text = json.dumps(value, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _format_errors(exc: pydantic.ValidationError) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in error["loc"]) or "<event>"
        lines.append(f"  - {loc}: {error['msg']} (got {_short(error.get('input'))})")
    return "\n".join(lines)


def _validate(wire: Any, protocol: str, direction: Direction, *, allow_unknown_keys: bool) -> None:
    proto = _check_protocol(protocol)
    label = f"{proto} {direction} event"
    assert isinstance(wire, dict), f"a {label} must be a JSON object, not {type(wire).__name__}: {_short(wire)}"
    kind = wire.get("type")
    by_type = _members_by_type(direction, proto)
    assert isinstance(kind, str), f"the {label} has no string 'type': {_short(wire)}"
    if kind not in by_type:
        other: ProtocolName = "beta" if proto == "ga" else "ga"
        hint = f" (it is a {other} event type)" if kind in _members_by_type(direction, other) else ""
        raise AssertionError(f"{kind!r} is not a {label} type{hint}; known: {', '.join(sorted(by_type))}")
    try:
        # JSON round trip first: what cannot be serialised cannot be sent, and tuples become lists.
        decoded = json.loads(json.dumps(wire, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{proto} {kind} is not JSON-serialisable: {exc}") from None
    try:
        _adapter(direction, proto).validate_python(decoded, strict=True)
    except pydantic.ValidationError as exc:
        raise AssertionError(
            f"{proto} {kind} does not match openai's {by_type[kind].__name__}:\n{_format_errors(exc)}\n"
            f"event: {_short(wire, 400)}"
        ) from None
    if allow_unknown_keys:
        return
    issues = unknown_keys(decoded, by_type[kind], tolerated=_TOLERATED.get((direction, kind)))
    if issues:
        raise AssertionError(
            f"{proto} {kind} has keys openai's models do not declare:\n"
            + "\n".join(f"  - {issue}" for issue in issues)
            + f"\nevent: {_short(wire, 400)}"
        )


def validate_client_event(wire: Any, protocol: ProtocolName, *, allow_unknown_keys: bool = False) -> None:
    """Raise AssertionError unless ``wire`` is a valid client event of ``protocol`` ("ga" or "beta")."""
    _validate(wire, protocol, "client", allow_unknown_keys=allow_unknown_keys)


def validate_server_event(wire: Any, protocol: ProtocolName, *, allow_unknown_keys: bool = False) -> None:
    """Raise AssertionError unless ``wire`` is a valid server event of ``protocol`` ("ga" or "beta")."""
    _validate(wire, protocol, "server", allow_unknown_keys=allow_unknown_keys)
