"""Redis shared state: what the fleet's limiter and breaker add to one call on localhost
(admit + finished with an rpm limit, plus the breaker's check), against no shared state.
Needs `promptctl[redis]` and redis-server (started here, or PROMPTCTL_BENCH_REDIS)."""

from __future__ import annotations

import statistics
import time

from _servers import redis_url

from promptctl.promptfile.model import ProviderSettings
from promptctl.providers.breaker import Breakers
from promptctl.providers.limits import sync_limiter_for
from promptctl.providers.shared_state import SharedState

N = 5_000


def _per_call(shared: SharedState | None) -> list[int]:
    settings = ProviderSettings("bench", "openai", rpm=10_000_000, tpm=None)
    limiter = sync_limiter_for(settings, clock=time.monotonic, sleep=time.sleep, shared=shared)
    breaker = Breakers(shared=shared).get("bench/model")
    samples = []
    for _ in range(N):
        t = time.perf_counter_ns()
        assert breaker.admit() is not None
        ticket = limiter.acquire()
        limiter.release(ticket)
        breaker.record_success()
        samples.append(time.perf_counter_ns() - t)
    samples.sort()
    return samples


def main() -> None:
    with redis_url() as url:
        if url is None:
            print(
                "skipped: no redis-server (apt-get install redis-server, or PROMPTCTL_BENCH_REDIS)"
            )
            return
        local = _per_call(None)
        shared = SharedState(url, window_s=60.0)
        fleet = _per_call(shared)
        shared.close()
    for label, s in (("local limiter+breaker", local), ("Redis limiter+breaker", fleet)):
        print(
            f"{label}: p50 {statistics.median(s) / 1000:.1f} µs, "
            f"p99 {s[int(N * 0.99)] / 1000:.1f} µs per call"
        )
    added = (statistics.median(fleet) - statistics.median(local)) / 1000
    print(f"added by shared state: {added:.1f} µs p50 per call (3 round trips)")


if __name__ == "__main__":
    main()
