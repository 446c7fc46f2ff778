"""ChatResponse <-> plain JSON data, for the cache and for recordings."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import fields as dataclass_fields
from operator import attrgetter
from typing import Any, get_args

from promptctl.errors import ProviderError
from promptctl.plan.request import plain_data
from promptctl.providers.types import ChatResponse, FinishReason, SkippedTarget, ToolCall, Usage

__all__ = ["response_from_data", "response_to_data"]


def response_to_data(response: ChatResponse) -> dict[str, Any]:
    """The answer as stored (`cached` and `ttft_ms` left out: they describe one call).
    An answer without fallbacks tried or tool calls (nearly every one an evaluation
    stores) is written field by field; the result is `plain_data`'s (tested)."""
    if response.fallbacks_tried or response.tool_calls:
        data: dict[str, Any] = plain_data(response)
        data.pop("cached", None)
        data.pop("ttft_ms", None)  # a measurement of that one call, like `cached`
        return data
    return {
        "text": response.text,
        "target": response.target,
        "finish_reason": response.finish_reason,
        "usage": dict(zip(_USAGE_FIELDS, _usage_counts(response.usage), strict=True)),
        "model_reported": response.model_reported,
        "latency_ms": response.latency_ms,
        "request_id": response.request_id,
        "cost_usd": response.cost_usd,
        "attempts": response.attempts,
        "fallbacks_tried": [],
        "usage_known": response.usage_known,
        "attempt_latency_ms": response.attempt_latency_ms,
    }


def response_from_data(data: Mapping[str, Any], *, cached: bool = False) -> ChatResponse:
    """The stored answer; `cached` marks it as read back (the cache does, so a hit is not
    copied once more by `replace` to say so). Recordings are committed by pull requests
    and a cache file can be damaged: a field of the wrong type is `bad_response` here,
    naming the field, not an error deep in scoring or costing later."""
    try:
        fields = dict(data)
        fields["cached"] = cached
        fields["usage"] = Usage(**fields.get("usage", {}))
        fields["fallbacks_tried"] = tuple(
            SkippedTarget(**s) for s in fields.get("fallbacks_tried", ())
        )
        fields["tool_calls"] = tuple(ToolCall(**c) for c in fields.get("tool_calls", ()))
        response = ChatResponse(**fields)
    except TypeError as exc:
        raise ProviderError("bad_response", f"stored response is malformed: {exc}") from None
    problem = None if _plainly_valid(response) else _problem(response)
    if problem is not None:
        raise ProviderError("bad_response", f"stored response is malformed: {problem}")
    return response


_FINISH = frozenset(get_args(FinishReason))
_USAGE_FIELDS = tuple(f.name for f in dataclass_fields(Usage))
_usage_counts = attrgetter(*_USAGE_FIELDS)
_NUMBERS = (int, float)
_INT_ONLY = {int}
_INF = math.inf


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _amount(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value) and value >= 0


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _plainly_valid(r: ChatResponse) -> bool:
    """The common answer (text, no tool calls, no fallbacks) checked in one expression
    without a call per field: a cached re-run reads one per case."""
    counts = _usage_counts(r.usage)
    latency, attempt_latency, cost = r.latency_ms, r.attempt_latency_ms, r.cost_usd
    return (
        type(r.text) is str
        and type(r.target) is str
        and r.finish_reason in _FINISH
        and type(r.model_reported) is str
        and type(latency) in _NUMBERS
        and 0 <= latency < _INF
        and type(attempt_latency) in _NUMBERS
        and 0 <= attempt_latency < _INF
        and (cost is None or (type(cost) in _NUMBERS and 0 <= cost < _INF))
        and (r.request_id is None or type(r.request_id) is str)
        and type(r.attempts) is int
        and r.attempts >= 1
        and type(r.usage_known) is bool
        and r.ttft_ms is None
        and not r.fallbacks_tried
        and not r.tool_calls
        and set(map(type, counts)) == _INT_ONLY
        and min(counts) >= 0
    )


def _problem(r: ChatResponse) -> str | None:
    """The first field of `r` whose type is not the one promptctl writes, or None."""
    checks: list[tuple[str, Any, Callable[[Any], bool]]] = [
        ("text", r.text, _text),
        ("target", r.target, _text),
        ("finish_reason", r.finish_reason, lambda v: isinstance(v, str) and v in _FINISH),
        ("model_reported", r.model_reported, _text),
        ("latency_ms", r.latency_ms, _amount),
        ("attempt_latency_ms", r.attempt_latency_ms, _amount),
        ("request_id", r.request_id, lambda v: v is None or _text(v)),
        ("cost_usd", r.cost_usd, lambda v: v is None or _amount(v)),
        ("attempts", r.attempts, lambda v: _count(v) and v >= 1),
        ("usage_known", r.usage_known, lambda v: type(v) is bool),
        ("ttft_ms", r.ttft_ms, lambda v: v is None or _amount(v)),
    ]
    checks += [
        (f"usage.{f.name}", getattr(r.usage, f.name), _count) for f in dataclass_fields(r.usage)
    ]
    for i, s in enumerate(r.fallbacks_tried):
        for name in ("target", "reason", "message"):
            checks.append((f"fallbacks_tried[{i}].{name}", getattr(s, name), _text))
    for i, c in enumerate(r.tool_calls):
        checks += [
            (f"tool_calls[{i}].id", c.id, _text),
            (f"tool_calls[{i}].name", c.name, _text),
            (f"tool_calls[{i}].arguments", c.arguments, lambda v: isinstance(v, Mapping)),
            (f"tool_calls[{i}].arguments_valid", c.arguments_valid, lambda v: type(v) is bool),
            (
                f"tool_calls[{i}].arguments_error",
                c.arguments_error,
                lambda v: v is None or _text(v),
            ),
        ]
    for name, value, ok in checks:
        if not ok(value):
            return f"{name} is {value!r:.60}"
    return None
