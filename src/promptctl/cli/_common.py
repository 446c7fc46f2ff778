"""Options and helpers shared by the foundation commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from promptctl.spec.model import Project

__all__ = ["ProjectOption", "resolve_project"]

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
