"""A Jinja2 sandbox that also bounds memory and time, not only attribute access.

Jinja's `SandboxedEnvironment` stops `{{ ''.__class__ }}` but not `{{ 'x' * 10**10 }}`,
`{{ 10 ** 10 ** 10 }}`, `{{ 'x'|center(10**10) }}`, a string doubled in a loop
(`{% set ns.a = ns.a ~ ns.a %}`) or two nested loops over a long string: one line of a
pull request that kills the runner with a MemoryError, or hangs it. `LimitedSandbox`
refuses, before computing them:

- any text over `MAX_OUTPUT_CHARS` built by `*`, `+`, `~`, `%`, a captured block, a
  filter (`join`, `replace`, `indent`, `format`, `wordwrap`, `batch`, …) or a string
  method (`join`, `replace`, `expandtabs`, `format`, `translate`), or by printing a
  container (`{{ [big] * 1000 }}` is 1,000 references, but 1,000 copies once printed);
  lazy values (`map`, `select`, generators) are measured item by item where something
  holds all of them (`list`, `join`, `sort`, `''.join`, `extend`…);
- any string or container over `MAX_OUTPUT_CHARS` characters or items as a result of a
  filter or call (a list doubled by `extend` in a loop);
- `**` (and `*` of two integers) whose result would have more than `MAX_INT_BITS` bits;
- an integer argument over `MAX_ARGUMENT` to any call or filter (widths, counts);
- `%`/`.format` with a width or precision over `MAX_ARGUMENT`;
- ranges over `MAX_RANGE` items, more than `MAX_LOOP_ITEMS` loop iterations per render
  in total (every `for`, nested loops multiplied), and a render running longer than
  `MAX_RENDER_SECONDS`;

and `render_limited` stops once a template's output passes `MAX_OUTPUT_CHARS`. Each
refusal is a `RenderError`, which `render_messages` places at the message's file:line.
The per-render counting lives in `promptfile.sandbox_budget`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, ItemsView, KeysView, Mapping, ValuesView
from time import monotonic
from types import GeneratorType  # what map, select, batch… give: lazy values
from typing import Any

import jinja2
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import LoopContext, markup_join
from jinja2.sandbox import SandboxedEnvironment

from promptctl.promptfile.sandbox_budget import (
    Budget,
    check_text,
    check_value,
    checked_concat,
    checked_list,
    current_budget,
    limited_iter,
    refuse,
)
from promptctl.promptfile.sandbox_limits import (
    MAX_ARGUMENT,
    MAX_INT_BITS,
    MAX_OUTPUT_CHARS,
    MAX_RANGE,
)
from promptctl.promptfile.sandbox_sizes import (
    BRACE_NUMBER,
    GROWING,
    PERCENT_WIDTH,
    argument,
    format_size,
    grown_size,
    indented_size,
    joined_size,
    percent_values,
    text_size,
)

__all__ = ["LimitedSandbox", "render_limited"]

_PLAIN = (str, int, float, bool, type(None))  # printed at their own (checked) size
_SHORT = frozenset(_PLAIN)  # `type(value) in _SHORT`: cheaper than isinstance
_budget = current_budget()


def _check_int(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_ARGUMENT:
        shown = f"{value}" if value.bit_length() < 64 else f"of {value.bit_length():,} bits"
        raise refuse(f"{what} {shown} is over the limit of {MAX_ARGUMENT:,}")


def _check_args(args: tuple[Any, ...], kwargs: Mapping[str, Any], what: str) -> None:
    for value in (*args, *kwargs.values()):
        _check_int(value, what)


def _check_widths(fmt: str, pattern: re.Pattern[str]) -> None:
    for match in pattern.finditer(fmt):
        for group in match.groups():
            if group == "*":
                raise refuse("a `*` width in a format string")
            if group and group.isdigit() and (len(group) > 6 or int(group) > MAX_ARGUMENT):
                shown = group if len(group) <= 12 else f"of {len(group):,} digits"
                raise refuse(f"format width {shown} is over the limit of {MAX_ARGUMENT:,}")


# Filters that read a container as a container; every other filter prints its value
# (`{{ big_list|upper }}` is `str(big_list).upper()`), so a container it is handed is
# measured first.
_CONTAINER_FILTERS = frozenset(
    {
        "attr",
        "batch",
        "count",
        "d",
        "default",
        "dictsort",
        "first",
        "groupby",
        "items",
        "join",
        "last",
        "length",
        "list",
        "map",
        "max",
        "min",
        "random",
        "reject",
        "rejectattr",
        "reverse",
        "select",
        "selectattr",
        "slice",
        "sort",
        "sum",
        "unique",
    }
)
# Filters that hold every item of a lazy value (a `map`, `select`, generator) at once:
# it is taken item by item first, each counted and measured. Other filters keep Jinja's
# own behaviour with it (`first` takes one; `string` prints `<generator object …>`).
_CONSUMING = frozenset({"groupby", "join", "list", "reverse", "slice", "sort", "sum"})
# Filters whose arguments are data rather than sizes (`d|default(10**6)` is fine).
_VALUE_FILTERS = frozenset({"default", "d", "replace", "select", "reject", "attr", "map"})


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """The filter, with the limits of this module: integer arguments (after the piped
    value) over MAX_ARGUMENT, a lazy value taken item by item, the text it would make
    measured first, and its result's size. A plain string or number piped into a
    filter that cannot grow it takes the short way: this runs for every filter call."""
    at = 0 if getattr(func, "jinja_pass_arg", None) is None else 1  # after the context
    what = f"the result of |{name}"
    growing = name in GROWING
    consumes = name in _CONSUMING
    check_ints = name not in _VALUE_FILTERS and name != "format"

    def measure(value: Any, rest: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        if name == "format":  # `value % args`
            _check_widths(value, PERCENT_WIDTH)
        if name == "join":
            check_text(joined_size(value, argument(rest, kwargs, 0, "d")), what)
        elif name == "batch":
            fill = argument(rest, kwargs, 1, "fill_with")
            count = argument(rest, kwargs, 0, "linecount")
            if fill is not None and isinstance(count, int):
                check_text(text_size(fill) * count, what)
        elif growing and isinstance(value, str):
            check_text(grown_size(name, value, rest, kwargs, method=False), what)
        elif name == "tojson":
            indent = argument(rest, kwargs, 0, "indent")
            step = indent if isinstance(indent, int) and indent > 0 else 0
            check_text(indented_size(value, step), what)
        elif name not in _CONTAINER_FILTERS and not isinstance(value, _PLAIN):
            check_text(text_size(value), f"|{name} of a container")

    @functools.wraps(func)  # keeps Jinja's pass_context/pass_environment marker
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _budget.get()
        if budget is not None and monotonic() > budget.deadline:
            budget.check_time()
        value: Any = args[at] if len(args) > at else None
        if len(args) > at and (type(value) not in _SHORT or growing or name == "join"):
            rest = args[at + 1 :]
            if consumes and _unmeasured(value):  # a generator, a range, a dict view
                value = checked_list(value, f"the value piped into |{name}")
                args = (*args[:at], value, *rest)
            measure(value, rest, kwargs)
        if check_ints and (kwargs or len(args) > at + 1):
            _check_args(args[at + 1 :], kwargs, f"argument of |{name}")
        result = func(*args, **kwargs)
        if type(result) is str:
            if len(result) > MAX_OUTPUT_CHARS:
                check_value(result, what)
            if budget is not None and result is not value:
                budget.spend(len(result))
            return result
        return _built(check_value(result, what), budget)

    return guarded


def _safe_range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise refuse(f"range of {len(rng):,} items is over the limit of {MAX_RANGE:,}")
    return rng


class _LimitedCodeGenerator(CodeGenerator):
    """Jinja's code generator with two hooks the sandbox's methods cannot reach: every
    `for` loop iterates through `environment.limited_iter` (counted, timed), and `~`
    joins through `environment.concat_values` (measured before it is built)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loop_iterables: set[int] = set()

    def visit_For(self, node: jinja2.nodes.For, frame: Frame) -> None:
        self._loop_iterables.add(id(node.iter))
        super().visit_For(node, frame)

    def visit(self, node: jinja2.nodes.Node, *args: Any, **kwargs: Any) -> Any:
        if id(node) not in self._loop_iterables:
            return super().visit(node, *args, **kwargs)
        self.write("environment.limited_iter(")
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    def visit_Concat(self, node: jinja2.nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            markup = "context.eval_ctx.autoescape"
        else:
            markup = "True" if frame.eval_ctx.autoescape else "False"
        self.write("environment.concat_values((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(f"), {markup})")


