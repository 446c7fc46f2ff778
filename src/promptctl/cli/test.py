"""`promptctl test`: run the prompts' tests and print the summary.

Exit codes: 0 all passed; 1 a test failed (or `--max-cost` left cases unrun); 3 no
failures but some cases errored (provider failure, missing API key, missing recording);
2 bad input (invalid prompt files, bad flags); 130 interrupted (partial results written).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from promptctl.cli._common import ProjectOption, check_choice, resolve_project
from promptctl.cli._eval_flags import EvalFlags, eval_flags
from promptctl.cli._html import HtmlOption
from promptctl.errors import EXIT_USAGE, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from promptctl.evals.results import CaseResult
    from promptctl.evals.runner import EvalRun
    from promptctl.promptfile.loader import LoadResult
    from promptctl.promptfile.model import Project

__all__ = ["check_selected", "load_or_exit", "register"]


def register(app: typer.Typer) -> None:
    app.command("test")(test)


@eval_flags
def test(
    flags: EvalFlags,
    shard: Annotated[str | None, typer.Option(help="Run shard I of N (I/N).")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the results here.")
    ] = None,
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here.")] = None,
    html: HtmlOption = None,
    format: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="text (table), json (the results document) or markdown."
        ),
    ] = "text",
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar; plain summary.")
    ] = False,
    batch: Annotated[
        bool,
        typer.Option("--batch", help="Answer uncached cases through batch APIs at batch prices."),
    ] = False,
    batch_poll: Annotated[
        float,
        typer.Option(
            "--batch-poll", help="First wait between batch polls, s (doubles to 60).", min=0
        ),
    ] = 2.0,
    project: ProjectOption = None,
) -> None:
    """Run the prompts' tests against their models and report pass rates, cost and latency."""
    fmt = check_choice(format, ("text", "json", "markdown"))
    if batch and flags.stream:
        raise UsageError(
            "--batch and --stream cannot be combined: batch APIs answer whole, never streamed",
            hint="drop one of them",
        )
    with _no_gc_while_loading():
        from promptctl.evals.runner import evaluate

        selection = flags.selection(shard=shard, output=output, junit=junit)
        proj = resolve_project(project)
        from promptctl.evals.run_output import check_writable

        check_writable(html)  # an unusable --html path fails before anything is spent
        options = selection.options
        loaded = load_or_exit(proj, list(selection.paths), list(options.id_globs))
        check_selected(
            loaded, list(options.id_globs), tags=options.tags, test_glob=options.test_glob,
            project=proj,
        )  # fmt: skip
        prompts, partials = loaded.prompts, loaded.partials
        del loaded  # the parsed YAML with positions is not needed any more (memory)
    answered = None
    if batch:
        from promptctl.cli._batch import prefill

        answered = prefill(proj, prompts, partials, options, first_wait_s=batch_poll)
    bar = None if quiet or not sys.stderr.isatty() else _ProgressBar()
    try:
        with _fewer_gc_passes():
            run = evaluate(
                proj, prompts, options, partials=partials, progress=bar, answered=answered
            )
    finally:
        if bar is not None:
            bar.stop()
    if html is not None and run.cases:  # before printing: a closed pipe must not lose it
        from promptctl.cli._html import run_page, write_run_html

        write_run_html(html, run_page(run.document, proj, prompts=prompts, partials=partials))
    _report(run, proj, quiet=quiet, fmt=fmt)
    raise typer.Exit(run.exit_code)


@contextmanager
def _no_gc_while_loading() -> Iterator[None]:
    """No cyclic GC while the run's modules are imported and its prompts loaded: nearly
    everything made then stays (modules, prompts, tests) or is freed by refcount (the
    parsed YAML), so the collector's passes over it found nothing (~5 ms a run)."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """Collect cycles rarely during the run.

    A run allocates many long-lived objects; with the default thresholds the cyclic GC
    rescans them over and over, which costs CPU on the event loop. The heap is not
    frozen (`gc.freeze`): that saved ~0.4% of a cached run's instructions, and knowing
    whether a caller had frozen theirs first (`gc.get_freeze_count`) walks every frozen
    object: ~10 ms a run in a process that froze a large heap (a test worker, an
    application that froze its imports).
    """
    import gc

    old = gc.get_threshold()
    gc.set_threshold(10_000, 20, 50)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def load_or_exit(project: Project, paths: list[Path], id_globs: Sequence[str] = ()) -> LoadResult:
    """The working tree's prompts; invalid prompt files print their findings, exit 2.

    With id globs, only the files they select are loaded (and can stop the run).
    """
    from promptctl.promptfile.loader import load_prompts

    loaded = load_prompts(project, paths or None, keep_docs=False, id_globs=id_globs)
    if loaded.errors:
        for diag in loaded.errors:
            sys.stderr.write(f"{diag}\n")
        sys.stderr.write(
            f"error: {len(loaded.errors)} error(s) in prompt files; fix them (see "
            "`promptctl lint`) before testing\n"
        )
        raise typer.Exit(EXIT_USAGE)
    return loaded


def check_selected(
    loaded: LoadResult,
    globs: list[str],
    *,
    tags: Sequence[str] = (),
    test_glob: str | None = None,
    project: Project | None = None,
) -> None:
    """UsageError (exit 2) when id globs were given and no prompt matches any of them, or
    when `--tag` / `--test` leave no test: a mistyped filter must not pass as "nothing
    failed"."""
    if globs and not _any_selected(loaded, globs):
        raise UsageError(
            f"no prompt matches {', '.join(globs)}", hint=_folder_hint(loaded, globs, project)
        )
    if tags or test_glob:
        from promptctl.evals.cases import CaseExpansion
        from promptctl.promptfile.model import Limits

        every = CaseExpansion(
            tuple(loaded.prompts), repeat=1, id_globs=tuple(globs), tags=tuple(tags),
            test_glob=test_glob,
        )  # fmt: skip
        if not every.count(Limits(max_cases=sys.maxsize)):  # the run checks the real caps
            asked = [f"--tag {t}" for t in tags] + ([f"--test {test_glob!r}"] if test_glob else [])
            raise UsageError(
                f"no test matches {' and '.join(asked)}",
                hint="run `promptctl list` to see the prompts, their tags and tests",
            )


