"""One fleet process for the multi-process tests: `python worker.py '<json job>'`.

Loads a Runtime on the job's bundle with shared state (and/or a ledger), waits for the
common start time, makes `calls` blocking calls and prints one JSON line per call:
{"ok": bool, "kind": error kind or null, "t0": when it was called, "t": when it returned}
(wall-clock seconds), and "cost" (USD) for a call that succeeded.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def main(job: dict[str, Any]) -> None:
    from promptctl.errors import ProviderError
    from promptctl.providers.shared_state import SharedState
    from promptctl.runtime import Runtime

    shared: Any = False
    if job.get("redis"):
        # a generous timeout: on a loaded test machine a slow answer must not count as
        # Redis being down (which would switch to local limits and fail the test's count)
        shared = SharedState(job["redis"], window_s=job.get("window_s", 60.0), timeout_s=5.0)
    runtime = Runtime.load(
        job["bundle"],
        ledger=job.get("ledger") or False,
        env=job["env"],
        shared_state=shared,
        gateway_options=job.get("gateway_options") or {},
    )
    if job.get("warmup"):  # imports, connections: the timed calls then start on time
        runtime.run(job["warmup"], ticket="warm-up")
    start_at = job.get("start_at", 0.0)
    while time.time() < start_at:
        time.sleep(0.005)
    if job.get("wait_for_key"):  # start once another process has left this Redis key
        import redis

        client = redis.Redis.from_url(job["redis"])
        deadline = time.time() + 60
        while not client.exists(job["wait_for_key"]) and time.time() < deadline:
            time.sleep(0.002)
    with runtime:
        for n in range(job["calls"]):
            t0 = time.time()
            try:
                result = runtime.run(
                    job.get("prompt", "support/triage"), ticket=f"{job['name']}-{n}"
                )
                line = {"ok": True, "kind": None, "t0": t0, "t": time.time()}
                line["cost"] = result.cost_usd
            except ProviderError as exc:
                line = {"ok": False, "kind": exc.kind, "t0": t0, "t": time.time()}
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
