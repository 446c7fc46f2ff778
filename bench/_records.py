"""The ledger row the ledger benchmarks write: one paid chat call of a typical size."""

from __future__ import annotations

import time

from promptctl.providers.types import CallContext, CallRecord, Usage


def paid_record() -> CallRecord:
    return CallRecord(
        timestamp=time.time(),
        context=CallContext(source="runtime", prompt_id="support/triage", tags=("support",)),
        target="openai/gpt-4o-mini",
        model_reported="gpt-4o-mini-2024-07-18",
        outcome="ok",
        usage=Usage(input_tokens=120, output_tokens=30),
        cost_usd=0.0001,
        latency_ms=420.0,
    )
