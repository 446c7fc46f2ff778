"""One fleet process for the multi-process tests: `python worker.py '<json job>'`.

Loads a Runtime on the job's bundle with shared state (and/or a ledger), prints `ready`
and waits for a line on stdin (the test's "go", sent once every process is ready: they
start at once without a fixed head start), makes `calls` blocking calls and prints one
JSON line per call: {"ok": bool, "kind": error kind or null, "t0": when it was called,
"t": when it returned} (wall-clock seconds), and "cost" (USD) for a call that succeeded.
`spawn` and `start_together` drive it.

`spawn` forks each worker from one pre-loaded Python (the "zygote", started once per test
process) instead of starting an interpreter per worker: every worker is still its own
process with its own Runtime, connections, threads and exit code, and gets the test's
current environment and working directory, but skips ~0.4 s of start-up CPU (imports of
promptctl, redis, psycopg, httpx2). `python worker.py '<json job>'` still runs one alone.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, Any

# what a worker imports before and during its first call: the zygote loads them once
_PRELOAD = (
    "promptctl.errors",
    "promptctl.runtime",
    "promptctl.providers.gateway",
    "promptctl.providers.blocking",
    "promptctl.providers.openai",
    "promptctl.providers.anthropic",
    "promptctl.providers.shared_state",
    "promptctl.ledger.postgres",
    "httpx2",
    "psycopg",
    "redis",
    "yaml",
)


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


def _serve(control: socket.socket) -> None:
    """Serve `spawn` and `wait` requests; each spawn forks a child that becomes a worker
    on the three pipe ends it was sent (stdin, stdout, stderr)."""
    import contextlib
    import importlib

    for name in _PRELOAD:  # only a start-up saving: a worker imports what it needs
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    while True:
        message, fds, _, _ = socket.recv_fds(control, 1 << 20, 3)
        if not message:
            return  # the test process closed its end
        request = json.loads(message)
        if request["op"] == "wait":
            _, status = os.waitpid(request["pid"], 0)
            control.send(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode())
            continue
        pid = os.fork()
        if pid == 0:  # the worker: its own stdio, the test's environment, then main()
            control.close()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            main(request["job"])
            sys.stdout.flush()
            sys.exit(0)  # a normal exit: atexit handlers (coverage's too) run, as alone
        for fd in fds:
            os.close(fd)
        control.send(json.dumps({"pid": pid}).encode())


class Forked:
    """A forked worker, used like the `subprocess.Popen` it replaces."""

    def __init__(self, zygote: _Zygote, pid: int, stdin: IO[str], stdout: IO[str], stderr: IO[str]):
        self._zygote = zygote
        self.pid = pid
        self.stdin: IO[str] | None = stdin
        self.stdout: IO[str] | None = stdout
        self.stderr: IO[str] | None = stderr
        self.returncode: int | None = None

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Close stdin, read stdout and stderr to their ends, then reap the exit code."""
        assert self.stdin is not None and self.stdout is not None and self.stderr is not None
        self.stdin.close()
        chunks: dict[str, str] = {}
        readers = [
            threading.Thread(target=lambda k=k, f=f: chunks.__setitem__(k, f.read()), daemon=True)
            for k, f in (("out", self.stdout), ("err", self.stderr))
        ]
        for reader in readers:
            reader.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        for reader in readers:
            reader.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if reader.is_alive():
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0.0)
        self.stdout.close()
        self.stderr.close()
        self.returncode = self._zygote.wait(self.pid)
        return chunks["out"], chunks["err"]


class _Zygote:
    def __init__(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._control = mine
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [sys.executable, __file__, "--zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()

    def _ask(self, request: dict[str, Any], fds: Sequence[int] = ()) -> dict[str, Any]:
        with self._lock:
            socket.send_fds(self._control, [json.dumps(request).encode()], list(fds))
            reply: dict[str, Any] = json.loads(self._control.recv(1 << 16))
            return reply

    def spawn(self, job: dict[str, Any]) -> Forked:
        (in_r, in_w), (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe(), os.pipe()
        request = {"op": "spawn", "job": job, "env": dict(os.environ), "cwd": os.getcwd()}
        try:
            pid = self._ask(request, [in_r, out_w, err_w])["pid"]
        finally:
            for fd in (in_r, out_w, err_w):
                os.close(fd)
        return Forked(
            self,
            pid,
            os.fdopen(in_w, "w"),
            os.fdopen(out_r, encoding="utf-8"),
            os.fdopen(err_r, encoding="utf-8"),
        )

    def wait(self, pid: int) -> int:
        code: int = self._ask({"op": "wait", "pid": pid})["code"]
        return code

    def close(self) -> None:
        self._control.close()  # the zygote's recv sees the end and returns
        self._proc.wait(30)


_zygote: _Zygote | None = None


def spawn(job: dict[str, Any]) -> Forked:
    """A worker process for `job`; it loads, then waits for `start_together`."""
    global _zygote
    if _zygote is None:
        _zygote = _Zygote()
        atexit.register(close_zygote)
    return _zygote.spawn(job)


def close_zygote() -> None:
    """End the zygote (the fleet conftest does at the end of the session, so that under
    `make coverage` its data file is written before the run combines them)."""
    global _zygote
    if _zygote is not None:
        _zygote.close()
        _zygote = None


def start_together(procs: Sequence[Forked]) -> None:
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
    if sys.argv[1] == "--zygote":
        _serve(socket.socket(fileno=int(sys.argv[2])))
    else:
        main(json.loads(sys.argv[1]))
