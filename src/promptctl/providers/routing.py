"""`model.routes`: the first route whose `when` expression is true picks the model.

Expressions are sandboxed Jinja2 expressions over the prompt's inputs, compiled once
and cached, e.g. `customer_tier == 'enterprise' and ticket | length > 2000`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from promptctl.errors import PromptFileError
from promptctl.spec.model import ModelConfig, Route, Target

__all__ = ["choose_target", "compile_when"]


@lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined)


@lru_cache(maxsize=512)
def compile_when(expression: str) -> Callable[..., Any]:
    """Compile a `when` expression; a syntax error is a PromptFileError."""
    from jinja2 import TemplateSyntaxError

    try:
        compiled: Callable[..., Any] = _env().compile_expression(expression)
    except TemplateSyntaxError as exc:
        raise PromptFileError(
            f"invalid route expression {expression!r}: {exc.message}",
            hint="routes[].when is a Jinja2 expression over the inputs",
        ) from None
    return compiled


def _matches(route: Route, inputs: Mapping[str, Any]) -> bool:
    from jinja2.exceptions import SecurityError, UndefinedError

    function = compile_when(route.when)
    try:
        return bool(function(**inputs))
    except (UndefinedError, SecurityError, TypeError, ValueError, ArithmeticError) as exc:
        raise PromptFileError(
            f"route expression {route.when!r} failed: {exc}",
            location=route.location,
            hint="check the input names used in routes[].when",
        ) from None


def choose_target(model: ModelConfig, inputs: Mapping[str, Any]) -> Target:
    """The first matching route's target (with the model's params), else the primary."""
    for route in model.routes:
        if _matches(route, inputs):
            return Target(use=route.use, params=model.params, location=route.location)
    return model.primary
