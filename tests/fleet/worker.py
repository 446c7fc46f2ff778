"""One fleet process for the multi-process tests: `python worker.py '<json job>'`.

Loads a Runtime on the job's bundle with shared state (and/or a ledger), prints `ready`
and waits for a line on stdin (the test's "go", sent once every process is ready: they
start at once without a fixed head start), makes `calls` blocking calls and prints one
JSON line per call: {"ok": bool, "kind": error kind or null, "t0": when it was called,
"t": when it returned} (wall-clock seconds), and "cost" (USD) for a call that succeeded.
`spawn` and `start_together` drive it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
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
    print("ready", flush=True)
    sys.stdin.readline()
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


def spawn(job: dict[str, Any]) -> subprocess.Popen[str]:
    """A worker process for `job`; it loads, then waits for `start_together`."""
    return subprocess.Popen(
        [sys.executable, __file__, json.dumps(job)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_together(procs: Sequence[subprocess.Popen[str]]) -> None:
    """Wait until every worker is loaded (and warmed up), then let them all call."""
    for proc in procs:
        assert proc.stdout is not None and proc.stdin is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            _, err = proc.communicate(timeout=60)
            raise AssertionError(f"worker did not start: {line!r} {err}")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
