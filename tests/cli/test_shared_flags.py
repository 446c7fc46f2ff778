"""`test`, `diff` and `ci` take their shared flags from one declaration each."""

from __future__ import annotations

import dataclasses
import functools
import sys

import pytest
import typer.main

from promptctl.cli._eval_flags import EvalFlags
from promptctl.cli._gate_flags import GateFlags
from promptctl.cli.main import app, main


@functools.cache
def _params(command: str) -> dict[str, tuple[object, ...]]:
    click_command = _root().commands[command]  # type: ignore[attr-defined]
    return {
        p.name: (tuple(p.opts), getattr(p, "help", None), p.default, p.multiple)
        for p in click_command.params
    }


@functools.cache
def _root() -> object:
    return typer.main.get_command(app)


@pytest.mark.parametrize(
    ("flag_set", "commands"),
    [(EvalFlags, ("test", "diff", "ci")), (GateFlags, ("diff", "ci"))],
)
def test_shared_flags_are_identical_in_every_command(
    flag_set: type, commands: tuple[str, ...]
) -> None:
    names = [f.name for f in dataclasses.fields(flag_set)]
    first = {n: _params(commands[0])[n] for n in names}
    for command in commands[1:]:
        assert {n: _params(command)[n] for n in names} == first, command
    assert first["mode" if "mode" in first else "alpha"][0]  # real options were read


def test_usage_names_promptctl_whatever_the_launcher(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["/venv/lib/promptctl/__main__.py", "test", "--help"])
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None)
    assert "Usage: promptctl test [OPTIONS]" in capsys.readouterr().out
