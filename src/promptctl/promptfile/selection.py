"""Which prompt files an id glob can select, read from their text without loading them.

`promptctl test team/qa` in a project of 200 files should parse one file, not 200. A
glob selects a prompt by its id or by its file path (`matches`), and a file's id is its
top-level `id:` or else its path under prompts/. The path needs no reading; the `id:` is
found by `declared_id`, which reads the text only as far as that key, and answers
`UNKNOWN` whenever the text could be read two ways (the caller then loads the file).
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any, Final

import yaml

__all__ = ["UNKNOWN", "declared_id", "matches"]

UNKNOWN: Final = "\x00unknown"  # a file that must be loaded to know its id

# A key equal to `id` is written with the letters `id` (plain, quoted, tagged, anchored:
# a token of its own) or with escapes in a double-quoted scalar (a backslash). Text with
# neither has no `id:` key at all.
_WORD_ID = re.compile(r"\bid\b")
_EVENT_BUDGET = 400  # events read before `id:` (the keys before it are skipped)
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def matches(prompt_id: str, path: Path, glob: str) -> bool:
    """An id glob, or a path glob matched against the file path or any tail of it."""
    if fnmatch.fnmatchcase(prompt_id, glob):
        return True
    text = path.as_posix()
    tail = glob.removeprefix("./")
    return fnmatch.fnmatchcase(text, tail) or fnmatch.fnmatchcase(text, "*/" + tail)


def declared_id(text: str) -> str | None:
    """The string of the file's top-level `id:` key, None if it has none, else `UNKNOWN`.

    `UNKNOWN` for anything not read exactly the way the loader reads it: a YAML error
    before the key, an `id` that is not a plain string (`id: 12`, a tag, an alias), an
    alias or complex key before it, a second possible `id` later (duplicate keys keep
    the last), or a key too deep into the file.
    """
    if not _maybe_id(text, 0):
        return None
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
    if _maybe_id(text, end):
        return UNKNOWN  # a second `id:` may follow (and would win)
    return str(value.value) or UNKNOWN  # `id: ''` falls back to the path-derived id


def _maybe_id(text: str, start: int) -> bool:
    """Whether `text[start:]` has a backslash or `id` as a word of its own (`\\bid\\b`:
    str.find, ~10x faster than that regex on a prompt file)."""
    if text.find("\\", start) >= 0:
        return True
    at = text.find("id", start)
    for _ in range(64):  # `valid`, `provider`, `idea`…: a few in a prompt file
        if at < 0:
            return False
        before = text[at - 1] if at > 0 else " "
        after = text[at + 2] if at + 2 < len(text) else " "
        if not (_word(before) or _word(after)):
            return True
        at = text.find("id", at + 1)
    return at >= 0 and _WORD_ID.search(text, at) is not None  # `ididid…`: linear time


def _word(char: str) -> bool:
    return char.isalnum() or char == "_"  # what the regex `\w` matches


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
