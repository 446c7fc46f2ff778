"""`--html FILE` for test, diff, ci and report, and the page `view` opens: one place that
gathers what a run report can show beyond the results document (tags, rendered messages,
history of the project's recent runs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from promptctl.evals.comparison import Comparison
    from promptctl.promptfile.model import Project, Prompt

__all__ = ["HtmlOption", "run_page", "write_diff_html", "write_run_html"]

HtmlOption = Annotated[
    Path | None,
    typer.Option("--html", help="Also write a self-contained HTML report here.", dir_okay=False),
]


def run_page(
    doc: Mapping[str, Any],
    project: Project | None,
    *,
    prompts: Sequence[Prompt] | None = None,
    partials: Mapping[str, str] | None = None,
) -> str:
    """The run report; prompts are loaded from the project when not given (best effort:
    files that do not load only lose their tags and messages)."""
    from promptctl.report.html import render_run
    from promptctl.report.html.context import prompt_tags, rendered_messages
    from promptctl.report.html.payload import history_points

    if project is None:
        return render_run(doc)
    if prompts is None:
        from promptctl.promptfile.loader import load_prompts

        loaded = load_prompts(project)
        prompts, partials = loaded.prompts, loaded.partials
    return render_run(
        doc,
        tags=prompt_tags(prompts),
        messages=rendered_messages(prompts, partials or {}),
        history=history_points(project.state_dir / "runs"),
    )


def write_run_html(path: Path, page: str) -> None:
    from promptctl.report.html import write_html

    write_html(path, page)
    typer.echo(f"html report: {path}", err=True)


def write_diff_html(
    path: Path,
    comparison: Comparison,
    base_doc: Mapping[str, Any] | None = None,
    head_doc: Mapping[str, Any] | None = None,
) -> None:
    from promptctl.report.html import render_diff, write_html

    write_html(path, render_diff(comparison, base_doc=base_doc, head_doc=head_doc))
    typer.echo(f"html report: {path}", err=True)
