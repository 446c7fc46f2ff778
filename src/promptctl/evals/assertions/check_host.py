"""Runs `python` checks in a child process (`_check_child`), one per promptctl process.

A check is arbitrary code from the repository. Run in promptctl's own process, one that
raised `SystemExit(0)` or called `os._exit(0)` ended `promptctl test`/`ci` with exit code 0
and the failing cases unreported. In a child, whatever the check does (exit, crash, hang
past `CHECK_TIMEOUT_S`) is that case's failed assertion, and the run goes on with a fresh
child. Cost: the child starts once (~25 ms) and each call is a pipe round trip (~0.1 ms,
bench/python_checks.py). The child is not a sandbox: it runs as the same
user with the same environment (see docs/security.md for untrusted pull requests).
POSIX only: the timeout waits on the pipe with `select`.
"""

from __future__ import annotations

import atexit
import json
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptctl.evals.assertions import _check_child
from promptctl.evals.assertions._check_child import CheckProblem, read_frame, write_frame

__all__ = ["CHECK_TIMEOUT_S", "CheckReply", "call_check", "probe_check"]

CHECK_TIMEOUT_S = 120.0
"""How long one check (its import included) may run before its process is killed."""


@dataclass(frozen=True)
class CheckReply:
    passed: bool
    reason: str
    score: float | None


class _Host:
    """The child process and its pipes; restarted after a check kills or hangs it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def request(self, message: tuple[Any, ...], label: str) -> dict[str, Any]:
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            proc = self._proc if self._proc and self._proc.poll() is None else self._start()
            done = False
            try:
                assert proc.stdin is not None and proc.stdout is not None
                try:
                    write_frame(proc.stdin, payload)
                except OSError:
                    raise self._died(proc, label) from None
                if not _wait_readable(proc.stdout, CHECK_TIMEOUT_S):
                    raise CheckProblem(
                        "crashed", f"{label} ran longer than {CHECK_TIMEOUT_S:g} s and was stopped"
                    )
                frame = read_frame(proc.stdout)
                if frame is None:
                    raise self._died(proc, label)
                reply = _decode(frame, label)
                done = True
            finally:
                if not done:  # a child in an unknown state is never asked again
                    self._kill()
        return reply

    def _start(self) -> subprocess.Popen[bytes]:
        self._kill()
        script = Path(_check_child.__file__)
        # -P: the script's folder (this package) must not shadow the check's imports
        self._proc = subprocess.Popen(
            [sys.executable, "-P", str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        return self._proc

    def _died(self, proc: subprocess.Popen[bytes], label: str) -> CheckProblem:
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            return CheckProblem("crashed", f"{label} broke the check process's channel")
        how = f"exit code {code}" if code >= 0 else f"signal {-code}"
        return CheckProblem(
            "crashed", f"{label} ended the check process ({how}: sys.exit, os._exit or a crash)"
        )

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        with self._lock:
            self._kill()


def _decode(frame: bytes, label: str) -> dict[str, Any]:
    try:
        reply = json.loads(frame)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        raise CheckProblem("crashed", f"{label}: unreadable reply from the check process")
    return reply


def _wait_readable(stream: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            ready, _, _ = select.select([stream], [], [], left)
        except InterruptedError:  # pragma: no cover - PEP 475 retries select itself
            continue
        return bool(ready)


_HOST = _Host()
atexit.register(_HOST.close)


def _request(op: str, path: Path, label: str, func: str, *extra: Any) -> dict[str, Any]:
    reply = _HOST.request((op, os.getcwd(), str(path), label, func, *extra), f"{label}:{func}")
    if not reply.get("ok"):
        raise CheckProblem(str(reply.get("kind", "crashed")), str(reply.get("message", "")))
    return reply


def probe_check(path: Path, label: str, func: str) -> None:
    """Import the check file in the child and look the function up (lint); CheckProblem."""
    _request("probe", path, label, func)


def call_check(
    path: Path, label: str, func: str, output: str, context: dict[str, Any]
) -> CheckReply:
    """Run `func(output, context)` in the child; CheckProblem when it cannot be used."""
    reply = _request("call", path, label, func, output, context)
    score = reply.get("score")
    return CheckReply(
        passed=reply.get("passed") is True,
        reason=str(reply.get("reason", "")),
        score=float(score) if isinstance(score, int | float) else None,
    )
