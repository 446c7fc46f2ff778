"""How long the text a template operation would build is, computed before it is built.

`LimitedSandbox` (`promptfile.sandbox`) refuses an operation whose result would pass
`MAX_OUTPUT_CHARS`; these functions give the size from the operands alone, so a refused
operation costs nothing: `text_size` for printing a value (a list of 1,000 references to
one string prints 1,000 copies), the others for the filters and str methods that can
make a text many times their input (`replace`, `indent`, a format with many
placeholders, ...).
"""

from __future__ import annotations

import re
from collections.abc import ItemsView, KeysView, Mapping, ValuesView
from typing import Any

from promptctl.promptfile.sandbox_limits import MAX_ARGUMENT, MAX_OUTPUT_CHARS

__all__ = [
    "BRACE_NUMBER",
    "CONTAINERS",
    "GROWING",
    "PERCENT_WIDTH",
    "argument",
    "format_size",
    "grown_size",
    "indented_size",
    "joined_size",
    "percent_values",
    "text_size",
]

PERCENT_WIDTH = re.compile(r"%[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
BRACE_NUMBER = re.compile(r"\{[^{}]*?(\d+)[^{}]*\}")
_NESTED_FIELD = re.compile(r"\{[^{}]*\{")
CONTAINERS = (list, tuple, dict, set, frozenset)
# what prints its items: the containers and a dict's views (`{{ d.keys() }}`)
_WALKED = (*CONTAINERS, KeysView, ValuesView, ItemsView)
_SCALAR = 32  # a number, None, or an object's short repr, as printed


def text_size(value: Any, limit: int = MAX_OUTPUT_CHARS) -> int:
    """About how many characters `str(value)` has, counted only until it passes `limit`.

    Containers are walked: a string inside one counts with its quotes and separator,
    a container met twice counts twice (printing repeats it), except inside itself
    (printed `[...]`)."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, _WALKED):
        return _scalar_size(value)
    if type(value) is list or type(value) is tuple:  # the common case: a list of strings
        flat = 2 + 2 * len(value)
        for item in value:
            if type(item) is not str:
                break
            flat += len(item) + 2
            if flat > limit:
                return flat
        else:
            return flat
    total = 0
    stack: list[Any] = [value]
    path: set[int] = set()  # the containers being walked: one met again is inside itself
    while stack:
        item = stack.pop()
        if type(item) is _Leave:
            path.discard(item.id)
        elif isinstance(item, str):
            total += len(item) + 4
        elif isinstance(item, _WALKED):
            total += 2 + 2 * len(item)
            if total > limit:
                return total
            if id(item) in path:
                continue
            path.add(id(item))
            stack.append(_Leave(id(item)))
            if isinstance(item, Mapping):
                stack.extend(item.keys())
                stack.extend(item.values())
            else:
                stack.extend(item)
        else:
            total += _scalar_size(item)
        if total > limit:
            return total
    return total


class _Leave:
    """On `text_size`'s stack: the walk of container `id` is done."""

    __slots__ = ("id",)

    def __init__(self, ident: int) -> None:
        self.id = ident


def _scalar_size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() // 3 + 2  # decimal digits, rounded up
    if isinstance(value, bytes | bytearray):
        return 4 * len(value) + 3
    if value is None or isinstance(value, bool):
        return 5
    if isinstance(value, float):
        return 24
    if type(value).__name__ == "Namespace":  # jinja's `namespace()` prints its dict
        attrs = getattr(value, "_Namespace__attrs", None)
        return 13 + text_size(attrs) if isinstance(attrs, dict) else _SCALAR
    return _SCALAR


# Filters and str methods whose text can be many times their input's (`_grown_size`).
GROWING = frozenset(
    {
        "urlize",
        "expandtabs",
        "format",
        "format_map",
        "indent",
        "join",
        "replace",
        "translate",
        "wordwrap",
    }
)


def argument(args: tuple[Any, ...], kwargs: Mapping[str, Any], at: int, name: str) -> Any:
    return args[at] if len(args) > at else kwargs.get(name)


def _replaced_size(text: str, old: Any, new: Any, count: Any) -> int:
    """How long `text.replace(old, new, count)` would be."""
    if not isinstance(old, str) or not isinstance(new, str):
        return len(text)
    times = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    return len(text) + times * (len(new) - len(old))


def grown_size(
    name: str, text: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], *, method: bool
) -> int:
    """How long the text a growing filter or (`method`) str method makes of `text` would
    be (its other arguments in `args`/`kwargs`); `len(text)` for the others."""
    if name == "replace":
        return _replaced_size(
            text,
            argument(args, kwargs, 0, "old"),
            argument(args, kwargs, 1, "new"),
            argument(args, kwargs, 2, "count"),
        )
    if name == "indent":
        width = argument(args, kwargs, 0, "width")
        width = 4 if width is None else width
        step = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        return len(text) + (text.count("\n") + 1) * step
    if name == "wordwrap":
        width = argument(args, kwargs, 0, "width")
        wrap = argument(args, kwargs, 2, "wrapstring")
        lines = len(text) // max(width if isinstance(width, int) else 79, 1) + 1
        return 2 * len(text) + lines * (len(wrap) if isinstance(wrap, str) else 1)
    if name == "format_map":
        mapping = argument(args, kwargs, 0, "mapping")
        return format_size(text, mapping.values() if isinstance(mapping, Mapping) else (), True)
    if name == "format":  # the filter is `text % args`, the method `text.format(…)`
        return format_size(text, (*args, *kwargs.values()), method)
    if name == "urlize":  # every word may become <a href="word" target=… rel=…>word</a>
        words = text.count(" ") + text.count("\n") + 1
        return 3 * len(text) + words * (text_size(args) + text_size(kwargs) + 40)
    if name == "expandtabs":
        size = argument(args, kwargs, 0, "tabsize")
        return len(text) + text.count("\t") * (size if isinstance(size, int) else 8)
    if name == "translate":
        table = argument(args, kwargs, 0, "table")
        widest = (
            max((text_size(v) for v in table.values()), default=1)
            if isinstance(table, Mapping)
            else 1
        )
        return len(text) * max(widest, 1)
    if name == "join":  # str.join(items): `text` is the separator
        items = argument(args, kwargs, 0, "iterable")
        if isinstance(items, CONTAINERS):
            return text_size(items) + len(text) * max(len(items) - 1, 0)
    return len(text)


