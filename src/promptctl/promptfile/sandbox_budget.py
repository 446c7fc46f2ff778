"""What one render may spend: loop iterations, time, and the text any value turns into.

`LimitedSandbox` (`promptfile.sandbox`) asks this module at every point where a template
can grow memory or spin: each loop iteration, each concatenation (`~`, captured blocks),
each value printed, each filter and method call. A value's text is measured *before*
it is made: `{{ [big] * 1000 }}` holds 1,000 references to one string (cheap), but
printing it would build 1,000 copies.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from promptctl.errors import RenderError
from promptctl.promptfile.sandbox_limits import (
    MAX_BUILT_CHARS,
    MAX_LOOP_ITEMS,
    MAX_OUTPUT_CHARS,
    MAX_RENDER_SECONDS,
)
from promptctl.promptfile.sandbox_sizes import text_size

__all__ = [
    "Budget",
    "check_text",
    "check_value",
    "checked_concat",
    "checked_list",
    "current_budget",
    "limited_iter",
    "refuse",
    "render_budget",
    "spend",
]

_HINT = "templates are limited in size and work; see docs/prompt-format.md#limits"


def refuse(what: str) -> RenderError:
    return RenderError(f"template refused: {what}", hint=_HINT)


class Budget:
    """One render's allowance: `MAX_LOOP_ITEMS` loop iterations in total (nested loops
    multiply), `MAX_RENDER_SECONDS` of time, checked every 1,024 iterations and at every
    filter and call, and `MAX_BUILT_CHARS` of text built on the way (`spend`)."""

    __slots__ = ("built", "deadline", "loops_left")

    def __init__(self) -> None:
        self.loops_left = MAX_LOOP_ITEMS
        self.deadline = time.monotonic() + MAX_RENDER_SECONDS
        self.built = 0

    def tick(self) -> None:
        self.loops_left -= 1
        if self.loops_left < 0:
            raise refuse(f"loops over more than {MAX_LOOP_ITEMS:,} items in total")
        if not self.loops_left & 1023:
            self.check_time()

    def spend(self, chars: int) -> None:
        self.built += chars
        if self.built > MAX_BUILT_CHARS:
            raise refuse(f"the template built more than {MAX_BUILT_CHARS:,} characters in all")

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise refuse(f"rendering ran longer than {MAX_RENDER_SECONDS:g} s")

    def iterate(self, items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            self.tick()
            yield item


_budget: ContextVar[Budget | None] = ContextVar("promptctl_render_budget", default=None)


def current_budget() -> ContextVar[Budget | None]:
    """The variable holding the running render's budget (None outside a render)."""
    return _budget


@contextmanager
def render_budget() -> Iterator[Budget]:
    """A fresh `Budget` for what runs inside (a render, a route's `when` expression)."""
    budget = Budget()
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def limited_iter(items: Iterable[Any]) -> Iterable[Any]:
    """What a `{% for %}` loop iterates: `items`, each iteration counted and timed."""
    budget = _budget.get()
    return items if budget is None else budget.iterate(items)


def check_text(size: int, what: str) -> None:
    if size > MAX_OUTPUT_CHARS:
        raise refuse(
            f"{what} would be {size:,}+ characters, over the limit of {MAX_OUTPUT_CHARS:,}"
        )


def check_value(value: Any, what: str) -> Any:
    """`value` itself, if it is not a string or container larger than the limit (its
    length: items of a container are references, measured when printed)."""
    sized = isinstance(value, str | list | tuple | dict | set | frozenset)
    if sized and len(value) > MAX_OUTPUT_CHARS:
        unit = "characters" if isinstance(value, str) else "items"
        raise refuse(f"{what} has {len(value):,} {unit}, over the limit of {MAX_OUTPUT_CHARS:,}")
    return value


def checked_list(items: Iterable[Any], what: str) -> list[Any]:
    """`list(items)` for a lazy iterable (a `map`, `select`, generator): each item
    counted as a loop iteration, and refused once the items' text passes the limit."""
    budget = _budget.get()
    out: list[Any] = []
    size = 0
    for item in items:
        if budget is not None:
            budget.tick()
        size += len(item) + 4 if type(item) is str else text_size(item, MAX_OUTPUT_CHARS - size)
        if size > MAX_OUTPUT_CHARS:
            check_text(size, what)
        out.append(item)
    return out


def spend(chars: int) -> None:
    """Charge `chars` of built text to the running render's budget (if one runs)."""
    budget = _budget.get()
    if budget is not None:
        budget.spend(chars)


def checked_concat(parts: Iterable[Any]) -> str:
    """`"".join(map(str, parts))` (Jinja's `~` and captured blocks), measured first."""
    pieces = parts if isinstance(parts, list | tuple) else checked_list(parts, "a joined text")
    size = 0
    for part in pieces:
        size += len(part) if type(part) is str else text_size(part, MAX_OUTPUT_CHARS - size)
        if size > MAX_OUTPUT_CHARS:
            check_text(size, "a joined text")
    spend(size)
    return "".join([p if type(p) is str else str(p) for p in pieces])
