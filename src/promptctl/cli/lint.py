"""`promptctl lint [PATHS]`: check prompt files; exit 1 on errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from promptctl.cli._common import ProjectOption, check_choice, console, resolve_project

_FORMATS = ("text", "json", "github", "sarif")


def register(app: typer.Typer) -> None:
    @app.command("lint")
    def lint_cmd(
        paths: Annotated[
            list[Path] | None, typer.Argument(help="Files or folders (default: prompts/).")
        ] = None,
        output_format: Annotated[
            str, typer.Option("--format", "-f", help="text | json | github | sarif")
        ] = "text",
        base: Annotated[
            str | None,
            typer.Option(help="Git ref for version rules (default: merge-base with main)."),
        ] = None,
        no_versions: Annotated[
            bool, typer.Option("--no-version-check", help="Skip the git-based version rules.")
        ] = False,
        strict: Annotated[bool, typer.Option(help="Warnings fail too (exit 1).")] = False,
        project: ProjectOption = None,
    ) -> None:
        """Lint prompt files: schema, templates, tests, secrets, version bumps."""
        check_choice(output_format, _FORMATS)
        import gc

        from promptctl.lint import lint
        from promptctl.report import lint_formats as formats

        # A short batch run that allocates many small acyclic objects: the cyclic
        # collector costs ~15% of lint time and frees nothing useful.
        gc.disable()
        try:
            proj = resolve_project(project)
            report = lint(
                proj, paths or None, base_ref=base, check_versions=not no_versions, strict=strict
            )
        finally:
            gc.enable()
        if output_format == "text":
            console().print(formats.format_text(report, proj.root))
            if report.files_checked == 0 and not paths:
                typer.echo(
                    f"note: no prompt files under {proj.prompts_dir} "
                    "(add prompts/NAME.yaml, or run `promptctl init`)",
                    err=True,
                )
        else:
            render = {
                "json": formats.format_json,
                "github": formats.format_github,
                "sarif": formats.format_sarif,
            }[output_format]
            from promptctl.promptfile.gitsource import find_repo_root

            # GitHub resolves annotation and SARIF paths against the repository root
            root = proj.root if output_format == "json" else find_repo_root(proj.root) or proj.root
            from promptctl.report.safe_text import write_data

            write_data(render(report, root) + "\n", ci_commands=output_format == "github")
        raise typer.Exit(report.exit_code())
