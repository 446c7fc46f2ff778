"""Run the real console entry point in-process (fast; exit code, stdout, stderr)."""

from __future__ import annotations

import sys

import pytest

from promptctl.cli.main import main


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
