"""`model.routes`: the first route whose `when` expression is true picks the model.

Expressions are Jinja2 expressions over the prompt's inputs, compiled once and cached
in the one sandboxed environment of `promptctl.render`, e.g.
`customer_tier == 'enterprise' and ticket | length > 2000`. This is the only router: the
call plan uses it and lint validates `when` with the same `compile_when`, so what lint
accepts is what runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from promptctl.errors import RenderError, SourceLocation
from promptctl.promptfile.model import ModelConfig, Route, Target
from promptctl.render import environment

__all__ = ["RouteError", "choose_target", "compile_when"]


class RouteError(RenderError):
    """A route's `when` expression does not compile or fails over the given inputs.

    `detail` is the bare reason (Jinja's message) for callers such as lint that word
    their own diagnostic around it.
    """

    def __init__(
        self, message: str, detail: str, *, location: SourceLocation | None = None
    ) -> None:
        super().__init__(
            message, location=location, hint="routes[].when is a Jinja2 expression over the inputs"
        )
        self.detail = detail


@lru_cache(maxsize=512)
def _compile(expression: str) -> Callable[..., Any]:
    from jinja2 import TemplateSyntaxError

    try:
        # undefined_to_none=False: a bare undefined name stays StrictUndefined and fails
        # when tested, instead of silently reading as None (false).
        compiled: Callable[..., Any] = environment().compile_expression(
            expression, undefined_to_none=False
        )
    except TemplateSyntaxError as exc:
        raise RouteError(
            f"invalid route expression {expression!r}: {exc.message}", exc.message or "syntax"
        ) from None
    return compiled


def compile_when(expression: str, location: SourceLocation | None = None) -> Callable[..., Any]:
    """Compile a `when` expression (cached); a syntax error is a RouteError at `location`."""
    try:
        return _compile(expression)
    except RouteError as exc:
        raise RouteError(exc.message, exc.detail, location=location) from None


def _matches(route: Route, inputs: Mapping[str, Any]) -> bool:
    from jinja2.exceptions import TemplateError

    from promptctl.promptfile.sandbox_budget import render_budget  # only prompts with routes

    function = compile_when(route.when, route.location)
    try:
        with render_budget():  # the loop, time and size limits of a template's render
            return bool(function(**inputs))
    except RenderError as exc:
        raise RouteError(
            f"route `when` failed: {route.when!r}: {exc.message}",
            exc.message,
            location=route.location,
        ) from None
    except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise RouteError(
            f"route `when` failed: {route.when!r}: {exc}", str(exc), location=route.location
        ) from None


def choose_target(model: ModelConfig, inputs: Mapping[str, Any]) -> Target:
    """The first matching route's target (with the model's params), else the primary."""
    for route in model.routes:
        if _matches(route, inputs):
            return Target(use=route.use, params=model.params, location=route.location)
    return model.primary
