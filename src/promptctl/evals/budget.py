"""`--max-cost`: bound a case's cost before the call, and never start one that could pass.

Each case reserves an upper bound of its cost before its call and settles it with the
actual cost afterwards, so cases in flight together cannot overshoot: the bound is
conservative on purpose (every UTF-8 byte of the messages counted as an input token,
the output at the request's `max_tokens`, or `DEFAULT_OUTPUT_TOKENS` without one; the
most expensive target of the fallback chain; the judge's call for `llm-rubric`; for a
test with `tool_results`, every model call it may make, each as long as the last). A
tight bound only limits how many cases run at once near the cap, not how many run:
a case that does not fit while others are in flight waits for them to settle. Scheduling
stops for good when the actual spend reaches the cap, or when a case does not fit with
nothing in flight (the remaining cases are skipped): the run then covers a prefix of
the case list, not a random subset of cheap cases, which keeps results comparable.
A case the Gateway will answer from recordings or the cache (`Gateway.has_answer`; every
case in replay mode) costs nothing: it reserves nothing and runs even after the stop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from promptctl.plan.request import ChatRequest, plain_data
from promptctl.promptfile.chat import ChatMessage

__all__ = [
    "DEFAULT_OUTPUT_TOKENS",
    "MESSAGE_OVERHEAD_TOKENS",
    "Budget",
    "estimate_chain_cost",
    "estimate_cost",
    "estimate_request_cost",
    "input_token_bound",
    "tool_steps_bound",
]

DEFAULT_OUTPUT_TOKENS = 4096  # assumed when the request sets no max_tokens (set one!)
MESSAGE_OVERHEAD_TOKENS = 8  # role and separators per chat message, generously

Decision = Literal["go", "wait", "stop"]


def estimate_cost(
    input_tokens: int,
    max_tokens: int | None,
    price_in_per_mtok: float | None,
    price_out_per_mtok: float | None,
) -> float | None:
    """An upper bound in USD for `input_tokens` in and `max_tokens` (or 4096) out.

    None when either price is unknown (the model has no price).
    """
    if price_in_per_mtok is None or price_out_per_mtok is None:
        return None
    output_tokens = DEFAULT_OUTPUT_TOKENS if max_tokens is None else max(max_tokens, 0)
    return (max(input_tokens, 0) * price_in_per_mtok + output_tokens * price_out_per_mtok) / 1e6


def input_token_bound(request: ChatRequest) -> int:
    """At most this many input tokens: byte-level BPE tokens cover at least one byte.

    Tool definitions, the output schema (Anthropic's forced output tool, OpenAI's
    `response_format`) and the tool calls and results of earlier turns are billed as
    input too: their JSON bytes count."""
    data = sum(len(m.content.encode("utf-8")) for m in request.messages)
    extra = [plain_data(c) for m in request.messages for c in m.tool_calls]
    extra += [m.tool_call_id for m in request.messages if m.tool_call_id]
    extra += [plain_data(t) for t in request.tools]
    if request.response_format.schema is not None:
        extra.append(request.response_format.schema)
    if extra:
        data += len(json.dumps(extra, ensure_ascii=False, default=str).encode("utf-8"))
    return data + MESSAGE_OVERHEAD_TOKENS * (len(request.messages) + len(request.tools))


def tool_steps_bound(request: ChatRequest, steps: int, result_bytes: int) -> ChatRequest:
    """A request as large as the last of `steps` model calls of a multi-step tool case can
    be: each earlier step adds its answer (at most `max_tokens`, or the default) and the
    tools' results (`result_bytes` each time) to the conversation."""
    output = DEFAULT_OUTPUT_TOKENS if request.max_tokens is None else request.max_tokens
    grown = "x" * ((steps - 1) * (output + result_bytes + 2 * MESSAGE_OVERHEAD_TOKENS))
    return replace(request, messages=(*request.messages, ChatMessage("user", grown)))


def estimate_request_cost(
    request: ChatRequest, price_in_per_mtok: float | None, price_out_per_mtok: float | None
) -> float | None:
    """`estimate_cost` for a rendered request: its message bytes and `max_tokens`."""
    return estimate_cost(
        input_token_bound(request), request.max_tokens, price_in_per_mtok, price_out_per_mtok
    )


def estimate_chain_cost(estimates: Iterable[float | None]) -> float | None:
    """The bound of a fallback chain: its most expensive priced target (any may answer)."""
    known = [e for e in estimates if e is not None]
    return max(known) if known else None


@dataclass
class Budget:
    """Spend tracker for one run; `max_cost_usd` None means unlimited.

    `spent` is the settled actual cost, `reserved` the bounds of cases in flight.
    A case with an unknown estimate (no price) is allowed and counted in `unpriced`: there
    is nothing to hold against the budget, and refusing would block free local models.
    """

    max_cost_usd: float | None = None
    spent: float = 0.0
    reserved: float = 0.0
    skipped: int = 0
    unpriced: int = 0
    stopped: bool = False
    in_flight: int = 0  # reservations not settled yet
    _settled: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _waiting: int = field(default=0, repr=False)  # cases in `reserve` waiting on `_settled`

    def decide(self, estimate: float | None) -> Decision:
        """May a case with this estimate start now, wait for cases in flight, or never?"""
        if self.stopped:
            return "stop"
        if estimate is None or self.max_cost_usd is None:
            return "go"
        if self.spent >= self.max_cost_usd:
            return "stop"  # the actual spend reached the cap
        if self.spent + self.reserved + estimate <= self.max_cost_usd:
            return "go"
        return "wait" if self.in_flight else "stop"

    def try_reserve(self, estimate: float | None) -> bool:
        """Reserve `estimate` now, without waiting: False (the case counts as skipped, and
        the budget stops) when it does not fit."""
        decision = self.decide(estimate)
        return self._apply("stop" if decision == "wait" else decision, estimate)

    async def reserve(self, estimate: float | None) -> bool:
        """Reserve `estimate` for a case about to start, waiting while cases in flight
        hold the room it needs; False (counted as skipped) once the budget stops."""
        decision = self.decide(estimate)
        while decision == "wait":
            self._waiting += 1
            try:
                await self._settled.wait()
            finally:
                self._waiting -= 1
            decision = self.decide(estimate)
        return self._apply(decision, estimate)

    def settle(self, reserved: float | None, actual: float | None) -> None:
        """Replace a reservation by the actual cost; an unknown actual keeps the estimate."""
        held = reserved or 0.0
        if reserved is not None:
            self.in_flight = max(0, self.in_flight - 1)
        # no float residue: with nothing in flight nothing is reserved
        self.reserved = max(0.0, self.reserved - held) if self.in_flight else 0.0
        self.spent += actual if actual is not None else held
        if self.max_cost_usd is not None and self.spent >= self.max_cost_usd:
            self.stopped = True
        if self._waiting:  # wake the waiters, who check again
            self._settled.set()
            self._settled = asyncio.Event()

    @property
    def remaining(self) -> float | None:
        if self.max_cost_usd is None:
            return None
        return max(0.0, self.max_cost_usd - self.spent - self.reserved)

    def _apply(self, decision: Decision, estimate: float | None) -> bool:
        if decision == "stop":
            if not self.stopped and self.max_cost_usd is not None:
                self.stopped = True
            self.skipped += 1
            return False
        if estimate is None:
            self.unpriced += 1
        else:
            self.reserved += estimate
            self.in_flight += 1
        return True
