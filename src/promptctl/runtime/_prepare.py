"""From a prompt and resolved inputs to the provider requests, and back to a result.

Pure functions, no I/O: validation (defaults applied), routing, rendering of the
primary and of every fallback (a fallback with its own `messages` renders those), and
the mapping of the provider layer's `ChatResponse` to a `RunResult`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from promptctl.plan.request import ChatRequest, build_chat_request
from promptctl.plan.routing import choose_target
from promptctl.promptfile.chat import ChatMessage
from promptctl.promptfile.model import Prompt
from promptctl.providers.types import CallContext, ChatResponse
from promptctl.render import render_messages, validate_inputs
from promptctl.runtime._output import parse_output
from promptctl.runtime._result import RunResult

__all__ = ["Prepared", "prepare", "render_only", "to_result"]


@dataclass(frozen=True)
class Prepared:
    request: ChatRequest
    fallbacks: tuple[ChatRequest, ...]
    context: CallContext


def render_only(prompt: Prompt, inputs: Mapping[str, Any]) -> list[ChatMessage]:
    """Validated, routed and rendered messages for the target the call would use."""
    values = validate_inputs(prompt, inputs)
    target = choose_target(prompt.model, values) if prompt.model.routes else prompt.model.primary
    return render_messages(prompt, values, target=target, validate=False)


def prepare(prompt: Prompt, inputs: Mapping[str, Any], tags: Sequence[str]) -> Prepared:
    values = validate_inputs(prompt, inputs)
    model = prompt.model
    target = choose_target(model, values) if model.routes else model.primary
    messages = render_messages(prompt, values, target=target, validate=False)
    request = build_chat_request(target, messages, base_params=model.params, output=prompt.output)
    fallbacks = tuple(
        build_chat_request(
            f,
            render_messages(prompt, values, target=f, validate=False) if f.messages else messages,
            base_params=model.params,
            output=prompt.output,
        )
        for f in model.fallbacks
    )
    context = CallContext(
        source="runtime",
        prompt_id=prompt.id,
        prompt_version=prompt.version,
        prompt_hash=prompt.content_hash,
        tags=(*prompt.tags, *tags),
    )
    return Prepared(request, fallbacks, context)


def to_result(prompt: Prompt, response: ChatResponse, latency_ms: float) -> RunResult:
    data, error = parse_output(prompt.output, response.text)
    return RunResult(
        text=response.text,
        data=data,
        output_error=error,
        usage=response.usage,
        cost_usd=response.cost_usd,
        latency_ms=latency_ms,
        model=response.target,
        model_reported=response.model_reported,
        fallbacks_tried=tuple(s.target for s in response.fallbacks_tried),
        prompt_id=prompt.id,
        prompt_version=prompt.version,
        prompt_hash=prompt.content_hash,
        finish_reason=response.finish_reason,
    )
