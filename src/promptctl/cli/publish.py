"""`promptctl publish [IDS...] [--remove ID]`: check, build, sign and write a release.

A release holds the full set of published prompts: the newest release's prompts are
carried over unless replaced or removed with `--remove`. Refusals print one line per
reason and exit 1 (a check failed, like a failing test or lint error); bad input
(unknown id, unreadable project) exits 2 through main().
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
        remove: Annotated[
            list[str] | None,
            typer.Option(
                "--remove",
                help="Drop this prompt id from the release (repeatable). Alone: publish "
                "only the removal.",
            ),
        ] = None,
        adopt_previous: Annotated[
            bool,
            typer.Option(
                "--adopt-previous",
                help="Sign prompts carried over from a previous release that this key "
                "did not sign (first signed publish, key rotation).",
            ),
        ] = False,
        eval_targets: Annotated[
            str,
            typer.Option(
                "--eval-targets",
                help="Targets whose eval qualifies a prompt: `primary` (model.use) or "
                "`all` (also routes and fallbacks).",
            ),
        ] = "primary",
        project: ProjectOption = None,
    ) -> None:
        """Publish approved, linted, evaluated prompts as the next (signed) release."""
        from promptctl.errors import EXIT_FAILED, PublishError, UsageError
        from promptctl.publish.flow import publish
        from promptctl.publish.selection import Selection, select_for_publish

        if eval_targets not in ("primary", "all"):
            raise UsageError(f"--eval-targets {eval_targets!r}: expected `primary` or `all`")
        proj = resolve_project(project)
        if remove and not ids:
            selection = Selection([], {}, [])  # a release that only drops prompts
        else:
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
                remove=remove or (),
                adopt_previous=adopt_previous,
                eval_targets="all" if eval_targets == "all" else "primary",
            )
        except PublishError as exc:
            reasons += exc.reasons
        if reasons:
            typer.echo(f"publish refused ({len(reasons)} reason(s)):", err=True)
            for reason in reasons:
                typer.echo(f"  - {reason}", err=True)
            raise typer.Exit(EXIT_FAILED)
        verb = "would publish" if result.dry_run else "published"
        if result.unchanged:
            verb = "unchanged: the newest release already is"
        typer.echo(f"{verb} {_rel(result.path)}")
        typer.echo(f"  release {result.sequence}")
        typer.echo(f"  digest  {result.digest}")
        for name in result.identities:
            base = name.split("+", 1)[0]
            mark = "new" if base in result.new_versions else "already published, same content"
            typer.echo(f"  {name}  ({mark})")
        for name in result.carried:
            typer.echo(f"  {name}  (carried over)")
        for name in result.removed:
            typer.echo(f"  {name}  (removed)")
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
