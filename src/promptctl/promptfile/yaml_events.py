"""The common YAML document built straight from the parser's events, without the node tree.

Prompt files are mappings, lists and scalars, nothing else. For them the composer's work
(a Python node object per value, each scalar's tag asked of Python) is the larger part
of parsing (a 50-test file: 2.0 ms composed and walked, 1.5 ms from the events; 10,000
tests in a fresh process: 0.94 -> 0.66 s); this module builds the same data and the
same positions from the events in one pass.

It declines, and `yaml_parse` composes and walks the text as before, for everything
else: an anchor, an alias, an explicit tag, a merge key (`<<`), a key that is not a
plain string, a duplicate key, nesting past `MAX_DEPTH`, more than one document, an
empty one, or a syntax error. Those documents (read twice: the events up to the first
such thing, then the composer) get exactly the old path's data, positions and errors
(tests/promptfile/test_yaml_events.py compares both paths on every YAML file of the
repository and on generated documents).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import yaml

from promptctl.errors import PromptFileError
from promptctl.promptfile.safe_io import MAX_DEPTH
from promptctl.promptfile.yaml_loader import LocatedYaml, _escape

__all__ = ["build_plain"]

_STR = "tag:yaml.org,2002:str"
_Scalar = yaml.ScalarEvent
_MapStart, _MapEnd = yaml.MappingStartEvent, yaml.MappingEndEvent
_SeqStart, _SeqEnd = yaml.SequenceStartEvent, yaml.SequenceEndEvent
_Node = yaml.ScalarNode
_PLAIN_TAGS = (None, "!")  # no tag, or the non-specific one: resolved as the composer does


class _Decline(Exception):
    """The document uses something this builder leaves to the composer."""


def build_plain(
    loader: yaml.SafeLoader,
    out: LocatedYaml,
    scalar: Callable[[yaml.ScalarNode], Any],
    max_nodes: int,
) -> bool:
    """Fill `out` from `loader`'s events; False (with `out` untouched) to decline.

    `scalar`: how a scalar that is not a string becomes a value (the walker's own, with
    its errors); `max_nodes`: past it, the composer's path says why."""
    try:
        data, values, keys, blocks = _build(loader, scalar, max_nodes)
    except (_Decline, yaml.YAMLError, PromptFileError, AttributeError):
        # a value `scalar` refuses is declined too: the composer reads the whole text
        # first, so a syntax error further down is what the old path reports
        return False
    out.data = data
    out.values.update(values)
    out.keys.update(keys)
    out.block_scalars.update(blocks)
    return True


def _build(
    loader: yaml.SafeLoader, scalar: Callable[[yaml.ScalarNode], Any], max_nodes: int
) -> tuple[Any, dict[str, tuple[int, int]], dict[str, tuple[int, int]], set[str]]:
    get: Callable[[], Any] = loader.get_event
    resolve: Callable[[type, str, tuple[bool, bool]], str] = loader.resolve
    values: dict[str, tuple[int, int]] = {}
    keys: dict[str, tuple[int, int]] = {}
    blocks: set[str] = set()
    if type(get()) is not yaml.StreamStartEvent or type(get()) is not yaml.DocumentStartEvent:
        raise _Decline
    # the open collections: (container, its pointer, its keys so far or None for a list)
    stack: list[tuple[Any, str, set[str] | None]] = []
    container: Any = None
    ptr = ""
    seen: set[str] | None = None
    key: str | None = None  # a mapping's key waiting for its value
    root: Any = None
    count = 0
    while True:
        event = get()
        kind = type(event)
        if kind is _MapEnd or kind is _SeqEnd:
            if key is not None:
                raise _Decline  # (the parser never ends a mapping after a lone key)
            finished = container
            container, ptr, seen = stack.pop()
            if not stack and container is None:
                root = finished
                break
            continue
        if event.anchor is not None or event.tag not in _PLAIN_TAGS:
            raise _Decline  # also an alias: it has an anchor and no tag
        count += 1
        if count > max_nodes:
            raise _Decline
        if seen is not None and key is None:  # a mapping's key
            if kind is not _Scalar:
                raise _Decline
            name = event.value
            implicit = event.implicit
            if (implicit[0] and resolve(_Node, name, implicit) != _STR) or name in seen:
                raise _Decline  # a number, a boolean, `<<`, a duplicate: the composer's
            seen.add(name)
            key = sys.intern(name)
            mark = event.start_mark
            keys[f"{ptr}/{_escape(key)}"] = (mark.line + 1, mark.column + 1)
            continue
        if container is None:
            child = ""
        elif key is not None:
            child = f"{ptr}/{_escape(key)}"
        else:
            child = f"{ptr}/{len(container)}"
        mark = event.start_mark
        values[child] = (mark.line + 1, mark.column + 1)
        if kind is _Scalar:
            style = event.style
            if style == "|" or style == ">":
                blocks.add(child)
            implicit = event.implicit  # a quoted scalar is a string (no resolver asked)
            tag = resolve(_Node, event.value, implicit) if implicit[0] else _STR
            value = (
                event.value
                if tag == _STR
                else scalar(_Node(tag, event.value, mark, event.end_mark, style))
            )
        elif kind is _MapStart or kind is _SeqStart:
            if len(stack) >= MAX_DEPTH:
                raise _Decline
            value = {} if kind is _MapStart else []
        else:
            raise _Decline  # an alias (`*name`), or a second document
        if container is None:
            if kind is _Scalar:
                root = value
                break
        elif key is not None:
            container[key] = value
            key = None
        else:
            container.append(value)
        if kind is not _Scalar:
            stack.append((container, ptr, seen))
            container, ptr = value, child
            seen = set() if kind is _MapStart else None
    if type(get()) is not yaml.DocumentEndEvent or type(get()) is not yaml.StreamEndEvent:
        raise _Decline
    return root, values, keys, blocks
