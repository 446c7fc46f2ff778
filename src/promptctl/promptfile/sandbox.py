"""A Jinja2 sandbox that also bounds memory and time, not only attribute access.

Jinja's `SandboxedEnvironment` stops `{{ ''.__class__ }}` but not `{{ 'x' * 10**10 }}`,
`{{ 10 ** 10 ** 10 }}`, `{{ 'x'|center(10**10) }}` or `{{ range(10**9)|batch(10**9) }}`:
one line of a pull request that kills the runner (or an application) with a MemoryError.
`LimitedSandbox` refuses, before computing them:

- `*` that would build a string/list longer than `MAX_OUTPUT_CHARS`;
- `**` whose result would have more than `MAX_INT_BITS` bits;
- an integer argument over `MAX_ARGUMENT` to any call or filter (widths, counts);
- `%`/`.format` with a width or precision over `MAX_ARGUMENT`;
- ranges over `MAX_RANGE` items, and more than `MAX_LOOP_ITEMS` range items per render
  in total (nested loops);

and `render_limited` stops once a template's output passes `MAX_OUTPUT_CHARS`. Each
refusal is a `RenderError`, which `render_messages` places at the message's file:line.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from promptctl.errors import RenderError
from promptctl.promptfile.sandbox_limits import (
    MAX_ARGUMENT,
    MAX_INT_BITS,
    MAX_LOOP_ITEMS,
    MAX_OUTPUT_CHARS,
    MAX_RANGE,
)

__all__ = [
    "MAX_ARGUMENT",
    "MAX_INT_BITS",
    "MAX_LOOP_ITEMS",
    "MAX_OUTPUT_CHARS",
    "MAX_RANGE",
    "LimitedSandbox",
    "render_limited",
]

_HINT = "templates are limited in size and work; see docs/prompt-format.md#limits"
_PERCENT_WIDTH = re.compile(r"%[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_NUMBER = re.compile(r"\{[^{}]*?(\d+)[^{}]*\}")
_budget: ContextVar[list[int] | None] = ContextVar("promptctl_range_budget", default=None)


def _refuse(what: str) -> RenderError:
    return RenderError(f"template refused: {what}", hint=_HINT)


def _check_int(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_ARGUMENT:
        raise _refuse(f"{what} {value} is over the limit of {MAX_ARGUMENT:,}")


def _check_args(args: tuple[Any, ...], kwargs: Mapping[str, Any], what: str) -> None:
    for value in (*args, *kwargs.values()):
        _check_int(value, what)


def _check_widths(fmt: str, pattern: re.Pattern[str]) -> None:
    for match in pattern.finditer(fmt):
        for group in match.groups():
            if group == "*":
                raise _refuse("a `*` width in a format string")
            if group and group.isdigit() and int(group) > MAX_ARGUMENT:
                raise _refuse(f"format width {group} is over the limit of {MAX_ARGUMENT:,}")


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """The filter, refusing integer arguments (after the piped value) over MAX_ARGUMENT."""

    @functools.wraps(func)  # keeps Jinja's pass_context/pass_environment marker
    def guarded(*args: Any, **kwargs: Any) -> Any:
        rest = args[1:]
        if name == "format":  # `value|format(...)` is `value % args`: check the widths
            if args and isinstance(args[0], str):
                _check_widths(args[0], _PERCENT_WIDTH)
        elif name not in _VALUE_FILTERS:
            _check_args(rest, kwargs, f"argument of |{name}")
        return func(*args, **kwargs)

    return guarded


# Filters whose arguments are data rather than sizes (`d|default(10**6)` is fine).
_VALUE_FILTERS = frozenset({"default", "d", "replace", "select", "reject", "attr", "map"})


def _safe_range(*args: int) -> Iterator[int]:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise _refuse(f"range of {len(rng):,} items is over the limit of {MAX_RANGE:,}")
    budget = _budget.get()
    for item in rng:
        if budget is not None:
            budget[0] -= 1
            if budget[0] < 0:
                raise _refuse(f"loops over more than {MAX_LOOP_ITEMS:,} range items in total")
        yield item


class LimitedSandbox(SandboxedEnvironment):
    """`SandboxedEnvironment` plus the size and work limits of this module."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _safe_range
        self.globals.pop("lipsum", None)  # lipsum(n) builds n paragraphs
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(n, int)
                if sized and len(seq) * n > MAX_OUTPUT_CHARS:
                    raise _refuse(
                        f"repeating {len(seq):,} items {n:,} times is over the limit of "
                        f"{MAX_OUTPUT_CHARS:,}"
                    )
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if abs(left) > 1 and right * math.log2(abs(left)) > MAX_INT_BITS:
                raise _refuse(f"{left} ** {right} is over the limit of {MAX_INT_BITS:,} bits")
        elif operator == "%" and isinstance(left, str):
            _check_widths(left, _PERCENT_WIDTH)
        return super().call_binop(context, operator, left, right)

    def call(
        __self,
        __context: jinja2.runtime.Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if __obj is not _safe_range:
            _check_args(args, kwargs, "argument")
        target = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(target, "__self__", None)
        if isinstance(owner, str) and getattr(target, "__name__", "") in ("format", "format_map"):
            _check_widths(owner, _BRACE_NUMBER)
        return super().call(__context, __obj, *args, **kwargs)


def render_limited(template: jinja2.Template, variables: Mapping[str, Any]) -> str:
    """Render, stopping once the output passes MAX_OUTPUT_CHARS (and a loop budget)."""
    token = _budget.set([MAX_LOOP_ITEMS])
    try:
        parts: list[str] = []
        size = 0
        for chunk in template.generate(variables):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise _refuse(f"output is over the limit of {MAX_OUTPUT_CHARS:,} characters")
            parts.append(chunk)
        return "".join(parts)
    finally:
        _budget.reset(token)
