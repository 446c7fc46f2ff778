"""The PyYAML side of `yaml_loader`: compose the node tree and walk it into plain data
with the position of every key and value, refusing duplicate keys, alias bombs, keys
that are not strings and scalars Python cannot read. Imported only when the parse cache
(`parse_cache`) does not already hold the file's parse."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import yaml

from promptctl.errors import PromptFileError, SourceLocation
from promptctl.promptfile.safe_io import MAX_DEPTH
from promptctl.promptfile.yaml_events import build_plain
from promptctl.promptfile.yaml_loader import LocatedYaml, _escape

__all__ = ["parse", "syntax_hint"]

_MAX_NODES = 200_000  # guards against alias bombs ("billion laughs")

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAGS: dict[tuple[Any, ...], str] = {}  # (kind, value, implicit) -> the tag YAML gives it
_MAX_TAGS = 50_000


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """PyYAML's safe loader, remembering which tag a plain value resolves to: the C
    composer asks Python for every scalar, and the answer for `name`, `ok`, `true`, `5`
    is the same each time (its implicit resolvers are regular expressions, tried in
    turn). ~35% of the composer's time on a suite of many similar tests."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        key = (kind, value, implicit)
        tag = _TAGS.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(_TAGS) < _MAX_TAGS and self.yaml_path_resolvers == {}:
                _TAGS[key] = tag
        return tag


def _line_at(text: str, index: int) -> str:
    lines = text.splitlines()
    return lines[index] if 0 <= index < len(lines) else ""


def _named(problem: str, line: str, loc: SourceLocation) -> str:
    """PyYAML's "found character that cannot start any token", with the character."""
    if problem.startswith("found character") and loc.column and 0 < loc.column <= len(line):
        return f"found {line[loc.column - 1]!r}, which cannot start a plain YAML value"
    return problem


_QUOTE_IT = (
    "write the whole text in quotes ('...', doubling any ' inside), or as a block: `|` "
    "after the key and the text on the next lines, indented"
)


def syntax_hint(problem: str, context: str, line: str) -> str | None:
    """How to fix the YAML mistakes prompt authors make (the text of a message unquoted),
    from PyYAML's problem and the line it points at."""
    value = line.split(": ", 1)[1] if ": " in line else line
    if "{{" in value or "{%" in value:
        return f"a value with a Jinja tag ({{{{ }}}} or {{% %}}) must be quoted: {_QUOTE_IT}"
    if "mapping values are not allowed" in problem:
        return f"a value containing ': ' must be quoted: {_QUOTE_IT}"
    if problem.startswith("found character"):
        return f"a value starting with @, ` or % must be quoted: {_QUOTE_IT}"
    if "quoted scalar" in context:
        return "a quoted value is not closed: add its closing quote"
    return None


def _tab_at(text: str, loc: SourceLocation) -> bool:
    """Whether the error points at (or just after) a tab: PyYAML's message never says so."""
    lines = text.splitlines()
    if loc.line is None or loc.column is None or not 0 < loc.line <= len(lines):
        return False
    return "\t" in lines[loc.line - 1][max(loc.column - 2, 0) : loc.column]


def parse(text: str, path: Path) -> LocatedYaml:
    """Parse one YAML document with its locations; raises PromptFileError. A document of
    plain mappings, lists and scalars is built from the parser's events (`yaml_events`);
    anything else, and any error, is composed and walked here."""
    plain = _Loader(text)
    try:
        result = LocatedYaml(path=path, data=None)
        if build_plain(plain, result, _Walker(plain, result)._scalar, _MAX_NODES):
            return result
    finally:
        plain.dispose()
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise PromptFileError("file is empty", location=SourceLocation(path, 1, 1))
        result = LocatedYaml(path=path, data=None)
        walker = _Walker(loader, result)
        result.data = walker.walk(node, "", 0)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if "quoted scalar" in (exc.context or "") and exc.context_mark is not None:
            mark = exc.context_mark  # the quote left open, not the end of the file
        loc = SourceLocation(path, mark.line + 1, mark.column + 1) if mark else SourceLocation(path)
        problem = exc.problem or exc.context or "invalid YAML"
        if _tab_at(text, loc):
            raise PromptFileError(
                "YAML syntax error: a tab character where YAML expects spaces",
                location=loc,
                hint="indent with spaces; replace the tab",
            ) from None
        line = _line_at(text, mark.line) if mark else ""
        raise PromptFileError(
            f"YAML syntax error: {_named(problem, line, loc)}",
            location=loc,
            hint=syntax_hint(problem, exc.context or "", line),
        ) from None
    except yaml.YAMLError as exc:
        raise PromptFileError(f"YAML error: {exc}", location=SourceLocation(path)) from None
    finally:
        loader.dispose()
    return result


_STR = "tag:yaml.org,2002:str"
_SCALAR = yaml.ScalarNode
_MERGE = "tag:yaml.org,2002:merge"


