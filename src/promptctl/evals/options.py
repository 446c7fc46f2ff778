"""What an evaluation runs: `EvalOptions` (the `promptctl test` flags) and the cases they select.

Split from the runner so that choosing and validating the work is separate from doing it;
the CLI and the gate read these without pulling in the worker pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from promptctl.errors import UsageError
from promptctl.evals.cases import Case, CaseExpansion, in_shard_of, parse_shard
from promptctl.promptfile.model import Project, Prompt
from promptctl.providers.recordings import Mode

__all__ = [
    "DEFAULT_CONCURRENCY",
    "CaseStream",
    "EvalOptions",
    "check_targets",
    "provider_limits",
    "select_cases",
    "stream_cases",
]

DEFAULT_CONCURRENCY = 64


@dataclass(frozen=True)
class EvalOptions:
    """What to run and how; every field maps to a `promptctl test` flag.

    `targets` empty means `targets:` of promptctl.yaml, else each prompt's `model.use`.
    `concurrency` caps calls in flight overall (the providers' limits still apply; with
    `concurrency_given`, a provider's default limit is raised to it: `provider_limits`).
    `runs_dir` None means `.promptctl/runs/`; `write_run_file` False writes no file there.
    """

    targets: tuple[str, ...] = ()
    repeat: int | None = None
    id_globs: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    test_glob: str | None = None
    shard: str | None = None  # "I/N"
    mode: Mode = "auto"
    use_cache: bool = True
    max_cost: float | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    output: Path | None = None
    junit: Path | None = None
    # renders the results document as JUnit XML for `junit`: the caller composes it
    # (the CLI passes `promptctl.report.junit.to_junit_xml`); evals imports no renderer
    junit_renderer: Callable[[Mapping[str, Any]], str] | None = None
    runs_dir: Path | None = None
    write_run_file: bool = True
    # `--concurrency` was given: it is then the one knob (see `provider_limits`)
    concurrency_given: bool = False
    # stream every case (as `stream: true` in a prompt's params does for its own cases):
    # the results then carry time to first token (`ttft_ms`)
    stream: bool = False


def select_cases(project: Project, prompts: Sequence[Prompt], options: EvalOptions) -> list[Case]:
    """The cases `options` selects, in document order (sharded if asked)."""
    return list(stream_cases(project, prompts, options))


@dataclass(frozen=True)
class CaseStream:
    """The selected cases without holding them: iterating makes them anew, in document
    order (sharded if asked). `total` and `providers` come from one counting pass."""

    expansion: CaseExpansion
    shard: tuple[int, int] | None
    total: int
    providers: frozenset[str]  # the providers the cases' targets use

    def __iter__(self) -> Iterator[Case]:
        if self.shard is None:
            return iter(self.expansion)
        index, total = self.shard
        return (c for c in self.expansion if in_shard_of(c, index, total))

    def __len__(self) -> int:
        return self.total


def stream_cases(project: Project, prompts: Sequence[Prompt], options: EvalOptions) -> CaseStream:
    """`select_cases`, streamed: the limits are checked and the cases counted now."""
    expansion = CaseExpansion(
        tuple(prompts),
        tuple(options.targets or project.targets),
        options.repeat,
        options.id_globs,
        options.tags,
        options.test_glob,
    )
    where = parse_shard(options.shard) if options.shard else None
    total, providers = expansion.tally(project.limits, where)
    return CaseStream(expansion, where, total, providers)


def provider_limits(
    project: Project, options: EvalOptions, cases: Iterable[Case] | CaseStream
) -> tuple[Project, list[str]]:
    """The project the run's Gateway uses, and notes for the user.

    `--concurrency N` is the one knob: a provider whose `max_concurrency` is the default
    gets N, so the default never cuts it silently. A limit set in promptctl.yaml is the
    provider's own (a rate agreement, a small local server) and stays; when it is lower
    than N for a provider the cases use, a note says so and names the key.
    """
    if not options.concurrency_given:
        return project, []
    wanted = options.concurrency
    providers = {
        name: s
        if name in project.concurrency_set or s.max_concurrency >= wanted
        else replace(s, max_concurrency=wanted)
        for name, s in project.providers.items()
    }
    if isinstance(cases, CaseStream):
        used = sorted(cases.providers)
    else:
        used = sorted({c.target.use.split("/", 1)[0] for c in cases})
    notes = [
        f"note: --concurrency {wanted}, but at most {providers[name].max_concurrency} calls "
        f"at once go to {name} (providers.{name}.max_concurrency in promptctl.yaml)"
        for name in used
        if name in providers and providers[name].max_concurrency < wanted
    ]
    return replace(project, providers=providers), notes


def check_targets(project: Project, targets: Sequence[str]) -> None:
    """A `--target` must be provider/model with a configured provider (exit 2, not N errors)."""
    for target in targets:
        provider, sep, model = target.partition("/")
        if not sep or not provider or not model:
            raise UsageError(
                f"--target {target!r} is not provider/model", hint="e.g. openai/gpt-4o"
            )
        if provider not in project.providers:
            known = ", ".join(sorted(project.providers))
            raise UsageError(
                f"--target {target!r}: unknown provider {provider!r}", hint=f"known: {known}"
            )
