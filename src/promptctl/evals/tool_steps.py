"""Multi-step tool cases: a test's `tool_results` answer the model's tool calls.

When an answer calls only tools the test has a result for, the conversation continues:
the answer (with its calls) and one `tool` message per call are appended to every
request of the chain and the model is asked again, up to `MAX_MODEL_CALLS` calls in all.
A call of a tool without a result, or an answer of more than `MAX_CALLS_PER_STEP` calls,
ends the case on that answer (the assertions judge it); both caps keep the case's cost
bounded before it starts (`--max-cost` reserves that bound). The case's response is
the last answer, with the tool calls of every step in order and the usage, cost and
latency of all of them added up. Each step is an ordinary call through the gateway:
cached, recorded and replayed like any other.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from promptctl.plan.request import ChatRequest
from promptctl.promptfile.chat import ChatMessage
from promptctl.providers.types import ChatResponse, Usage

__all__ = ["MAX_CALLS_PER_STEP", "MAX_MODEL_CALLS", "complete_with_tools", "result_text"]

MAX_MODEL_CALLS = 5
MAX_CALLS_PER_STEP = 8

Complete = Callable[[ChatRequest, Sequence[ChatRequest]], Awaitable[ChatResponse]]


def result_text(value: Any) -> str:
    """A tool result as the model reads it: a string as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


async def complete_with_tools(
    complete: Complete,
    request: ChatRequest,
    fallbacks: Sequence[ChatRequest],
    tool_results: Mapping[str, Any],
) -> ChatResponse:
    response = await complete(request, fallbacks)
    steps = [response]
    while (
        tool_results
        and response.tool_calls
        and len(steps) < MAX_MODEL_CALLS
        and len(response.tool_calls) <= MAX_CALLS_PER_STEP
        and all(c.name in tool_results for c in response.tool_calls)
    ):
        turn = (
            ChatMessage("assistant", response.text, tool_calls=response.tool_calls),
            *(
                ChatMessage(
                    "tool", result_text(tool_results[c.name]), tool_call_id=c.id, name=c.name
                )
                for c in response.tool_calls
            ),
        )
        request = replace(request, messages=(*request.messages, *turn))
        fallbacks = [replace(f, messages=(*f.messages, *turn)) for f in fallbacks]
        response = await complete(request, fallbacks)
        steps.append(response)
    return response if len(steps) == 1 else _combined(steps)


def _combined(steps: list[ChatResponse]) -> ChatResponse:
    last = steps[-1]
    costs = [s.cost_usd for s in steps]
    return replace(
        last,
        usage=Usage(
            **{f: sum(getattr(s.usage, f) for s in steps) for f in Usage.__dataclass_fields__}
        ),
        cost_usd=None if None in costs else sum(c for c in costs if c is not None),
        latency_ms=sum(s.latency_ms for s in steps),
        attempt_latency_ms=sum(s.attempt_latency_ms for s in steps),
        attempts=sum(s.attempts for s in steps),
        cached=all(s.cached for s in steps),
        usage_known=all(s.usage_known for s in steps),
        tool_calls=tuple(c for s in steps for c in s.tool_calls),
    )
