"""Checking a model's tool calls against the tools the request declared.

Adapters only parse a call's arguments as JSON (they never see the request); the
gateway runs every answer through `check_tool_calls`, so the runtime, `promptctl test`
and a cached or replayed answer flag the same calls. A call of a tool the request did
not declare is flagged too: the application has nothing to run for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from promptctl.promptfile.chat import ToolCall, ToolSpec
from promptctl.promptfile.fast_validate import first_error

__all__ = ["check_tool_calls", "schema_error"]


def check_tool_calls(tools: Sequence[ToolSpec], calls: Sequence[ToolCall]) -> tuple[ToolCall, ...]:
    """`calls` with `arguments_valid`/`arguments_error` set from the tools' schemas."""
    if not calls:
        return ()
    by_name = {t.name: t for t in tools}
    out: list[ToolCall] = []
    for call in calls:
        if not call.arguments_valid:
            out.append(call)
            continue
        tool = by_name.get(call.name)
        if tool is None:
            error: str | None = f"tool {call.name!r} is not one of the request's tools"
        else:
            error = schema_error(tool.parameters, call.arguments)
        if error is not None:
            call = replace(call, arguments_valid=False, arguments_error=error)
        out.append(call)
    return tuple(out)


def schema_error(schema: Mapping[str, Any], value: Any) -> str | None:
    """None when `value` matches `schema`, else the first error with where it is.

    A schema jsonschema cannot apply (lint's PC013; `promptctl test` does not refuse it)
    flags the call rather than failing the whole answer."""
    try:
        error = first_error(schema, value)
    except Exception as exc:  # UnknownType, TypeError…: the schema is broken, not the call
        return f"the tool's parameters are not a usable JSON Schema ({type(exc).__name__})"
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"arguments do not match the tool's schema at {where}: {error.message}"