def _folder_hint(loaded: LoadResult, globs: list[str], project: Project | None) -> str:
    """`support` names no prompt but a folder of them: say `support/*` selects them (the
    files' path-derived ids when only the selected files were loaded)."""
    ids = [p.id for p in loaded.prompts]
    if project is not None:
        from promptctl.promptfile.loader import discover_prompt_files
        from promptctl.promptfile.prompt_build import default_id

        ids += [default_id(path, project) for path in discover_prompt_files(project)]
    for glob in globs:
        folder = glob.strip("/")
        if folder and not any(c in folder for c in "*?["):
            inside = len({i for i in ids if i.startswith(folder + "/")})
            if inside:
                return f"did you mean '{folder}/*'? ({inside} prompt(s) under {folder}/)"
    return "run `promptctl list` to see the ids"


def _any_selected(loaded: LoadResult, globs: list[str]) -> bool:
    """Does any prompt (with or without tests) match the id/path globs?"""
    from dataclasses import replace

    from promptctl.evals.cases import expand_cases
    from promptctl.promptfile.model import TestCase

    probes = [replace(p, tests=(TestCase("probe"),)) for p in loaded.prompts]
    return bool(expand_cases(probes, id_globs=globs, repeat=1))


def _report(run: EvalRun, project: Project, *, quiet: bool, fmt: str = "text") -> None:
    from promptctl.report.summary import render_markdown, render_plain, summary_renderables

    doc = run.head  # the document without its cases; `facts` has what is read from them
    if fmt == "json":
        import json

        sys.stdout.write(json.dumps(run.document, indent=2, ensure_ascii=False) + "\n")
    elif not run.cases:
        typer.echo("no tests selected")
    elif fmt == "markdown":
        sys.stdout.write(render_markdown(doc, facts=run.facts))
    elif quiet or not sys.stdout.isatty():
        sys.stdout.write(render_plain(doc, facts=run.facts))
    else:
        from promptctl.cli._common import console

        out = console()
        for renderable in summary_renderables(doc, width=out.width, facts=run.facts):
            out.print(renderable)
    if run.run_file is not None:
        where = _relative(run.run_file, project.root)
        typer.echo(f"results: {where}", err=fmt != "text")
    kinds = run.error_kinds
    if "replay_missing" in kinds:
        sys.stderr.write(
            "hint: some recordings are missing; record them with `promptctl test --mode record`"
            " (needs the API key) and commit evals/recordings/\n"
        )
    if "config" in kinds:
        sys.stderr.write("hint: a provider is not configured (see the errors above)\n")
    if "network" in kinds and not run.counts.get("pass") and not run.counts.get("fail"):
        sys.stderr.write(
            "hint: no provider could be reached: is the server running, and is its base_url"
            " in promptctl.yaml right? (`promptctl providers` lists them)\n"
        )
    if run.interrupted:
        sys.stderr.write("interrupted: partial results written; re-run to resume from cache\n")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


class _ProgressBar:
    """A rich progress bar on stderr: done/total, ETA, pass/fail/error counts, cost."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        from promptctl.report.safe_text import neutral_console

        self._counts = {"pass": 0, "fail": 0, "error": 0, "skipped": 0}
        self._progress = Progress(
            TextColumn("[bold]testing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
            console=console or neutral_console(stderr=True),
            transient=True,
            refresh_per_second=8,
        )
        self._task: Any = None

    def start(self, total: int) -> None:
        self._progress.start()
        self._task = self._progress.add_task("test", total=total, status="")

    def advance(self, result: CaseResult, spent_usd: float) -> None:
        from promptctl.report.money import format_usd

        self._counts[result.status] += 1
        c = self._counts
        status = (
            f"[green]{c['pass']} passed[/] [red]{c['fail']} failed[/] "
            f"[yellow]{c['error']} errors[/] {format_usd(spent_usd)}"
        )
        self._progress.update(self._task, advance=1, status=status)

    def stop(self) -> None:
        self._progress.stop()
