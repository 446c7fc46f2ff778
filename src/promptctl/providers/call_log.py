"""How a gateway tells its calls: one `CallRecord` per attempt outcome, to `on_call`.

The gateway, its streams (streaming.py) and its embeddings (embed_chain.py) all report
here: errors, passed-over targets and cache hits at once; an answer before it is handed
out (a ledger commits a paid call on record: docs/costs.md), on an event loop batched
with the answers of the same loop turn (answer_records.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Literal

from promptctl.providers.answer_records import AnswerRecords
from promptctl.providers.types import CallContext, CallRecord, ChatResponse, Usage

__all__ = ["CallLog"]

Outcome = Literal["ok", "cached", "error"]


class CallLog:
    """`on_call` (None: nothing is recorded), and whether it waits on a disk (`blocks`):
    from an event loop such a writer is called on a worker thread, never on the loop."""

    def __init__(
        self,
        on_call: Callable[[CallRecord], None] | None,
        *,
        blocks: bool,
        commit_window_s: float = 0.0,
    ) -> None:
        self.on_call = on_call
        self.blocks = blocks
        self.answers = (
            AnswerRecords(on_call, window_s=commit_window_s) if on_call is not None else None
        )

    def emit(
        self,
        ctx: CallContext,
        target: str,
        outcome: Outcome,
        key: str,
        *,
        response: ChatResponse | None = None,
        error_kind: str | None = None,
        origin: str | None = None,
        cost: float | None = None,
        saved: float | None = None,
    ) -> None:
        """Record an outcome that needs no waiting for (an error, a cache hit)."""
        if self.on_call is not None:
            self.on_call(
                record(ctx, target, outcome, key, response, error_kind, origin, cost, saved)
            )

    async def answer(
        self,
        ctx: CallContext,
        target: str,
        key: str,
        response: ChatResponse,
        origin: str | None,
        blocking: bool,
    ) -> None:
        """Record an answer before it is returned. Blocking callers record on their own
        thread; on an event loop a blocking writer's records go to a worker thread, and
        answers arriving together share one hop and one commit; a cancellation meanwhile
        does not stop the write (shielded: Ctrl-C does not drop a paid row)."""
        if self.on_call is None:
            return
        row = record(ctx, target, "ok", key, response, None, origin, None, None)
        if blocking or not self.blocks:
            self.on_call(row)
            return
        assert self.answers is not None
        await self.answers.write(row)

    async def hand(self, row: CallRecord, blocking: bool) -> None:
        """`row` to `on_call`: on this thread, or (a blocking writer, on a loop) a worker's."""
        if self.on_call is None:
            return
        if blocking or not self.blocks:
            self.on_call(row)
        else:
            await asyncio.to_thread(self.on_call, row)


def record(
    ctx: CallContext,
    target: str,
    outcome: Outcome,
    key: str,
    response: ChatResponse | None,
    error_kind: str | None,
    origin: str | None,
    cost: float | None,
    saved: float | None,
) -> CallRecord:
    """The ledger row of one attempt's outcome (`cost`: overrides the response's)."""
    attempt_ms = (response.attempt_latency_ms or response.latency_ms) if response else 0.0
    return CallRecord(
        timestamp=time.time(),
        context=ctx,
        target=target,
        model_reported=response.model_reported if response else "",
        outcome=outcome,
        usage=response.usage if response else Usage(),
        cost_usd=cost if cost is not None else (response.cost_usd if response else None),
        latency_ms=attempt_ms,
        error_kind=error_kind,
        fallback_from=origin,
        request_hash=key,
        cost_saved_usd=saved,
        usage_known=response.usage_known if response else error_kind != "cancelled",
    )
