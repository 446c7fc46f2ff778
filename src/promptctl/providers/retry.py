"""Exponential backoff with full jitter, honouring the server's own retry hints.

`max_retries` counts retries after the first attempt. A server hint (retry-after,
retry-after-ms, Gemini RetryInfo) above 0 is honoured, capped at MAX_WAIT_S (a server asking
for an hour gets 60 s, not a sub-second backoff that is sure to be refused); otherwise the wait is
uniform in [0, min(MAX_WAIT_S, base * 2**n)] ("full jitter", AWS Architecture Blog,
"Exponential Backoff And Jitter", 2015). A wait that would overrun the deadline fails at
once so the caller can fall over to the next target instead of sleeping in vain.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from promptctl.errors import ProviderError

__all__ = ["MAX_WAIT_S", "RetryPolicy", "backoff_wait", "with_retries"]

MAX_WAIT_S = 60.0
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    base_s: float = 0.5
    max_wait_s: float = MAX_WAIT_S


def backoff_wait(
    error: ProviderError, retry_index: int, policy: RetryPolicy, rng: random.Random
) -> float:
    """Seconds to wait before retry number `retry_index` (0-based)."""
    hint = error.retry_after_s
    if hint is not None and hint > 0:
        return min(hint, policy.max_wait_s)
    return rng.uniform(0.0, min(policy.max_wait_s, policy.base_s * (2**retry_index)))


async def with_retries(
    attempt: Callable[[int], Awaitable[T]],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]],
    rng: random.Random,
    clock: Callable[[], float],
    deadline: float,
    on_error: Callable[[ProviderError, int], None] | None = None,
) -> tuple[T, int]:
    """Run `attempt(n)` until it succeeds; returns (result, attempts made).

    Raises the last ProviderError when it is not retryable, retries are spent, or the
    next wait would pass `deadline` (a `clock()` value); `attempt` receives the attempt
    number, so callers count attempts themselves.
    """
    retry = 0
    while True:
        try:
            return await attempt(retry + 1), retry + 1
        except ProviderError as exc:
            if on_error is not None:
                on_error(exc, retry + 1)
            if not exc.retryable or retry >= policy.max_retries:
                raise
            wait = backoff_wait(exc, retry, policy, rng)
            if clock() + wait > deadline:
                raise
            await sleep(wait)
            retry += 1
