"""Options and helpers shared by the foundation commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from promptctl.spec.model import Project

__all__ = ["ProjectOption", "console", "resolve_project"]

ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        help="Project directory (default: walk up from the current directory to promptctl.yaml).",
        file_okay=False,
    ),
]


def resolve_project(directory: Path | None) -> Project:
    from promptctl.spec.project import find_project, project_at

    return project_at(directory) if directory is not None else find_project()


def console() -> Console:
    """A rich console; piped output gets wide lines instead of rich's 80 columns."""
    import sys

    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)