class _Walker:
    """Builds plain data from composed nodes, recording positions by JSON pointer."""

    def __init__(self, loader: yaml.SafeLoader, out: LocatedYaml) -> None:
        self._loader = loader
        self._out = out
        self._values = out.values
        self._count = 0
        self._stack: set[int] = set()

    def _scalar(self, node: yaml.Node) -> Any:
        if node.tag == _STR:
            return node.value  # fast path: most nodes are plain strings
        try:
            value = self._loader.construct_object(node, deep=True)
        except (ValueError, TypeError, AttributeError, OverflowError, LookupError) as exc:
            # `2024-13-45` as a date, an integer of 5,000 digits, `!!timestamp 99999-01-01`
            # (PyYAML's own AttributeError), `!!bool maybe` (its KeyError)
            shown = node.value if len(node.value) <= 40 else node.value[:40] + "…"
            tag = node.tag.rsplit(":", 1)[-1]
            if "integer string conversion" in str(exc):
                reason = f"an integer of {len(node.value):,} digits (Python reads at most 4,300)"
            elif isinstance(exc, ValueError):
                reason = str(exc)
            else:
                reason = f"not a valid !!{tag}"
            raise PromptFileError(
                f"{shown!r} cannot be read as YAML reads it: {reason}",
                location=SourceLocation(self._out.path, *_pos(node)),
                hint="quote it to keep it as text",
            ) from None
        if type(value) is float and not math.isfinite(value):
            raise PromptFileError(
                f"{node.value!r} is read as {'NaN' if value != value else 'an infinity'},"
                " which JSON has not",
                location=SourceLocation(self._out.path, *_pos(node)),
                hint=f"quote it for the text: '{node.value}', or give a number",
            )
        return value

    def walk(self, node: yaml.Node, ptr: str, depth: int) -> Any:
        self._count += 1
        if depth > MAX_DEPTH:
            raise PromptFileError(
                f"data is nested more than {MAX_DEPTH} levels deep",
                location=SourceLocation(self._out.path, *_pos(node)),
                hint="flatten the structure",
            )
        if self._count > _MAX_NODES:
            raise PromptFileError(
                f"document expands to more than {_MAX_NODES:,} nodes (alias bomb?)",
                location=SourceLocation(self._out.path),
            )
        values = self._values
        if ptr not in values:
            mark = node.start_mark
            values[ptr] = (mark.line + 1, mark.column + 1)
        if type(node) is _SCALAR:
            style = node.style
            if style == "|" or style == ">":
                self._out.block_scalars.add(ptr)
            if node.tag == _STR:
                return node.value
            return self._scalar(node)
        if id(node) in self._stack:
            raise PromptFileError(
                "recursive YAML alias", location=SourceLocation(self._out.path, *_pos(node))
            )
        self._stack.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [
                    self.walk(child, f"{ptr}/{i}", depth + 1) for i, child in enumerate(node.value)
                ]
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, ptr, depth)
        finally:
            self._stack.discard(id(node))
        return self._loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, ptr: str, depth: int) -> dict[Any, Any]:
        pairs = node.value
        names: list[Any] | None = self._key_names(pairs, ptr)
        if names is None:  # a merge key (`<<`): checked without it, then merged
            self._check_duplicates([(k, v) for k, v in pairs if k.tag != _MERGE], ptr)
            self._loader.flatten_mapping(node)
            pairs = node.value
            # the merged keys too are plain strings (`<<: {[a]: 1}` brought a list as a
            # key, which no dict holds: a TypeError, not a finding)
            names = [sys.intern(self._key(k)) for k, _ in pairs]
        data: dict[Any, Any] = {}
        keys = self._out.keys
        for (key_node, value_node), key in zip(pairs, names, strict=True):
            child = f"{ptr}/{_escape(key if type(key) is str else str(key))}"
            if child not in keys:
                keys[child] = _pos(key_node)
            data[key] = self.walk(value_node, child, depth + 1)
        return data

    def _key_names(self, pairs: list[tuple[yaml.Node, yaml.Node]], ptr: str) -> list[str] | None:
        """The keys of a mapping, each checked to be a string (interned: `name`, `vars`,
        `assert`… once each, not once per test), duplicates recorded; None when a merge
        key is among them (the caller takes the merge path)."""
        names: list[str] = []
        seen: dict[str, int] = {}
        duplicates: list[tuple[str, tuple[int, int], int]] = []
        for key_node, _ in pairs:
            tag = key_node.tag
            if tag == _STR and type(key_node) is _SCALAR:
                key = key_node.value  # the common case, without a call
            elif tag == _MERGE:
                return None
            else:
                key = self._key(key_node)
            if key in seen:
                duplicates.append((f"{ptr}/{_escape(key)}", _pos(key_node), seen[key]))
            else:
                seen[key] = key_node.start_mark.line + 1
            names.append(sys.intern(key))
        self._out.duplicates.extend(duplicates)
        return names

    def _key(self, key_node: yaml.Node) -> str:
        """A mapping key's string; an error for any other kind of key."""
        if not isinstance(key_node, yaml.ScalarNode):
            raise PromptFileError(
                "mapping keys must be plain scalars",
                location=SourceLocation(self._out.path, *_pos(key_node)),
            )
        key = self._scalar(key_node)
        if type(key) is not str:
            raise PromptFileError(
                f"the key {key_node.value!r} is read as {_kind(key)}; keys must be strings",
                location=SourceLocation(self._out.path, *_pos(key_node)),
                hint=f"quote it: '{key_node.value}':",
            )
        return key

    def _check_duplicates(self, pairs: list[tuple[yaml.Node, yaml.Node]], ptr: str) -> None:
        seen: dict[str, int] = {}
        for key_node, _ in pairs:
            key = self._key(key_node)
            if key in seen:
                dup = f"{ptr}/{_escape(key)}"
                self._out.duplicates.append((dup, _pos(key_node), seen[key]))
            else:
                seen[key] = key_node.start_mark.line + 1


def _kind(value: Any) -> str:
    """What YAML made of an unquoted key (`00` a number, `yes` a boolean, `~` null)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"  # date, datetime, bytes


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1
