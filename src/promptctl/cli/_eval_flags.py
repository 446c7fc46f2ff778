"""The selection and evaluation flags `test`, `diff` and `ci` share, declared once.

`EvalFlags` is the one declaration (names, help texts, defaults); a command takes
`flags: EvalFlags` under `@eval_flags` and calls `flags.selection(...)`, which checks
them (`eval_selection`) and builds the runner's `EvalOptions`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from promptctl.cli._flag_sets import flag_set
from promptctl.errors import UsageError

if TYPE_CHECKING:
    from promptctl.evals.runner import EvalOptions
    from promptctl.providers.recordings import Mode

__all__ = [
    "MODES",
    "ConcurrencyOption",
    "EvalFlags",
    "EvalSelection",
    "MaxCostOption",
    "ModeOption",
    "NoCacheOption",
    "RepeatOption",
    "SelectorsArgument",
    "StreamOption",
    "TagOption",
    "TargetOption",
    "TestGlobOption",
    "eval_flags",
    "eval_selection",
]

MODES = ("auto", "record", "replay", "live")

SelectorsArgument = Annotated[
    list[str] | None,
    typer.Argument(metavar="[IDS or PATHS]...", help="Prompt id globs or prompt files/dirs."),
]
TargetOption = Annotated[
    list[str] | None, typer.Option("--target", "-t", help="Run on provider/model (repeatable).")
]
RepeatOption = Annotated[int | None, typer.Option(help="Run every test N times.")]
TagOption = Annotated[list[str] | None, typer.Option("--tag", help="Only prompts with a tag.")]
TestGlobOption = Annotated[
    str | None, typer.Option("--test", help="Only tests whose name matches this glob.")
]
ModeOption = Annotated[str, typer.Option(help="auto | record | replay | live.")]
NoCacheOption = Annotated[
    bool, typer.Option("--no-cache", help="Do not read or write the response cache.")
]
MaxCostOption = Annotated[
    float | None, typer.Option("--max-cost", help="Stop before spending more USD.")
]
ConcurrencyOption = Annotated[
    int | None,
    typer.Option(
        help="Max calls in flight, all providers together (default 64). When given, also "
        "the limit of calls at once per provider (default 16), unless promptctl.yaml sets "
        "its max_concurrency."
    ),
]
StreamOption = Annotated[
    bool,
    typer.Option(
        "--stream",
        help="Stream every call, as rt.stream() does; each case records its time to "
        "first token (ttft_ms, checked by the ttft assertion).",
    ),
]


@dataclass(frozen=True)
class EvalFlags:
    """The shared selection and evaluation flags, as typer parameters."""

    selectors: SelectorsArgument = None
    target: TargetOption = None
    repeat: RepeatOption = None
    tag: TagOption = None
    test_glob: TestGlobOption = None
    mode: ModeOption = "auto"
    no_cache: NoCacheOption = False
    max_cost: MaxCostOption = None
    concurrency: ConcurrencyOption = None
    stream: StreamOption = False

    def selection(
        self, *, shard: str | None = None, output: Path | None = None, junit: Path | None = None
    ) -> EvalSelection:
        """Check the flags (UsageError, exit 2) and build the selection and options."""
        return eval_selection(
            self.selectors,
            target=self.target,
            repeat=self.repeat,
            tag=self.tag,
            test_glob=self.test_glob,
            mode=self.mode,
            no_cache=self.no_cache,
            max_cost=self.max_cost,
            concurrency=self.concurrency,
            stream=self.stream,
            shard=shard,
            output=output,
            junit=junit,
        )


eval_flags = flag_set(EvalFlags, "flags")


@dataclass(frozen=True)
class EvalSelection:
    """The parsed flags: prompt files to load, and the runner options (ids as globs)."""

    paths: tuple[Path, ...]
    options: EvalOptions


def eval_selection(
    selectors: list[str] | None,
    *,
    target: list[str] | None,
    repeat: int | None,
    tag: list[str] | None,
    test_glob: str | None,
    mode: str,
    no_cache: bool,
    max_cost: float | None,
    concurrency: int | None,
    stream: bool = False,
    shard: str | None = None,
    output: Path | None = None,
    junit: Path | None = None,
) -> EvalSelection:
    """Check the shared flags (UsageError, exit 2) and build `EvalOptions`."""
    from promptctl.evals.runner import DEFAULT_CONCURRENCY, EvalOptions

    if mode not in MODES:
        raise UsageError(f"unknown --mode {mode!r}", hint=" | ".join(MODES))
    if max_cost is not None and not 0 <= max_cost < float("inf"):  # NaN fails it too
        raise UsageError(
            f"--max-cost must be a number of USD >= 0, got {max_cost}",
            hint="e.g. --max-cost 0.50; leave it out for no limit",
        )
    paths, globs = _split_selectors(selectors or [])
    options = EvalOptions(
        targets=tuple(target or ()),
        repeat=repeat,
        id_globs=tuple(globs),
        tags=tuple(tag or ()),
        test_glob=test_glob,
        shard=shard,
        mode=cast("Mode", mode),  # checked against MODES above
        use_cache=not no_cache,
        max_cost=max_cost,
        concurrency=concurrency if concurrency is not None else DEFAULT_CONCURRENCY,
        concurrency_given=concurrency is not None,
        output=output,
        junit=junit,
        junit_renderer=_junit_renderer() if junit is not None else None,
        stream=stream,
    )
    return EvalSelection(tuple(paths), options)


def _junit_renderer() -> Callable[[Mapping[str, Any]], str]:
    from promptctl.report.junit import to_junit_xml

    return to_junit_xml


def _split_selectors(selectors: list[str]) -> tuple[list[Path], list[str]]:
    """Existing files or directories are paths to load; anything else is an id glob."""
    paths: list[Path] = []
    globs: list[str] = []
    for raw in selectors:
        path = Path(raw)
        if path.exists():
            paths.append(path)
        else:
            globs.append(raw)
    return paths, globs
