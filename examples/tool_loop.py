"""A tool-calling loop over `promptctl.runtime` (docs/runtime.md, "Tool calls").

The model asks for tools; the application runs them and sends each result back through
the prompt's `history` input, until the model answers in text. Nothing here knows which
provider answered: the same loop runs on OpenAI, Anthropic and Gemini, and a fallback
in the middle of a conversation carries the tool turns over to the next provider.

    python examples/tool_loop.py releases/ "Where is my order A-204518?"

The first argument is a release directory (its newest release) or one `.bundle.json`
file; the bundle must hold `support/order_status` (examples/order_status.yaml); the test
suite runs this file against the fake provider server (tests/docs/test_example_tool_loop.py).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from promptctl.runtime import RunResult, Runtime

PROMPT = "support/order_status"
MAX_STEPS = 5

# The application's own functions: what a tool name means is the application's business.
ORDERS = {"A-204518": {"status": "shipped", "eta": "2026-12-07"}}


def lookup_order(order_id: str) -> dict[str, Any]:
    order = ORDERS.get(order_id)
    return {"order_id": order_id, **order} if order else {"error": f"no order {order_id}"}


TOOLS: dict[str, Callable[..., dict[str, Any]]] = {"lookup_order": lookup_order}


def run_tool(name: str, arguments: dict[str, Any], error: str | None) -> dict[str, Any]:
    """A tool's result; a bad call becomes an error result the model can correct."""
    if error is not None:
        return {"error": error}
    tool = TOOLS.get(name)
    return tool(**arguments) if tool else {"error": f"no tool {name}"}


def answer(rt: Runtime, question: str) -> RunResult:
    """Call the prompt until it answers without tool calls (at most MAX_STEPS calls)."""
    history: list[dict[str, Any]] = []
    for _ in range(MAX_STEPS):
        result = rt.run(PROMPT, question=question, history=history)
        if not result.tool_calls:
            return result
        history.append(
            {
                "role": "assistant",
                "content": result.text,
                "tool_calls": [call.to_dict() for call in result.tool_calls],
            }
        )
        for call in result.tool_calls:
            output = run_tool(call.name, dict(call.arguments), call.arguments_error)
            history.append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "name": call.name,
                    "content": json.dumps(output),
                }
            )
    raise RuntimeError(f"{PROMPT}: no answer after {MAX_STEPS} calls")


def main(argv: list[str]) -> int:
    bundle, question = argv[1], argv[2]
    with Runtime.load(bundle, ledger=False) as rt:
        result = answer(rt, question)
    print(result.text)
    print(f"(answered by {result.model}, ${result.cost_usd or 0:.6f} for the last call)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