def _finalize(value: Any) -> Any:
    """Every printed value (`{{ x }}`): a container (or a `namespace`) is measured
    before it becomes text."""
    if type(value) is not str and not isinstance(value, _PLAIN):
        check_text(text_size(value), "printing a value")
    return value


class LimitedSandbox(SandboxedEnvironment):
    """`SandboxedEnvironment` plus the size and work limits of this module."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _LimitedCodeGenerator
    concat = staticmethod(checked_concat)  # captured blocks: `{% set x %}`, macros, filters
    limited_iter = staticmethod(limited_iter)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.finalize = _finalize
        self.globals["range"] = _safe_range
        self.globals.pop("lipsum", None)  # lipsum(n) builds n paragraphs
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}

    @staticmethod
    def concat_values(parts: tuple[Any, ...], markup: bool) -> str:
        """`~`: Jinja's join of the parts as text, measured first."""
        if markup:
            check_text(sum(text_size(p) for p in parts), "a joined text")
            return markup_join(parts)  # a Markup when a part is one: not escaped again
        return checked_concat(parts)

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(n, int)
                if sized and len(seq) * n > MAX_OUTPUT_CHARS:
                    raise refuse(
                        f"repeating {len(seq):,} items {n:,} times is over the limit of "
                        f"{MAX_OUTPUT_CHARS:,}"
                    )
            if _big_ints(left, right):
                raise refuse(f"a product over the limit of {MAX_INT_BITS:,} bits")
        elif operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                check_text(len(left) + len(right), "adding two values with +")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if abs(left) > 1 and right * math.log2(abs(left)) > MAX_INT_BITS:
                raise refuse(f"{left} ** {right} is over the limit of {MAX_INT_BITS:,} bits")
        elif operator == "%" and isinstance(left, str):
            _check_widths(left, PERCENT_WIDTH)
            check_text(format_size(left, percent_values(right), False), "a `%` format")
        return _built(super().call_binop(context, operator, left, right), _budget.get())

    def call(
        __self,
        __context: jinja2.runtime.Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        budget = _budget.get()
        if budget is not None:
            budget.check_time()
        if __obj is not _safe_range:
            _check_args(args, kwargs, "argument")
        if isinstance(__obj, LoopContext) and args:  # `loop(children)`: a recursive loop
            args = (limited_iter(args[0]), *args[1:])
        target = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(target, "__self__", None)
        name = getattr(target, "__name__", "")
        if (owner, name) != (None, "") and _takes_all(owner, name):
            # `''.join(gen)`, `items.extend(gen)`: the lazy argument taken item by item
            args = tuple(checked_list(a, "an argument") if _unmeasured(a) else a for a in args)
        if isinstance(owner, str):
            if name in ("format", "format_map"):
                _check_widths(owner, BRACE_NUMBER)
            if name in GROWING:
                check_text(
                    grown_size(name, owner, args, kwargs, method=True), f"the result of .{name}()"
                )
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(owner, list | dict | set):  # `items.extend(items)` in a loop doubles
            check_value(owner, "a container grown by a call")
        return _built(check_value(result, "a call's result"), budget)


def _built(value: Any, budget: Budget | None) -> Any:
    """`value`, its length charged to the render's text budget when it is new text or a
    new list (a filter's, a method's or an operator's result)."""
    if budget is not None and type(value) in _BUILT:
        budget.spend(len(value))
    return value


_BUILT = frozenset({str, list, tuple})


def _unmeasured(value: Any) -> bool:
    """An iterable whose items `text_size` does not see: a generator (map, select…), a
    `range`, a dict's `keys()`/`values()`/`items()`; taken item by item where something
    holds them all (`range(10**5)|join(big)` is 10**5 separators)."""
    return type(value) is GeneratorType or isinstance(
        value, range | KeysView | ValuesView | ItemsView
    )


def _takes_all(owner: Any, name: str) -> bool:
    """Whether method `name` of `owner` holds every item of an iterable argument."""
    if isinstance(owner, str):
        return name == "join"
    return isinstance(owner, list | set | dict) and name in ("extend", "update", "union")


def _big_ints(left: Any, right: Any) -> bool:
    return (
        type(left) is int
        and type(right) is int
        and left.bit_length() + right.bit_length() > MAX_INT_BITS
    )


def render_limited(template: jinja2.Template, variables: Mapping[str, Any]) -> str:
    """Render, stopping once the output passes MAX_OUTPUT_CHARS, within one `Budget` of
    loop iterations and time."""
    token = _budget.set(Budget())  # as `render_budget()`, without a generator's cost
    try:
        parts: list[str] = []
        size = 0
        for chunk in template.generate(variables):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise refuse(f"output is over the limit of {MAX_OUTPUT_CHARS:,} characters")
            parts.append(chunk)
        return "".join(parts)
    finally:
        _budget.reset(token)
