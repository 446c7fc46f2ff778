"""Ledger: caller-side cost of `record()` and rows per second reaching SQLite."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from promptctl.ledger import Ledger
from promptctl.providers.types import CallContext, CallRecord, Usage

N = 50_000


def main() -> None:
    record = CallRecord(
        timestamp=time.time(),
        context=CallContext(source="runtime", prompt_id="support/triage", tags=("support",)),
        target="openai/gpt-4o-mini",
        model_reported="gpt-4o-mini-2024-07-18",
        outcome="ok",
        usage=Usage(input_tokens=120, output_tokens=30),
        cost_usd=0.0001,
        latency_ms=420.0,
    )
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Path(tmp) / "ledger.sqlite")
        samples = []
        start = time.perf_counter()
        for _ in range(N):
            t = time.perf_counter_ns()
            ledger.record(record)
            samples.append(time.perf_counter_ns() - t)
        enqueued = time.perf_counter() - start
        ledger.close()
        total = time.perf_counter() - start
    samples.sort()
    print(
        f"record(): p50 {statistics.median(samples) / 1000:.1f} µs, "
        f"p99 {samples[int(N * 0.99)] / 1000:.1f} µs"
    )
    print(
        f"{N} rows enqueued in {enqueued * 1000:.0f} ms; on disk after {total * 1000:.0f} ms "
        f"({N / total:,.0f} rows/s)"
    )


if __name__ == "__main__":
    main()
