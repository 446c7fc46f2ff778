"""Run `promptctl` in a fresh process per call without paying Python's start-up each time.

One helper process imports the CLI once; each `run` forks it: the child takes the
call's working directory, environment and arguments, writes stdout/stderr to files and
leaves with the CLI's exit code through `os._exit` (the interpreter's teardown would
touch, and so copy, every page of the forked heap; a coverage tracer saves its data
first: coverage's `patch = fork` restarted it in the child). A child still running at
the timeout is killed, so a hang or a memory bomb stays a failed test, never a stuck or
crashed suite.

The helper's own environment is what `/proc/self/environ` shows in every child (the
kernel keeps the exec-time block): start it with the environment a test checks for.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["ForkRunner", "Hung"]

_HELPER = r"""
import json, os, sys, time
import promptctl.cli.main  # and what lint, render and test load: every call would pay it
import promptctl.lint, promptctl.render, promptctl.plan.call, promptctl.promptfile.project
import promptctl.report.lint_formats, promptctl.evals.runner, promptctl.providers.gateway
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:  # the child: becomes the call, then leaves the loop through SystemExit
        if job.get("regex_timeout_s"):  # a catastrophic pattern's bound, shortened
            import promptctl.promptfile.regex_safety as regex_safety

            regex_safety.REGEX_TIMEOUT_S = job["regex_timeout_s"]
        os.chdir(job["cwd"])
        os.environ.clear()
        os.environ.update(job["env"])
        for fd, name in ((1, "out"), (2, "err")):
            os.dup2(os.open(job[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        sys.stdin = open(os.devnull)
        sys.argv = ["promptctl", *job["args"]]
        code = 0
        try:
            promptctl.cli.main.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        sys.stdout.flush()
        sys.stderr.flush()
        coverage = sys.modules.get("coverage")
        tracer = coverage.Coverage.current() if coverage is not None else None
        if tracer is not None:
            tracer.stop()
            tracer.save()
        os._exit(code)
    deadline = time.monotonic() + job["timeout"]
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            reply = {"code": os.waitstatus_to_exitcode(status)}
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            reply = {"hung": True}
            break
        time.sleep(0.002)
    print(json.dumps(reply), flush=True)
"""


class Hung(Exception):
    """The call was still running at its timeout (and was killed)."""


class ForkRunner:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="promptctl-fork-"))
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _HELPER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            text=True,
        )

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float,
        regex_timeout_s: float | None = None,
    ) -> tuple[int, str, str]:
        """`promptctl ARGS` in a fresh child: (exit code, stdout, stderr); `Hung` at timeout.
        `regex_timeout_s` shortens the child's bound on a pattern search (1 s), so a
        catastrophic pattern's refusal costs the suite less CPU."""
        out, err = self._dir / "out", self._dir / "err"
        job: dict[str, object] = {"args": list(args), "cwd": str(cwd), "env": dict(env)}
        job |= {"timeout": timeout, "regex_timeout_s": regex_timeout_s}
        job |= {"out": str(out), "err": str(err)}
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(job) + "\n")
        self._proc.stdin.flush()
        reply = json.loads(self._proc.stdout.readline())
        if reply.get("hung"):
            raise Hung(f"promptctl {' '.join(args)} still running after {timeout}s")
        read = lambda p: p.read_text(encoding="utf-8", errors="replace")  # noqa: E731
        return int(reply["code"]), read(out), read(err)

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(30)
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        for name in ("out", "err"):
            (self._dir / name).unlink(missing_ok=True)
        self._dir.rmdir()
