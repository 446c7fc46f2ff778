"""`promptctl schema [prompt|config]`: print the JSON Schema for editors."""

from __future__ import annotations

from typing import Annotated

import typer

from promptctl.errors import UsageError


def register(app: typer.Typer) -> None:
    @app.command("schema")
    def schema_cmd(
        which: Annotated[str, typer.Argument(help="prompt (default) or config")] = "prompt",
    ) -> None:
        """Print the JSON Schema of prompt files or of promptctl.yaml."""
        from promptctl.promptfile.schemas import schema_text

        if which == "prompt":
            typer.echo(schema_text("prompt"), nl=False)
        elif which == "config":
            typer.echo(schema_text("config"), nl=False)
        else:
            raise UsageError(f"unknown schema {which!r}", hint="use `prompt` or `config`")
