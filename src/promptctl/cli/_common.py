"""Options and helpers shared by every command: `--project`, `--format` checks, the console."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from promptctl.promptfile.model import Project

__all__ = ["ProjectOption", "check_choice", "console", "resolve_project"]

ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        help="Project directory (default: walk up from the current directory to promptctl.yaml).",
        file_okay=False,
    ),
]


def resolve_project(directory: Path | None) -> Project:
    """`--project DIR` if given, else the promptctl.yaml found walking up from the cwd.

    The one way commands get their Project: paths, providers, pricing, gate, budgets and
    ledger all come from the same validated promptctl.yaml (ConfigError, exit 2).
    """
    from promptctl.promptfile.project import find_project, project_at

    return project_at(directory) if directory is not None else find_project()


def console() -> Console:
    """A rich console whose text is neutralised (`report.safe_text`); piped output gets
    wide lines instead of rich's 80 columns."""
    import sys

    from promptctl.report.safe_text import neutral_console

    return neutral_console(highlight=False, width=None if sys.stdout.isatty() else 160)


def check_choice(value: str, choices: Sequence[str], flag: str = "--format") -> str:
    """`value` if it is one of `choices`, else a UsageError (exit 2) listing them."""
    if value not in choices:
        from promptctl.errors import UsageError

        raise UsageError(f"unknown {flag} {value!r}", hint="choose " + ", ".join(choices))
    return value
