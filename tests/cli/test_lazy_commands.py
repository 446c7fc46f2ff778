"""`promptctl CMD` builds CMD only; the table it picks the module from is the truth."""

from __future__ import annotations

import json
import subprocess
import sys

import typer
import typer.main

from promptctl.cli import main as cli_main


def _names(app: typer.Typer) -> list[str]:
    group = typer.main.get_command(app)
    return list(group.commands)  # type: ignore[attr-defined]


def test_each_module_registers_the_command_it_is_listed_for() -> None:
    for name, module in cli_main.COMMANDS.items():
        assert _names(cli_main._new_app((module,))) == [name], module


def test_the_whole_app_has_every_command() -> None:
    assert sorted(_names(cli_main.app)) == sorted(cli_main.COMMANDS)


_RUNNER = """
import json, sys
sys.argv = ["promptctl", *ARGS]
from promptctl.cli.main import main
try:
    main()
except SystemExit:
    pass
mods = sorted(m for m in sys.modules if m.startswith("promptctl.cli."))
sys.stderr.write("\\n@@" + json.dumps(mods) + "\\n")
"""


def _cli_modules(*args: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"ARGS = {list(args)!r}\n" + _RUNNER],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return list(json.loads(out.stderr.rsplit("@@", 1)[1]))


def test_a_command_imports_no_other_command_module() -> None:
    commands = {f"promptctl.cli.{m}" for m in cli_main.COMMANDS.values()}
    assert set(_cli_modules("list", "--help")) & commands == {"promptctl.cli.list_cmd"}
    assert set(_cli_modules("--version")) & commands == set()
    assert set(_cli_modules("--help")) & commands == commands  # the listing needs them all
