"""From a prompt and resolved inputs to the provider requests, and back to a result.

Pure functions, no I/O: the call plan (validation, routing, rendering, the fallback
chain: `promptctl.plan.call`, shared with the evaluations) with the runtime's call
context, and the mapping of the provider layer's `ChatResponse` to a `RunResult`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from promptctl.plan.call import CallPlan, plan_call
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.chat import ChatMessage
from promptctl.promptfile.history import Trim
from promptctl.promptfile.model import Prompt
from promptctl.providers.types import CallContext, ChatResponse, SkippedTarget
from promptctl.runtime._output import parse_output
from promptctl.runtime._result import RunResult

__all__ = ["Prepared", "prepare", "render_only", "to_result"]


@dataclass(frozen=True)
class Prepared:
    request: ChatRequest
    fallbacks: tuple[ChatRequest, ...]
    context: CallContext
    plan: CallPlan


def render_only(
    prompt: Prompt, inputs: Mapping[str, Any], target: str | None = None
) -> list[ChatMessage]:
    """Validated, routed and rendered messages of the first request the call would send."""
    return list(plan_call(prompt, inputs, target=target).messages)


def prepare(
    prompt: Prompt,
    inputs: Mapping[str, Any],
    tags: Sequence[str],
    target: str | None = None,
    degraded: tuple[tuple[str, str], ...] = (),
) -> Prepared:
    """The call plan (`promptctl.plan.call.plan_call`, as `promptctl test` uses) plus the
    runtime's call context; `target` pins the call as `--target` does."""
    plan = plan_call(prompt, inputs, target=target)
    context = CallContext(
        source="runtime",
        prompt_id=prompt.id,
        prompt_version=prompt.version,
        prompt_hash=prompt.content_hash,
        tags=(*prompt.tags, *tags),
        context_degraded=degraded,
        context_trimmed=plan.trims,
    )
    return Prepared(plan.request, plan.fallbacks, context, plan)


def to_result(
    prompt: Prompt,
    response: ChatResponse,
    latency_ms: float,
    degraded: tuple[tuple[str, str], ...] = (),
    plan: CallPlan | None = None,
) -> RunResult:
    """`plan`'s targets left out for their window come first in `fallbacks_tried`."""
    if response.tool_calls and not response.text.strip():
        data, error = None, None  # a turn of tool calls: the answer comes later
    else:
        data, error = parse_output(prompt.output, response.text)
    tried = response.fallbacks_tried
    trimmed: tuple[Trim, ...] = ()
    if plan is not None:
        skipped = tuple(SkippedTarget(t, "context_length", why) for t, why in plan.too_long)
        tried = skipped + tried
        trimmed = plan.trims_for(response.target)
    return RunResult(
        text=response.text,
        data=data,
        output_error=error,
        usage=response.usage,
        cost_usd=response.cost_usd,
        latency_ms=latency_ms,
        model=response.target,
        model_reported=response.model_reported,
        fallbacks_tried=tried,
        attempt_latency_ms=response.attempt_latency_ms,
        prompt_id=prompt.id,
        prompt_version=prompt.version,
        prompt_hash=prompt.content_hash,
        finish_reason=response.finish_reason,
        context_degraded=degraded,
        context_trimmed=trimmed,
        tool_calls=response.tool_calls,
    )
