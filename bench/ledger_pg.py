"""PostgreSQL ledger: caller-side cost of `record()` and rows per second reaching the
database (COPY, group commit), from one thread and from eight. Needs `promptctl[postgres]`
and a PostgreSQL server (started here from the Debian package, or PROMPTCTL_BENCH_PG)."""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time

from _servers import postgres_url

from promptctl.ledger.postgres import PgLedger
from promptctl.providers.types import CallContext, CallRecord, Usage

N = 50_000
PAID_N = 3_000
THREADS = 8


def _record() -> CallRecord:
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


def _count(ledger: PgLedger) -> int:
    import psycopg

    with psycopg.connect(ledger.url) as db:
        row = db.execute("SELECT count(*) FROM calls").fetchone()
        return int(row[0]) if row else 0


def _one_thread(url: str, record: CallRecord, n: int, label: str) -> None:
    ledger = PgLedger(url)
    before = _count(ledger)
    samples = []
    start = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter_ns()
        ledger.record(record)
        samples.append(time.perf_counter_ns() - t)
    ledger.close()
    total = time.perf_counter() - start
    assert _count(ledger) - before == n, "rows missing"
    samples.sort()
    print(
        f"record() {label}: p50 {statistics.median(samples) / 1000:.1f} µs, "
        f"p99 {samples[int(n * 0.99)] / 1000:.1f} µs; {n / total:,.0f} rows/s in PostgreSQL"
    )


def _threads(url: str, record: CallRecord) -> None:
    ledger = PgLedger(url)
    per = PAID_N

    def work() -> None:
        for _ in range(per):
            ledger.record(record)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ledger.close()
    total = time.perf_counter() - start
    print(f"record() paid, {THREADS} threads: {per * THREADS / total:,.0f} rows/s (group commit)")


def main() -> None:
    with postgres_url() as url:
        if url is None:
            print("skipped: no PostgreSQL (apt-get install postgresql, or PROMPTCTL_BENCH_PG)")
            return
        paid = _record()
        cached = dataclasses.replace(paid, outcome="cached", cost_usd=0.0)
        _one_thread(url, cached, N, "cache hit (queued, COPY batches)")
        _one_thread(url, paid, PAID_N, "paid (written through)")
        _threads(url, paid)


if __name__ == "__main__":
    main()
