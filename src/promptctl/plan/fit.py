"""Fit each request of a call's chain into its target's context window.

The order (docs/runtime.md, "Context"): a request whose estimated size exceeds its
target's known window minus its output reserve (`max_tokens`, else `OUTPUT_RESERVE`)
first loses history, oldest whole turns first; a target that cannot take the request
even without history is left out of the chain (the next, larger-window fallback is
asked); when no target is left the call fails with `context_length` before sending
anything. A target of unknown window is sent as is. Estimates are upper-biased
(`promptctl.promptfile.history`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

from promptctl.errors import ProviderError
from promptctl.plan.request import ChatRequest, plain_data
from promptctl.promptfile.context_windows import context_window, estimate_tokens
from promptctl.promptfile.history import (
    OUTPUT_RESERVE,
    Spliced,
    Trim,
    estimate_message,
    estimate_messages,
    turns,
)
from promptctl.promptfile.model import Target

__all__ = ["Fitted", "fit_chain"]


@dataclasses.dataclass(frozen=True)
class Fitted:
    targets: tuple[Target, ...]
    requests: tuple[ChatRequest, ...]
    trims: tuple[Trim, ...]
    too_long: tuple[tuple[str, str], ...]  # (target, why) left out of the chain


def fit_chain(
    targets: Sequence[Target], requests: Sequence[ChatRequest], spliced: Sequence[Spliced]
) -> Fitted:
    """Trim or drop each request of the chain (see the module docstring)."""
    kept_t: list[Target] = []
    kept_r: list[ChatRequest] = []
    trims: list[Trim] = []
    too_long: list[tuple[str, str]] = []
    for target, request, splice in zip(targets, requests, spliced, strict=True):
        if splice.messages_dropped:
            trims.append(
                Trim(request.target, "budget", splice.messages_dropped, splice.tokens_dropped)
            )
        window = context_window(request.target)
        if window is None:
            kept_t.append(target)
            kept_r.append(request)
            continue
        reserve = request.max_tokens if request.max_tokens is not None else OUTPUT_RESERVE
        limit = window - reserve - _fixed_tokens(request)
        fitted, trim = _fit(request, splice, limit)
        if fitted is None:
            size = estimate_messages(request.messages)
            too_long.append(
                (
                    request.target,
                    f"about {size:,} tokens without history do not fit its window "
                    f"{window:,} minus {reserve:,} for output",
                )
            )
            continue
        if trim is not None:
            trims.append(trim)
        kept_t.append(target)
        kept_r.append(fitted)
    if not kept_r:
        first = requests[0]
        raise ProviderError(
            "context_length",
            "the request does not fit any target's context window: "
            + "; ".join(f"{t}: {why}" for t, why in too_long),
            provider=first.provider,
            model=first.model,
            hint="shorten the inputs, give the history a budget, or add a larger-window fallback",
        )
    return Fitted(tuple(kept_t), tuple(kept_r), tuple(trims), tuple(too_long))


def _fixed_tokens(request: ChatRequest) -> int:
    """What every request sends besides its messages: tool definitions and the output
    schema (a forced tool on Anthropic, `response_format` on OpenAI), as JSON."""
    parts: list[object] = [plain_data(t) for t in request.tools]
    if request.response_format.schema is not None:
        parts.append(request.response_format.schema)
    return estimate_tokens(json.dumps(parts, default=str)) if parts else 0


def _fit(
    request: ChatRequest, splice: Spliced, limit: int
) -> tuple[ChatRequest | None, Trim | None]:
    messages = request.messages
    costs = [estimate_message(m) for m in messages]
    total = sum(costs)
    if total <= limit:
        return request, None
    drop: set[int] = set()
    dropped_tokens = 0
    for start, end in splice.spans:  # the oldest history entry first
        for t_start, t_end in turns(messages[start:end]):
            if total <= limit:
                break
            span = range(start + t_start, start + t_end)
            cost = sum(costs[i] for i in span)
            drop.update(span)
            total -= cost
            dropped_tokens += cost
    if total > limit:
        return None, None
    kept = tuple(m for i, m in enumerate(messages) if i not in drop)
    trim = Trim(request.target, "window", len(drop), dropped_tokens)
    return dataclasses.replace(request, messages=kept), trim
