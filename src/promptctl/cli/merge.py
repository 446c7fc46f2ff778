"""`promptctl merge`: join shard result files into one results document."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("merge")(merge)


def merge(
    files: Annotated[
        list[Path],
        typer.Argument(help="Shard results files (promptctl test --shard I/N --output FILE)."),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the merged document.")
    ],
) -> None:
    """Merge shard results; duplicate cases are an error, summaries are recomputed."""
    from promptctl.evals.merge import merge_files
    from promptctl.evals.results import write_results

    doc = merge_files(files)
    write_results(output, doc)
    typer.echo(f"merged {len(files)} files, {len(doc['cases'])} cases -> {output}")
