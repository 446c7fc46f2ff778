"""`promptctl list`: every prompt with its version, status, model and tests."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from promptctl.cli._common import ProjectOption, check_choice, console, resolve_project
from promptctl.errors import EXIT_USAGE


def register(app: typer.Typer) -> None:
    @app.command("list")
    def list_cmd(
        output_format: Annotated[str, typer.Option("--format", "-f", help="text | json")] = "text",
        project: ProjectOption = None,
    ) -> None:
        """List prompts: id, version, status, model, tests, owner, tags."""
        check_choice(output_format, ("text", "json"))
        from promptctl.promptfile.loader import load_prompts

        proj = resolve_project(project)
        result = load_prompts(proj)
        rows = [
            {
                "id": p.id,
                "version": p.version,
                "status": p.status,
                "model": p.model.use,
                "tests": len(p.tests),
                "owner": p.owner,
                "tags": list(p.tags),
                "content_hash": p.content_hash,
            }
            for p in sorted(result.prompts, key=lambda p: p.id)
        ]
        if output_format == "json":
            typer.echo(json.dumps(rows, indent=2))
        else:
            from rich.table import Table

            table = Table(box=None, header_style="bold")
            for column in ("id", "version", "status", "model", "tests", "owner", "tags"):
                table.add_column(column, justify="right" if column == "tests" else "left")
            for p in sorted(result.prompts, key=lambda p: p.id):
                table.add_row(
                    p.id,
                    p.version,
                    p.status,
                    p.model.use,
                    str(len(p.tests)),
                    p.owner or "",
                    ", ".join(p.tags),
                )
            console().print(table)
        if not result.files:
            sys.stderr.write(
                f"note: no prompt files under {proj.prompts_dir} (run `promptctl init`)\n"
            )
        broken = len({d.location.path for d in result.errors if d.location})
        if broken:
            first = result.errors[0]
            sys.stderr.write(f"error: {first}\n")
            sys.stderr.write(
                f"error: {broken} file(s) with errors not listed; run `promptctl lint`\n"
            )
            raise typer.Exit(EXIT_USAGE)  # bad input exits 2, as everywhere
