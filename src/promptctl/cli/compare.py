"""`promptctl compare PROMPT --candidates T1,T2`: the cheapest target that is good enough."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, cast

import typer

from promptctl.cli._common import ProjectOption, check_choice, console, resolve_project
from promptctl.cli._eval_flags import ConcurrencyOption, ModeOption, NoCacheOption, RepeatOption
from promptctl.errors import EXIT_FAILED, EXIT_INFRA, UsageError

if TYPE_CHECKING:
    from promptctl.evals.target_compare import Comparison
    from promptctl.promptfile.model import Project, Prompt
    from promptctl.providers.recordings import Mode

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)


def compare(
    prompt_id: Annotated[str, typer.Argument(help="The prompt id (or its file).")],
    candidates: Annotated[
        str | None,
        typer.Option(
            "--candidates",
            "-c",
            help="Comma-separated provider/model targets [default: `candidates:`].",
        ),
    ] = None,
    margin: Annotated[
        float, typer.Option("--margin", help="Tolerated pass-rate drop, 0..1.", min=0, max=1)
    ] = 0.02,
    repeat: RepeatOption = None,
    fmt: Annotated[str, typer.Option("--format", help="text | json | markdown")] = "text",
    write: Annotated[
        bool,
        typer.Option(
            "--write", help="Switch the prompt to the recommended target (old kept as fallback)."
        ),
    ] = False,
    mode: ModeOption = "auto",
    no_cache: NoCacheOption = False,
    concurrency: ConcurrencyOption = None,
    project: ProjectOption = None,
) -> None:
    """Run a prompt's tests on candidate targets and recommend the cheapest non-inferior one.

    Each test is a pair across targets; a candidate is non-inferior when the one-sided
    95% lower bound of its pass-rate difference to the primary is above -MARGIN. The
    monthly saving scales the prompt's last 30 days of runtime spend in the ledger.
    """
    from promptctl.cli.test import load_or_exit
    from promptctl.evals.options import check_targets
    from promptctl.evals.runner import DEFAULT_CONCURRENCY, EvalOptions, evaluate
    from promptctl.evals.target_compare import compare_targets, isolated
    from promptctl.providers.recordings import MODES

    check_choice(fmt, ("text", "json", "markdown"))
    if margin != margin:  # NaN passes typer's 0..1 range: every bound would be "inconclusive"
        raise UsageError("--margin must be a number from 0 to 1, got nan", hint="e.g. 0.02")
    proj = resolve_project(project)
    loaded = load_or_exit(proj, [])
    prompt = loaded.get(prompt_id)
    primary = prompt.model.use
    targets = _candidates(candidates, proj, primary)
    check_targets(proj, targets)
    if not prompt.tests:
        raise UsageError(f"{prompt.id} has no tests to compare on", hint="add `tests:`")
    options = EvalOptions(
        targets=(primary, *targets),
        repeat=repeat,
        id_globs=(prompt.id,),
        mode=cast("Mode", check_choice(mode, MODES, "--mode")),
        use_cache=not no_cache,
        concurrency=concurrency if concurrency is not None else DEFAULT_CONCURRENCY,
        concurrency_given=concurrency is not None,
        write_run_file=False,
    )
    run = evaluate(proj, [isolated(prompt)], options, partials=loaded.partials)
    if run.interrupted:
        raise typer.Exit(run.exit_code)
    result = compare_targets(
        run.document["cases"], prompt.id, primary, targets, margin=margin, alpha=proj.gate.alpha
    )
    result = _with_saving(result, proj)
    _print(result, fmt)
    if result.stats(primary).pass_rate is None:
        typer.echo(f"error: {primary} answered no case; see `promptctl calls`", err=True)
        raise typer.Exit(EXIT_INFRA)
    if write:
        if result.recommended is None:
            typer.echo("--write: nothing to write, no candidate is recommended", err=True)
            raise typer.Exit(EXIT_FAILED)
        _write(proj, prompt, result.recommended, to_stderr=fmt != "text")


def _candidates(raw: str | None, project: Project, primary: str) -> tuple[str, ...]:
    """--candidates, else `candidates:`, else the lifecycle replacement of a primary that
    is retiring or deprecated (a migration is a comparison with the replacement)."""
    names = [c.strip() for c in raw.split(",")] if raw else list(project.candidates)
    if not names:
        from promptctl.providers.lifecycle import status, today

        state, row = status(primary, project, today())
        if row is not None and row.replacement and state in ("retiring", "deprecated"):
            typer.echo(f"{primary} is {state}: comparing with its replacement", err=True)
            names = [row.replacement]
    out = tuple(dict.fromkeys(c for c in names if c and c != primary))
    if not out and primary in names:  # only the prompt's own target was named
        raise UsageError(
            f"no candidate targets: {primary} is the prompt's own target (the primary)",
            hint="name other targets to compare it with: --candidates provider/model,...",
        )
    if not out:
        raise UsageError(
            "no candidate targets",
            hint="pass --candidates openai/gpt-4o-mini,... or set `candidates:` in promptctl.yaml",
        )
    return out


def _with_saving(result: Comparison, project: Project) -> Comparison:
    from dataclasses import replace

    from promptctl.evals.target_compare import monthly_saving

    if result.recommended is None:
        return result
    primary = result.stats(result.primary).cost_per_case
    chosen = result.stats(result.recommended).cost_per_case
    if primary is None or chosen is None:
        return result
    saving = monthly_saving(project.ledger_file, result.prompt, primary, chosen, datetime.now(UTC))
    return replace(result, saving=saving)


def _print(result: Comparison, fmt: str) -> None:
    from promptctl.report.target_compare import (
        COLUMNS,
        recommendation_lines,
        rows,
        to_json,
        to_markdown,
    )

    if fmt == "json":
        typer.echo(to_json(result))
        return
    if fmt == "markdown":
        typer.echo(to_markdown(result), nl=False)
        return
    from rich.markup import escape
    from rich.table import Table

    out = console()
    table = Table(
        title=f"compare {result.prompt}: primary {result.primary}, margin {result.margin:g}",
        title_justify="left",
    )
    for col in COLUMNS:
        table.add_column(col, justify="right" if col in ("cost/case", "p50", "p95") else "left")
    for row in rows(result):
        table.add_row(*(escape(c) for c in row))
    out.print(table)
    for line in recommendation_lines(result):
        out.print(line, markup=False)


def _write(project: Project, prompt: Prompt, target: str, *, to_stderr: bool) -> None:
    """Edit the prompt file in place: new `use`, old one as first fallback, version bumped."""
    from promptctl.lint.versions import required_bump
    from promptctl.promptfile.edit import set_scalar, switch_model
    from promptctl.promptfile.loader import load_prompts
    from promptctl.promptfile.semver import bumped, parse_semver

    path = prompt.path
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(switch_model(original, path, target), encoding="utf-8")
        switched = load_prompts(project, [path])
        new = switched.get(prompt.id)
        level, _ = required_bump(prompt, new)
        old_version = parse_semver(prompt.version)
        if old_version is None:
            raise UsageError(f"{prompt.id}: version {prompt.version!r} is not semver")
        version = str(bumped(old_version, level))
        path.write_text(set_scalar(path.read_text(encoding="utf-8"), path, "/version", version))
        final = load_prompts(project, [path])
        if final.errors:
            raise UsageError(f"--write would leave {path.name} invalid: {final.errors[0]}")
        final.get(prompt.id)
    except BaseException:
        path.write_text(original, encoding="utf-8")
        raise
    typer.echo(
        f"wrote {path}: use {target} (was {prompt.model.use}, kept as the first fallback), "
        f"version {prompt.version} -> {version}",
        err=to_stderr,  # keeps a json/markdown stdout parseable
    )
