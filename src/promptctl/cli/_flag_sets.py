"""Declaring a set of CLI flags once: a dataclass whose fields are typer parameters.

`flag_set(EvalFlags, "flags")` turns a command `def test(flags: EvalFlags, ...)` into one
whose signature (what typer reads) has EvalFlags' fields in place of `flags`, and that
hands the command one `EvalFlags` built from them. Help texts, names and defaults of the
flags `test`, `diff` and `ci` share then live in one dataclass and cannot drift.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, get_type_hints

__all__ = ["flag_set"]

R = TypeVar("R")


def flag_set(cls: type[Any], name: str) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """A decorator replacing the parameter `name` of a command by `cls`'s fields."""
    hints = get_type_hints(cls, include_extras=True)
    shared = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=f.default,
            annotation=hints[f.name],
        )
        for f in dataclasses.fields(cls)
    ]

    def decorate(command: Callable[..., R]) -> Callable[..., R]:
        signature = inspect.signature(command, eval_str=True)
        if name not in signature.parameters:
            raise TypeError(f"{command.__name__} has no parameter {name!r}")
        params: list[inspect.Parameter] = []
        for param in signature.parameters.values():
            if param.name == name:
                params.extend(p.replace(kind=param.kind) for p in shared)
            else:
                params.append(param)

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> R:
            flags = cls(**{p.name: kwargs.pop(p.name) for p in shared})
            return command(**{name: flags}, **kwargs)

        wrapper.__dict__["__signature__"] = signature.replace(parameters=params)
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper

    return decorate
