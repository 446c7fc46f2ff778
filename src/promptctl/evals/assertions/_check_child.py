"""The process that runs users' `python` checks (started by `check_host`; stdlib only).

Why a separate process: a check is arbitrary code. In the runner's own process a check
that raises `SystemExit(0)`, calls `os._exit(0)` or crashes the interpreter ended the whole
run with exit code 0 and failing tests unreported. Here, whatever the check does, the
parent reads either a verdict or a dead pipe, and makes that case's assertion fail.

Protocol: frames of a 4-byte big-endian length and a payload, over private copies of the
original stdin/stdout (fds 0 and 1 are then pointed at /dev/null and stderr, so a check's
`print` cannot corrupt the channel). Requests are pickles from the parent (which this
process trusts); replies are JSON (the parent does not trust this process):
    ("probe", cwd, path, label, func)                 -> {"ok": true}
    ("call", cwd, path, label, func, output, context) -> {"ok": true, "passed", "reason", "score"}
    any failure                                       -> {"ok": false, "kind", "message"}
`kind` is "invalid" (no such function) or "crashed" (the check raised or returned junk).
This module is imported by the parent too, for `interpret` (one home for the rules).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import IO, Any, cast

__all__ = ["DEFAULT_PASS_SCORE", "CheckProblem", "interpret", "read_frame", "write_frame"]

DEFAULT_PASS_SCORE = 0.5
_HEADER = struct.Struct(">I")


class CheckProblem(Exception):
    """A check that cannot be used: `kind` is "invalid" or "crashed"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


MAX_FRAME = 64 * 1024 * 1024
"""Larger frames mean a broken (or tampered) channel: treated like a closed one."""


def read_frame(stream: IO[bytes]) -> bytes | None:
    """One frame's payload, or None at end of stream (the other side is gone)."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        return None
    payload = stream.read(size)
    return payload if len(payload) == size else None


def write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _score(value: Any, ref: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise CheckProblem(
            "crashed", f"{ref} returned score {value!r}; expected a number in [0, 1]"
        )
    return float(value)


def interpret(result: Any, ref: str) -> tuple[bool, str, float | None]:
    """(passed, reason, score) from a check's return value: a bool, a number in [0, 1]
    (passing at >= 0.5) or a mapping `{pass, score, reason}`; CheckProblem otherwise."""
    if isinstance(result, bool):
        return result, f"{ref} returned {result}", None
    if isinstance(result, int | float):
        value = _score(result, ref)
        return value >= DEFAULT_PASS_SCORE, f"{ref} returned score {value:g}", value
    if isinstance(result, Mapping) and ("pass" in result or "score" in result):
        score: float | None = _score(result["score"], ref) if "score" in result else None
        if "pass" in result:
            passed = bool(result["pass"])
        else:
            passed = score is not None and score >= DEFAULT_PASS_SCORE
        reason = str(result.get("reason") or f"{ref} returned pass={passed}")
        return passed, reason, score
    raise CheckProblem(
        "crashed",
        f"{ref} returned {result!r}; expected a bool, a number in [0, 1] or "
        "{'pass': ..., 'score': ..., 'reason': ...}",
    )


class _Checks:
    """Imported check modules, one per file version (path, mtime)."""

    def __init__(self) -> None:
        self.modules: dict[tuple[str, int], ModuleType] = {}

    def function(self, path: str, label: str, func_name: str) -> Callable[..., Any]:
        key = (path, os.stat(path).st_mtime_ns)
        module = self.modules.get(key)
        if module is None:
            name = "promptctl_check_" + hashlib.sha256(str(key).encode()).hexdigest()[:12]
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise CheckProblem("invalid", f"cannot import {label}")
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except BaseException as exc:  # SystemExit too: a check never ends this process
                raise CheckProblem("crashed", f"importing {label} raised {describe(exc)}") from exc
            self.modules[key] = module
        func = getattr(module, func_name, None)
        if not callable(func):
            raise CheckProblem("invalid", f"{label} has no function {func_name!r}")
        return cast("Callable[..., Any]", func)

    def handle(self, request: tuple[Any, ...]) -> dict[str, Any]:
        op, cwd, path, label, func_name = request[:5]
        os.chdir(cwd)
        func = self.function(path, label, func_name)
        if op == "probe":
            return {"ok": True}
        output, context = request[5], request[6]
        ref = f"{label}:{func_name}"
        try:
            result = func(output, context)
        except BaseException as exc:  # SystemExit, KeyboardInterrupt from the check itself
            raise CheckProblem("crashed", f"{ref} raised {describe(exc)}") from exc
        passed, reason, score = interpret(result, ref)
        return {"ok": True, "passed": passed, "reason": reason, "score": score}


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # a check's print() goes to stderr, never into the channel
    sys.stdout = sys.stderr
    checks = _Checks()
    while (payload := read_frame(requests)) is not None:
        try:
            reply = checks.handle(pickle.loads(payload))
        except CheckProblem as exc:
            reply = {"ok": False, "kind": exc.kind, "message": str(exc)}
        except BaseException as exc:
            reply = {"ok": False, "kind": "crashed", "message": describe(exc)}
        write_frame(replies, json.dumps(reply, default=str).encode())


if __name__ == "__main__":
    main()
