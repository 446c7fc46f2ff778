"""Checks on the tool calls of an answer: `tool-call` (and `not-tool-call`).

`tool-call` passes when some call matches: `name` (the short form's value, or `name:`),
`arguments` a subset of the call's arguments (nested objects compared key by key,
anything else by equality), `schema` a JSON Schema its arguments match; and its
arguments are valid (JSON, and the tool's own `parameters`). `not-tool-call` passes
when no call matches, whatever its arguments: a model that calls a forbidden tool with
broken arguments still called it. With `implicit: arguments` (added by scoring for a
prompt with tools, as the output schema check is), every call's arguments must be valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptctl.evals.assertions.base import (
    AssertionContext,
    Check,
    InvalidSpec,
    option,
    quote,
    register,
)
from promptctl.evals.assertions.structured import schema_errors
from promptctl.promptfile.chat import ToolCall
from promptctl.promptfile.model import AssertionSpec

__all__ = ["is_subset"]


def is_subset(want: Any, got: Any) -> bool:
    """`want`'s keys all in `got` with subset-equal values (objects recursively)."""
    if isinstance(want, Mapping):
        return isinstance(got, Mapping) and all(
            k in got and is_subset(v, got[k]) for k, v in want.items()
        )
    return bool(want == got)


def _options(spec: AssertionSpec) -> tuple[str | None, Mapping[str, Any] | None, Any]:
    name = spec.value if isinstance(spec.value, str) else option(spec, "name")
    arguments = option(spec, "arguments")
    schema = option(spec, "schema")
    if name is not None and not isinstance(name, str):
        raise InvalidSpec(f"tool-call: name must be a string, got {quote(name)}")
    if arguments is not None and not isinstance(arguments, Mapping):
        raise InvalidSpec(f"tool-call: arguments must be a mapping, got {quote(arguments)}")
    if schema is not None and not isinstance(schema, Mapping):
        raise InvalidSpec(f"tool-call: schema must be a JSON Schema mapping, got {quote(schema)}")
    return name, arguments, schema


def _matches(
    call: ToolCall, name: str | None, arguments: Mapping[str, Any] | None, schema: Any
) -> str | None:
    """None when `call` matches, else why not."""
    if name is not None and call.name != name:
        return f"{call.name} is not {name}"
    if arguments is not None and not is_subset(arguments, call.arguments):
        return f"{call.name}({quote(dict(call.arguments))}) lacks {quote(dict(arguments))}"
    if schema is not None:
        error = schema_errors(schema, dict(call.arguments))
        if error:
            return f"{call.name} arguments do not match the schema {error}"
    return None


def _describe(name: str | None) -> str:
    return f"a call of {name}" if name else "a tool call"


@register("tool-call")
def _tool_call(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    if option(spec, "implicit") == "arguments":
        bad = [c for c in ctx.tool_calls if not c.arguments_valid]
        if bad:
            return Check(False, f"{bad[0].name}: {bad[0].arguments_error}")
        return Check(True, "every tool call's arguments are valid")
    name, arguments, schema = _options(spec)
    if schema is not None:
        schema_errors(schema, {})  # an invalid schema is the spec's fault (InvalidSpec)
    declared = [t.name for t in ctx.prompt.tools] if ctx.prompt is not None else []
    if name is not None and declared and name not in declared and not spec.negate:
        known = ", ".join(declared)
        raise InvalidSpec(f"tool-call: {name!r} is not a tool of this prompt ({known})")
    calls = ctx.tool_calls
    if not calls:
        return Check(False, "the answer calls no tool")
    misses: list[str] = []
    for call in calls:
        miss = _matches(call, name, arguments, schema)
        if miss is None and (spec.negate or call.arguments_valid):
            shown = f"{call.name}({quote(dict(call.arguments))})"
            return Check(True, f"{_describe(name)} matches: {shown}")
        misses.append(miss or f"{call.name}: {call.arguments_error}")
    return Check(False, f"no {_describe(name)} matches ({'; '.join(misses)})")
