"""MCP tool names and input schemas made into what the Realtime API (and the registry's validator) accept.

Function tool names must match ``^[A-Za-z0-9_-]{1,64}$``. Parameters must be an object schema. Only a plain
subset of JSON Schema is kept, the one every OpenAI function-calling surface documents: type, properties,
required, items, enum, anyOf, additionalProperties, descriptions, defaults and the simple string/number/array
bounds. ``$ref`` into ``$defs``/``definitions`` is inlined (recursion cut at a depth), ``oneOf`` becomes
``anyOf``, ``const`` becomes a one-value ``enum``, a single-schema ``allOf`` is merged; anything else
(``$schema``, ``not``, ``if``/``then``, ``patternProperties``, vendor keys) is dropped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_NAME_LIMIT = 64
_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})
_KEPT = frozenset(
    {
        "description",
        "default",
        "format",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
    }
)
_MAX_DEPTH = 12


def exposed_names(tools: Iterable[tuple[str, str]], taken: Iterable[str]) -> dict[tuple[str, str], str]:
    """The name each (server, tool) goes by: its own when valid and unique, else ``server__tool``."""
    pairs = list(dict.fromkeys(tools))
    reserved = set(taken)
    counts: dict[str, int] = {}
    for _, tool in pairs:
        counts[tool] = counts.get(tool, 0) + 1
    names: dict[tuple[str, str], str] = {}
    used = set(reserved)
    for server, tool in pairs:
        if NAME.match(tool) and counts[tool] == 1 and tool not in reserved:
            names[(server, tool)] = tool
            used.add(tool)
    for server, tool in pairs:
        if (server, tool) in names:
            continue
        identity = f"{server}\0{tool}"
        name = _fit(f"{_safe(server)}__{_safe(tool)}", identity)
        if name in used:  # two pairs that sanitize alike: the hash of the original tells them apart
            name = _hashed(name, identity)
        names[(server, tool)] = name
        used.add(name)
    return names


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text) or "_"


def _fit(name: str, identity: str) -> str:
    return name if len(name) <= _NAME_LIMIT else _hashed(name, identity)


def _hashed(name: str, identity: str) -> str:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return f"{name[: _NAME_LIMIT - 9]}_{digest}"


def clean_parameters(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """An object schema fit for ``session.update``, from whatever the server declared."""
    root = dict(schema) if isinstance(schema, Mapping) else {}
    definitions: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        found = root.get(key)
        if isinstance(found, Mapping):
            definitions.update({f"#/{key}/{name}": value for name, value in found.items()})
    cleaned = _clean(root, definitions, 0)
    properties = cleaned.get("properties")
    result: dict[str, Any] = {"type": "object", "properties": properties if isinstance(properties, dict) else {}}
    if "description" in cleaned:
        result["description"] = cleaned["description"]
    required = [name for name in cleaned.get("required", []) if name in result["properties"]]
    if required:
        result["required"] = required
    if "additionalProperties" in cleaned:
        result["additionalProperties"] = cleaned["additionalProperties"]
    return result


def _clean(schema: Any, definitions: Mapping[str, Any], depth: int) -> dict[str, Any]:
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return {}
    source: dict[str, Any] = dict(schema)
    reference = source.pop("$ref", None)
    if isinstance(reference, str):
        target = definitions.get(reference)
        # Keys beside the $ref (a description, say) refine the definition.
        source = {**(dict(target) if isinstance(target, Mapping) else {}), **source}
    all_of = source.pop("allOf", None)
    if isinstance(all_of, list) and len(all_of) == 1:
        source = {**(_resolve(all_of[0], definitions)), **source}
    out: dict[str, Any] = {key: source[key] for key in _KEPT if key in source and _plain(source[key])}
    if "description" in out and not isinstance(out["description"], str):
        del out["description"]
    _copy_type(source, out)
    if "const" in source and _plain(source["const"]):
        out["enum"] = [source["const"]]
    elif isinstance(source.get("enum"), list) and source["enum"] and all(_plain(item) for item in source["enum"]):
        out["enum"] = list(source["enum"])
    alternatives = source.get("anyOf", source.get("oneOf"))
    if isinstance(alternatives, list) and alternatives:
        out["anyOf"] = [_clean(item, definitions, depth + 1) for item in alternatives]
    properties = source.get("properties")
    if isinstance(properties, Mapping):
        out["properties"] = {str(name): _clean(item, definitions, depth + 1) for name, item in properties.items()}
        required = source.get("required")
        if isinstance(required, list):
            out["required"] = [name for name in required if isinstance(name, str) and name in out["properties"]]
    if "items" in source and isinstance(source["items"], Mapping):
        out["items"] = _clean(source["items"], definitions, depth + 1)
    extra = source.get("additionalProperties")
    if isinstance(extra, bool):
        out["additionalProperties"] = extra
    elif isinstance(extra, Mapping):
        out["additionalProperties"] = _clean(extra, definitions, depth + 1)
    return out


def _resolve(schema: Any, definitions: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(schema, Mapping):
        return {}
    reference = schema.get("$ref")
    if isinstance(reference, str) and isinstance(definitions.get(reference), Mapping):
        return {**dict(definitions[reference]), **{k: v for k, v in schema.items() if k != "$ref"}}
    return dict(schema)


def _copy_type(source: Mapping[str, Any], out: dict[str, Any]) -> None:
    declared = source.get("type")
    names = [declared] if isinstance(declared, str) else declared if isinstance(declared, list) else []
    known = [name for name in names if isinstance(name, str) and name in _TYPES]
    if known:
        out["type"] = known[0] if len(known) == 1 else known


def _plain(value: Any) -> bool:
    """A JSON value without nested schemas (keeps defaults and enum members sane)."""
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    if isinstance(value, Mapping):
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    return False
