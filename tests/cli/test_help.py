"""`--help` at 80 columns: boolean flags take no value, flag names are never cut."""

from __future__ import annotations

import os
import re

import pytest

from fakes.cli import invoke


def _help(*args: str) -> str:
    result = invoke(*args, "--help", env={**os.environ, "COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("command", ["test", "diff", "ci"])
def test_boolean_flags_show_no_value(command: str) -> None:
    out = _help(command)
    assert "<bool>" not in out
    assert re.search(r"^  --no-cache\s{2,}Do not read", out, re.M), out


@pytest.mark.parametrize("command", ["test", "diff", "ci"])
def test_flag_names_are_whole_and_lines_fit_80_columns(command: str) -> None:
    out = _help(command)
    assert "…" not in out
    for flag in ("--max-cost", "--concurrency", "--project"):
        assert re.search(rf"(^|\s){flag}(\s|$)", out), flag
    if command != "test":
        assert "--fail-on-new-failures / --no-fail-on-new-failures" in out
        assert "--max-latency-increase <str>" in out
    assert max(len(line) for line in out.splitlines()) <= 80
