"""The top-level `id:` of a prompt file, read from PyYAML's events up to that key
(`selection.declared_id`'s YAML half, imported only when a file may name its id)."""

from __future__ import annotations

from typing import Any

import yaml

from promptctl.promptfile.selection import UNKNOWN, maybe_id

__all__ = ["scan_id"]

_EVENT_BUDGET = 400  # events read before `id:` (the keys before it are skipped)
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def scan_id(text: str) -> str | None:
    """The string of the top-level `id:`, None if there is none, else `UNKNOWN`."""
    loader = _Loader(text)
    try:
        return _scan(loader, text)
    except yaml.YAMLError:
        return UNKNOWN
    finally:
        loader.dispose()


def _scan(loader: yaml.SafeLoader, text: str) -> str | None:
    for _ in range(3):  # stream start, document start, the top-level collection
        event = _next(loader)
        if isinstance(event, yaml.MappingStartEvent):
            break
        if not isinstance(event, yaml.StreamStartEvent | yaml.DocumentStartEvent):
            return UNKNOWN  # not a mapping: the loader refuses the file
    else:
        return UNKNOWN
    budget = _EVENT_BUDGET
    while budget > 0:
        key = _next(loader)
        if isinstance(key, yaml.MappingEndEvent):
            return None  # every top-level key read, none is `id`
        if not isinstance(key, yaml.ScalarEvent):
            return UNKNOWN  # an alias or a complex key: load the file to be sure
        if key.value == "id" and key.tag is None:  # plain or quoted: the string `id`
            return _id_value(loader, text)
        if key.value in ("id", "<<"):
            return UNKNOWN  # a tagged `id`, or a merge that may bring one
        budget = _skip_value(loader, budget - 1)
    return UNKNOWN


def _id_value(loader: yaml.SafeLoader, text: str) -> str | None:
    value = _next(loader)
    if not isinstance(value, yaml.ScalarEvent) or value.tag is not None or value.anchor:
        return UNKNOWN
    if not value.style and _implicit_tag(loader, value.value) != "tag:yaml.org,2002:str":
        return UNKNOWN  # `id: 12`, `id: null`, `id: yes`: the schema check reports it
    end = value.end_mark.index if value.end_mark is not None else 0
    if maybe_id(text, end):
        return UNKNOWN  # a second `id:` may follow (and would win)
    return str(value.value) or UNKNOWN  # `id: ''` falls back to the path-derived id


def _implicit_tag(loader: yaml.SafeLoader, value: str) -> str:
    return str(loader.resolve(yaml.ScalarNode, value, (True, False)))  # type: ignore[no-untyped-call]


def _next(loader: yaml.SafeLoader) -> Any:
    return loader.get_event()  # type: ignore[no-untyped-call]


def _skip_value(loader: yaml.SafeLoader, budget: int) -> int:
    """Consume one value's events; the budget left (<= 0: stop and load the file)."""
    depth = 0
    while budget > 0:
        event = _next(loader)
        budget -= 1
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1
        if depth == 0:
            return budget
    return 0
