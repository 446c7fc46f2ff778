"""The `$ref`s of a prompt's JSON Schemas (inputs, `output.schema`, tool parameters,
`json-schema` assertions): each must point inside its own schema, at something there,
and never loop back to check the same value again without end.

jsonschema would otherwise fetch nothing and fail with a traceback for a `$ref` to a
URL or file (`Unresolvable`), and recurse until Python's limit for `a -> b -> a`. An
input's schema is also re-rooted (`rebase_refs`) when it is placed inside the object
schema of all inputs, so its `#/$defs/…` keeps pointing into itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

__all__ = ["rebase_refs", "ref_problem"]

_REF_KEYS = ("$ref", "$dynamicRef")
_DATA_KEYS = frozenset({"const", "enum", "default", "examples"})  # values, not schemas
_NAME_MAPS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)  # a mapping of names to schemas (a property may be called `$ref`)
# subschemas that check the very value their schema checks (not a part of it): a `$ref`
# reached again only through these checks the same value forever
_SAME_VALUE_LISTS = ("allOf", "anyOf", "oneOf")
_SAME_VALUE_ONE = ("not", "if", "then", "else")
_Path = tuple[str | int, ...]


def ref_problem(schema: Any) -> tuple[_Path, str] | None:
    """Why a `$ref` of `schema` cannot be used: (the path of the keyword, what is
    wrong), or None."""
    anchors: dict[str, _Path] = {}
    refs: list[tuple[_Path, str]] = []
    for path, node in _schemas(schema, ()):
        if path and "$id" in node:
            return (*path, "$id"), (
                "a nested `$id` is not supported: refer to `$defs` by '#/$defs/…' instead"
            )
        for key in ("$anchor", "$dynamicAnchor"):
            if isinstance(node.get(key), str):
                anchors[node[key]] = path
        refs.extend(((*path, key), node[key]) for key in _REF_KEYS if key in node)
    targets: dict[str, _Path] = {}
    for where, ref in refs:
        target = _resolve(schema, ref, anchors) if isinstance(ref, str) else None
        if target is None:
            return where, _unresolved(ref)
        targets[ref] = target
    loop = _same_value_loop(schema, targets)
    if loop:
        chain = " -> ".join(repr(r) for r in loop)
        return (), f"$ref loop {chain}: the same value would be checked forever"
    return None


def rebase_refs(schema: Any, prefix: _Path) -> Any:
    """`schema` (a copy) as it reads when placed at `prefix` inside another schema:
    each local pointer `#/x` becomes `#/<prefix>/x`."""
    base = "#" + "".join("/" + _escape(str(token)) for token in prefix)
    return _rebased(schema, base)


def _rebased(node: Any, base: str) -> Any:
    if isinstance(node, list):
        return [_rebased(item, base) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[Any, Any] = {}
    for key, value in node.items():
        if key in _REF_KEYS and isinstance(value, str) and (value == "#" or value[:2] == "#/"):
            out[key] = base + value[1:]
        elif key in _DATA_KEYS:
            out[key] = value
        else:
            out[key] = _rebased(value, base)
    return out


def _schemas(node: Any, path: _Path) -> Iterator[tuple[_Path, dict[Any, Any]]]:
    """Every schema object in `node` with its path (values of data keywords left out)."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _schemas(item, (*path, i))
        return
    if not isinstance(node, dict):
        return
    yield path, node
    for key, value in node.items():
        if key in _NAME_MAPS and isinstance(value, dict):  # name -> schema
            for name, sub in value.items():
                yield from _schemas(sub, (*path, key, name))
        elif key not in _DATA_KEYS:
            yield from _schemas(value, (*path, key))


def _resolve(root: Any, ref: str, anchors: dict[str, _Path]) -> _Path | None:
    if not ref.startswith("#"):
        return None
    fragment = unquote(ref[1:])
    if not fragment:
        return ()
    if not fragment.startswith("/"):
        return anchors.get(fragment)
    node: Any = root
    path: _Path = ()
    for raw in fragment[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node, path = node[token], (*path, token)
        elif (
            isinstance(node, list)
            and token.isdigit()
            and len(token) < 10
            and int(token) < len(node)
        ):
            node, path = node[int(token)], (*path, int(token))
        else:
            return None
    return path if isinstance(node, dict | bool) else None


def _unresolved(ref: Any) -> str:
    if not isinstance(ref, str):
        return f"must be a string, not {type(ref).__name__}"
    if not ref.startswith("#"):
        return (
            f"{ref[:80]!r} is outside this schema: promptctl never fetches a schema "
            "(from the network or a file); copy it under `$defs` and refer to it as "
            "'#/$defs/…'"
        )
    return f"{ref[:80]!r} points to nothing in this schema"


def _same_value_loop(root: Any, targets: dict[str, _Path]) -> list[str] | None:
    """A chain of `$ref`s that comes back to where it started without descending into
    a part of the value (`a: {$ref: b}`, `b: {allOf: [{$ref: a}]}`), or None."""
    state: dict[_Path, int] = {}  # 1: on the current chain, 2: done

    def visit(path: _Path, chain: list[str]) -> list[str] | None:
        state[path] = 1
        for ref in _same_value_refs(_node_at(root, path)):
            target = targets[ref]
            if state.get(target) == 1:
                return [*chain, ref]
            if target not in state:
                found = visit(target, [*chain, ref])
                if found:
                    return found
        state[path] = 2
        return None

    for start in [(), *targets.values()]:
        if start not in state:
            found = visit(start, [])
            if found:
                return found
    return None


def _same_value_refs(node: Any) -> Iterator[str]:
    if not isinstance(node, dict):
        return
    for key in _REF_KEYS:
        if isinstance(node.get(key), str):
            yield node[key]
    for key in _SAME_VALUE_LISTS:
        if isinstance(node.get(key), list):
            for sub in node[key]:
                yield from _same_value_refs(sub)
    for key in _SAME_VALUE_ONE:
        yield from _same_value_refs(node.get(key))
    if isinstance(node.get("dependentSchemas"), dict):
        for sub in node["dependentSchemas"].values():
            yield from _same_value_refs(sub)


def _node_at(root: Any, path: _Path) -> Any:
    for token in path:
        root = root[token]
    return root


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
