"""PostgreSQL ledger: caller-side cost of `record()` (an enqueue) and rows per second
reaching the database (spool fsync per batch, then COPY), sustained from one thread and
from eight; the end of each run is when `flush()` saw every row committed. Needs
`promptctl[postgres]` and a PostgreSQL server (started here from the Debian package, or
PROMPTCTL_BENCH_PG)."""

from __future__ import annotations

import dataclasses
import os
import statistics
import tempfile
import threading
import time

from _records import paid_record
from _servers import postgres_url

from promptctl.ledger import spool as spool_module
from promptctl.ledger.postgres import PgLedger
from promptctl.providers.types import CallRecord

N = 200_000
THREADS = 8


def _count(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as db:
        row = db.execute("SELECT count(*) FROM calls").fetchone()
        return int(row[0]) if row else 0


def _one_thread(url: str, spool: str, record: CallRecord) -> None:
    ledger = PgLedger(url, spool_dir=spool)
    before = _count(url)
    samples = []
    start = time.perf_counter()
    for _ in range(N):
        t = time.perf_counter_ns()
        ledger.record(record)
        samples.append(time.perf_counter_ns() - t)
    enqueued = time.perf_counter() - start
    assert ledger.flush(timeout=600), "rows not written"
    total = time.perf_counter() - start
    ledger.close()
    assert _count(url) - before == N and ledger.dropped == 0, "rows missing"
    samples.sort()
    print(
        f"record() 1 thread: p50 {statistics.median(samples) / 1000:.2f} µs, "
        f"p99 {samples[int(N * 0.99)] / 1000:.2f} µs; {N:,} rows in PostgreSQL in "
        f"{total:.2f} s = {N / total:,.0f} rows/s (enqueued in {enqueued:.2f} s)"
    )


def _threads(url: str, spool: str, record: CallRecord) -> None:
    ledger = PgLedger(url, spool_dir=spool)
    before = _count(url)
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
    assert ledger.flush(timeout=600), "rows not written"
    total = time.perf_counter() - start
    ledger.close()
    assert _count(url) - before == per * THREADS, "rows missing"
    print(f"record() {THREADS} threads: {per * THREADS / total:,.0f} rows/s in PostgreSQL")


def _crash_window(url: str, spool: str, busy_s: float) -> None:
    """How old the oldest row of each batch is when the batch is on disk: what a crash
    at the worst moment loses. The application calls record() every ~0.5 ms, either
    sleeping between calls (`busy_s` 0: an I/O-bound app) or computing (the writer thread
    then waits for the GIL)."""
    ages: list[float] = []
    append = spool_module.Spool.append

    def timed(self: spool_module.Spool, body: bytes) -> int:
        end = append(self, body)
        ages.append(time.time() - float(body.split(b"\t", 1)[0]))
        return end

    spool_module.Spool.append = timed  # type: ignore[method-assign]
    try:
        ledger = PgLedger(url, spool_dir=spool)
        stop = time.time() + 3.0
        while time.time() < stop:
            ledger.record(dataclasses.replace(paid_record(), timestamp=time.time()))
            if busy_s:
                until = time.perf_counter() + busy_s
                while time.perf_counter() < until:
                    pass
            else:
                time.sleep(0.0005)
        ledger.close()
    finally:
        spool_module.Spool.append = append  # type: ignore[method-assign]
    ages.sort()
    p50, p99 = ages[len(ages) // 2] * 1000, ages[int(len(ages) * 0.99)] * 1000
    kind = f"busy {busy_s * 1e6:.0f} µs per call" if busy_s else "idle between calls"
    print(
        f"crash window ({kind}): oldest row of a batch is {p50:.1f} ms old at its fsync "
        f"(p50), {p99:.1f} ms (p99), {ages[-1] * 1000:.1f} ms (max); {len(ages)} batches"
    )


def main() -> None:
    with postgres_url() as url, tempfile.TemporaryDirectory() as spool:
        if url is None:
            print("skipped: no PostgreSQL (apt-get install postgresql, or PROMPTCTL_BENCH_PG)")
            return
        print(f"load average {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
        _one_thread(url, spool, paid_record())
        _threads(url, spool, paid_record())
        _crash_window(url, spool, 0.0)
        _crash_window(url, spool, 0.0005)
        print(f"load average {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
