"""Run the real console entry point in-process (fast; exit code, stdout, stderr).

`run(args, monkeypatch, capsys)` for tests with pytest's fixtures; `invoke(*args, cwd=,
env=)` returns a `subprocess.CompletedProcess` like `python -m promptctl` would, for
tests written against a process, without paying a Python start-up per call. Tests of
process behaviour (signals, import purity, the console script) still spawn one.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from unittest import mock

import pytest

from promptctl.cli.main import main

__all__ = ["invoke", "run"]


def run(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["promptctl", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


class _Text(io.StringIO):
    """A captured stream that says it is not a terminal (as a pipe to a child would)."""

    def isatty(self) -> bool:
        return False


@contextlib.contextmanager
def _cwd(path: Path | str | None) -> Iterator[None]:
    if path is None:
        yield
        return
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def invoke(
    *args: str, cwd: Path | str | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`promptctl ARGS` in this process; `env` replaces the environment as for a child."""
    out, err = _Text(), _Text()
    code = 0
    environ = mock.patch.dict(os.environ, dict(env), clear=True) if env is not None else None
    with (
        _cwd(cwd),
        environ or contextlib.nullcontext(),
        mock.patch.object(sys, "argv", ["promptctl", *args]),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    argv = ["promptctl", *args]
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())