def percent_values(right: Any) -> tuple[Any, ...]:
    """The values `fmt % right` formats."""
    if isinstance(right, tuple):
        return right
    if isinstance(right, Mapping):
        return tuple(right.values())
    return (right,)


def format_size(fmt: str, values: Any, brace: bool) -> int:
    """An upper bound of the text `fmt` makes of `values`: each placeholder (a `%` or
    a `{`) as wide as the widest value or width, so `'%(a)s' * 10**6 % {'a': big}`
    counts its million copies."""
    widest = max((text_size(v) for v in values), default=0)
    pattern = BRACE_NUMBER if brace else PERCENT_WIDTH
    for match in pattern.finditer(fmt):
        for group in match.groups():
            if group and group.isdigit():
                widest = max(widest, int(group) if len(group) <= 6 else MAX_OUTPUT_CHARS + 1)
    if brace and _NESTED_FIELD.search(fmt):  # '{0:{1}}': a width from the arguments
        widest = max(widest, MAX_ARGUMENT)
    return len(fmt) + fmt.count("{" if brace else "%") * widest


def indented_size(value: Any, indent: int) -> int:
    """How long `value|tojson(indent=indent)` would be: its text, and with an indent
    each item on a line of its own, indented by its depth."""
    total = text_size(value)
    if not indent:
        return total
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack and total <= MAX_OUTPUT_CHARS:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            total += len(item) * (depth * indent + 1)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list | tuple):
            total += len(item) * (depth * indent + 1)
            stack.extend((v, depth + 1) for v in item)
    return total


def joined_size(items: Any, sep: Any) -> int:
    """How long the `join` filter's text of `items` would be."""
    if isinstance(items, str):
        return len(items) * (1 + len(sep) if isinstance(sep, str) else 1)
    if not isinstance(items, CONTAINERS):
        return text_size(items)
    return text_size(items) + (len(sep) if isinstance(sep, str) else 0) * max(len(items) - 1, 0)
