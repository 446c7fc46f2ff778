"""`promptctl view [RESULTS.json]`: open a run's HTML report in the browser, no server.

The page is written to a new temporary file (it holds model outputs: readable by the
user only; pages older than a day are deleted on the next `view`) and opened with the
standard `webbrowser` module; `--no-open` only prints the path. Without an argument:
the latest run in .promptctl/runs/. Exit 2 when there is no run to show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from promptctl.cli._common import ProjectOption, resolve_project

__all__ = ["PREFIX", "latest_run", "register"]


def register(app: typer.Typer) -> None:
    app.command("view")(view)


PREFIX = "promptctl-report-"
_KEEP_S = 24 * 3600


def _forget_old_pages(folder: Path) -> None:
    """Delete pages an earlier `view` wrote more than a day ago (never fails the command)."""
    import time

    cutoff = time.time() - _KEEP_S
    for old in folder.glob(f"{PREFIX}*.html"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue


def latest_run(runs_dir: Path) -> Path | None:
    """The newest run file (run ids sort by time)."""
    files = sorted(runs_dir.glob("*.json")) if runs_dir.is_dir() else []
    return files[-1] if files else None


def view(
    results: Annotated[
        Path | None, typer.Argument(help="Results file (default: the latest run).")
    ] = None,
    no_open: Annotated[
        bool, typer.Option("--no-open", help="Write the report and print its path only.")
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Open the HTML report of the latest run (or of RESULTS.json) in the browser."""
    import tempfile

    from promptctl.cli._html import run_page
    from promptctl.errors import UsageError
    from promptctl.evals.results import read_results
    from promptctl.report.html import write_html

    proj = resolve_project(project)
    if results is None:
        results = latest_run(proj.state_dir / "runs")
        if results is None:
            raise UsageError(
                f"no run in {proj.state_dir / 'runs'}",
                hint="run `promptctl test` first, or pass a results file",
            )
    page = run_page(read_results(results), proj)
    _forget_old_pages(Path(tempfile.gettempdir()))
    fd, name = tempfile.mkstemp(prefix=PREFIX, suffix=".html")
    path = Path(name)
    import os

    os.close(fd)
    write_html(path, page)
    typer.echo(str(path))
    if no_open:
        return
    import webbrowser

    if not webbrowser.open(path.as_uri()):
        typer.echo("no browser found: open the file above", err=True)
