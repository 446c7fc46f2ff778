"""Whether a JSON Schema is one OpenAI accepts with `strict: true`.

OpenAI's Structured Outputs answer 400 for a strict schema unless every object sets
`additionalProperties: false` and lists all its properties in `required`, the root is
an object, and only the keywords it supports appear (platform.openai.com/docs/guides/
structured-outputs, "Supported schemas"). Adapters send `strict: true` only when
`strict_problem` finds nothing, else `strict: false` (the schema still guides the model
and the answer is still validated); lint rule PC112 names the problem and its fix. The
schema is never rewritten: making an optional property required changes its meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["is_strict_compatible", "strict_problem"]

# What OpenAI documents as supported; anything else makes the schema non-strict.
_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum",
        "const", "anyOf", "description", "title", "$ref", "$defs", "definitions",
        "pattern", "format", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
        "exclusiveMinimum", "minItems", "maxItems",
    }
)  # fmt: skip
_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
_CACHE: dict[int, tuple[Mapping[str, Any], str | None]] = {}


def is_strict_compatible(schema: Mapping[str, Any]) -> bool:
    return strict_problem(schema) is None


def strict_problem(schema: Mapping[str, Any]) -> str | None:
    """None for a strict-compatible schema, else the first problem and where it is."""
    cached = _CACHE.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    if schema.get("type") != "object":
        problem: str | None = "the root must be `type: object`"
    else:
        problem = _problem(schema, "(root)")
    if len(_CACHE) > 1024:
        _CACHE.clear()
    _CACHE[id(schema)] = (schema, problem)
    return problem


def _problem(node: Any, where: str) -> str | None:
    if not isinstance(node, Mapping):
        return None if isinstance(node, bool) else f"{where} is not a schema"
    for key in node:
        if key not in _KEYWORDS:
            return f"{where} uses `{key}`, which strict mode does not support"
    fmt = node.get("format")
    if fmt is not None and (not isinstance(fmt, str) or fmt not in _FORMATS):
        return f"{where} uses format `{fmt}`, which strict mode does not support"
    types = node.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types)
    props = node.get("properties")
    if is_object or props is not None:
        if node.get("additionalProperties") is not False:
            return f"{where} is an object without `additionalProperties: false`"
        names = list(props) if isinstance(props, Mapping) else []
        required = node.get("required")  # not a list: PC013 says the schema is invalid
        listed = required if isinstance(required, list) else ()
        missing = [n for n in names if n not in listed]
        if missing:
            return f"{where} does not list {', '.join(missing)} in `required`"
    children: list[tuple[Any, str]] = []
    if isinstance(props, Mapping):
        children += [(v, f"{where}.{k}" if where != "(root)" else str(k)) for k, v in props.items()]
    if "items" in node:
        children.append((node["items"], f"{where}[]"))
    any_of = node.get("anyOf")
    for i, sub in enumerate(any_of if isinstance(any_of, list) else ()):
        children.append((sub, f"{where}.anyOf[{i}]"))
    for defs in ("$defs", "definitions"):
        table = node.get(defs)
        for k, v in table.items() if isinstance(table, Mapping) else ():
            children.append((v, f"{defs}.{k}"))
    for child, at in children:
        problem = _problem(child, at)
        if problem:
            return problem
    return None
