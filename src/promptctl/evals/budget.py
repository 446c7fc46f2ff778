"""`--max-cost`: estimate a case's cost before the call, and stop before the budget passes.

The runner reserves each case's estimate before scheduling it and settles the reservation
with the actual cost afterwards, so concurrent in-flight cases cannot overshoot together.
Once one reservation is refused, scheduling stops for good (the remaining cases are counted
as skipped): the run then covers a prefix of the case list, not a random subset of cheap
cases, which keeps results comparable between runs. A case the Gateway will answer from
recordings or the cache (`Gateway.has_answer`; every case in replay mode) costs nothing:
it reserves nothing and runs even after the stop.
"""

from __future__ import annotations

from dataclasses import dataclass

from promptctl.plan.request import ChatRequest

__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_OUTPUT_TOKENS",
    "Budget",
    "estimate_cost",
    "estimate_request_cost",
]

CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text with BPE tokenizers
DEFAULT_OUTPUT_TOKENS = 512  # assumed when the prompt sets no max_tokens


def estimate_cost(
    request_chars: int,
    max_tokens: int | None,
    price_in_per_mtok: float | None,
    price_out_per_mtok: float | None,
) -> float | None:
    """An upper-leaning estimate in USD: chars/4 input tokens, `max_tokens` (or 512) output.

    None when either price is unknown (the model has no price).
    """
    if price_in_per_mtok is None or price_out_per_mtok is None:
        return None
    input_tokens = -(-max(request_chars, 0) // CHARS_PER_TOKEN)  # ceil
    output_tokens = DEFAULT_OUTPUT_TOKENS if max_tokens is None else max(max_tokens, 0)
    return (input_tokens * price_in_per_mtok + output_tokens * price_out_per_mtok) / 1_000_000


def estimate_request_cost(
    request: ChatRequest, price_in_per_mtok: float | None, price_out_per_mtok: float | None
) -> float | None:
    """`estimate_cost` for a rendered request: its message characters and `max_tokens`."""
    chars = sum(len(m.content) for m in request.messages)
    return estimate_cost(chars, request.max_tokens, price_in_per_mtok, price_out_per_mtok)


@dataclass
class Budget:
    """Spend tracker for one run; `max_cost_usd` None means unlimited.

    `spent` is the settled actual cost, `reserved` the estimates of cases in flight.
    A case with an unknown estimate (no price) is allowed and counted in `unpriced`: there
    is nothing to hold against the budget, and refusing would block free local models.
    """

    max_cost_usd: float | None = None
    spent: float = 0.0
    reserved: float = 0.0
    skipped: int = 0
    unpriced: int = 0
    stopped: bool = False

    def try_reserve(self, estimate: float | None) -> bool:
        """Reserve `estimate` for a case about to be scheduled; False (and count it as
        skipped) when that would pass the budget or the budget already stopped."""
        if self.stopped:
            self.skipped += 1
            return False
        if estimate is None:
            self.unpriced += 1
            return True
        if (
            self.max_cost_usd is not None
            and self.spent + self.reserved + estimate > self.max_cost_usd
        ):
            self.stopped = True
            self.skipped += 1
            return False
        self.reserved += estimate
        return True

    def settle(self, reserved: float | None, actual: float | None) -> None:
        """Replace a reservation by the actual cost; an unknown actual keeps the estimate."""
        held = reserved or 0.0
        self.reserved = max(0.0, self.reserved - held)
        self.spent += actual if actual is not None else held

    @property
    def remaining(self) -> float | None:
        if self.max_cost_usd is None:
            return None
        return max(0.0, self.max_cost_usd - self.spent - self.reserved)
