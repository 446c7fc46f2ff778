"""Ledger: caller-side cost of `record()` (paid calls commit before returning; cache hits
only append) and rows per second reaching SQLite, from one thread and from eight."""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import threading
import time
from pathlib import Path

from _records import paid_record

from promptctl.ledger import Ledger
from promptctl.providers.types import CallRecord

N = 20_000
THREADS = 8


def _one_thread(record: CallRecord, label: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Path(tmp) / "ledger.sqlite")
        samples = []
        start = time.perf_counter()
        for _ in range(N):
            t = time.perf_counter_ns()
            ledger.record(record)
            samples.append(time.perf_counter_ns() - t)
        ledger.close()
        total = time.perf_counter() - start
    samples.sort()
    print(
        f"record() {label}: p50 {statistics.median(samples) / 1000:.1f} µs, "
        f"p99 {samples[int(N * 0.99)] / 1000:.1f} µs; {N / total:,.0f} rows/s on disk"
    )


def _threads(record: CallRecord) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Path(tmp) / "ledger.sqlite")
        per = N // THREADS

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
    paid = paid_record()
    _one_thread(paid, "paid (written through)")
    _one_thread(dataclasses.replace(paid, outcome="cached", cost_usd=0.0), "cache hit (batched)")
    _threads(paid)


if __name__ == "__main__":
    main()
