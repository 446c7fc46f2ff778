"""`promptctl publish [IDS...]`: check, build, sign and write a bundle.

Refusals print one line per reason and exit 1 (a check failed, like a failing test or
lint error); bad input (unknown id, unreadable project) exits 2 through main().
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from promptctl.cli._common import ProjectOption, resolve_project

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("publish")
    def publish_cmd(
        ids: Annotated[
            list[str] | None,
            typer.Argument(help="Prompt ids (default: every approved prompt)."),
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option("--out", help="Release directory (default: `releases:` in config)."),
        ] = None,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Run every check, build, write nothing.")
        ] = False,
        sign_key: Annotated[
            Path | None, typer.Option("--sign-key", help="Ed25519 private key (PEM) to sign with.")
        ] = None,
        results: Annotated[
            list[Path] | None,
            typer.Option("--results", help="Results document(s) besides .promptctl/runs/."),
        ] = None,
        project: ProjectOption = None,
    ) -> None:
        """Publish approved, linted, evaluated prompts as one (signed) bundle."""
        from promptctl.errors import EXIT_FAILED, PublishError
        from promptctl.publish.flow import publish
        from promptctl.publish.selection import select_for_publish

        proj = resolve_project(project)
        selection = select_for_publish(proj, ids or ())
        reasons = list(selection.refusals)
        for name in selection.skipped:
            typer.echo(f"skipped {name}: not approved", err=True)
        try:
            result = publish(
                proj,
                selection.prompts,
                lint_errors_by_prompt=selection.lint_errors,
                out_dir=out,
                dry_run=dry_run or bool(reasons),  # broken files: check the rest, write nothing
                sign_key=sign_key,
                results_files=results or (),
            )
        except PublishError as exc:
            reasons += exc.reasons
        if reasons:
            typer.echo(f"publish refused ({len(reasons)} reason(s)):", err=True)
            for reason in reasons:
                typer.echo(f"  - {reason}", err=True)
            raise typer.Exit(EXIT_FAILED)
        verb = "would publish" if result.dry_run else "published"
        typer.echo(f"{verb} {_rel(result.path)}")
        typer.echo(f"  digest  {result.digest}")
        for name in result.identities:
            base = name.split("+", 1)[0]
            mark = "new" if base in result.new_versions else "already published, same content"
            typer.echo(f"  {name}  ({mark})")
        if result.dry_run:
            typer.echo("  (dry run: nothing written)")
        if result.signed:
            typer.echo("  signed  ed25519 (key " + str(result.doc["signature"]["key_id"]) + ")")
        else:
            typer.echo(
                "warning: the bundle is UNSIGNED; applications cannot verify who published it "
                "(sign with --sign-key; create a key with `promptctl keygen`)",
                err=True,
            )


def _rel(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)
