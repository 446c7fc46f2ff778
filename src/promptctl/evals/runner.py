"""The evaluation runner: the library behind `promptctl test` (and `diff --base`, `ci`).

`run_eval(project, prompts, options)` expands the cases, runs them concurrently through
one `Gateway` (cache/replay -> limits -> retry -> fallback -> ledger), scores them and
writes the results document. `evaluate(...)` is the blocking wrapper the CLI calls.

Scheduling: a fixed pool of `concurrency` workers pulls cases from one iterator, so at
most that many cases are in flight, a slow provider only holds the workers it is using,
and results land in their case's slot (the document keeps case order, not finish order).
The per-provider `max_concurrency` / `rpm` limits are enforced below, in the Gateway.

What can go wrong, and what the run records:
- a ProviderError after retries (or a judge's): that case is `error` with the kind;
- a render/input problem or any other exception in one case: that case is `error`
  (kind `render` or `internal`); the other cases run on;
- `--max-cost`: a case whose estimate would pass the budget is not started, nor is any
  later one (`skipped`, counted in `run.skipped_budget`);
- cancellation (Ctrl-C): unfinished cases are `skipped`, the document is written with
  `run.interrupted: true`, and the exit code is 130. Finished answers are in the cache,
  so a re-run pays only for what had not finished.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from promptctl.errors import EXIT_INTERRUPTED, PromptctlError, ProviderError, UsageError
from promptctl.evals.cases import Case, expand_cases, parse_shard, shard
from promptctl.evals.judge import PromptJudge
from promptctl.evals.prepare import PreparedCase, RequestBuilder, judge_request
from promptctl.evals.results import CaseError, CaseResult, RunInfo, to_document, write_results
from promptctl.evals.scoring import error_result, exit_code, score_case, skipped_result
from promptctl.providers.recordings import Mode
from promptctl.providers.types import (
    CallContext,
    ChatMessage,
    ChatResponse,
    ResponseFormat,
)
from promptctl.spec.model import Project, Prompt

if TYPE_CHECKING:
    from promptctl.ledger import Ledger
    from promptctl.providers.gateway import Gateway

__all__ = [
    "DEFAULT_CONCURRENCY",
    "EvalOptions",
    "EvalRun",
    "ProgressSink",
    "evaluate",
    "run_eval",
    "select_cases",
]

DEFAULT_CONCURRENCY = 64


@dataclass(frozen=True)
class EvalOptions:
    """What to run and how; every field maps to a `promptctl test` flag.

    `targets` empty means `targets:` of promptctl.yaml, else each prompt's `model.use`.
    `concurrency` caps cases in flight overall (the providers' limits still apply).
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
    runs_dir: Path | None = None
    write_run_file: bool = True


class ProgressSink(Protocol):
    """Told about the run as it goes (the CLI's progress bar); calls must be cheap."""

    def start(self, total: int) -> None: ...

    def advance(self, result: CaseResult, spent_usd: float) -> None: ...


@dataclass
class EvalRun:
    """A finished (or interrupted) run: the document as written, and what it means."""

    document: dict[str, Any] = field(repr=False)
    results: list[CaseResult] = field(repr=False)
    exit_code: int = 0
    interrupted: bool = False
    skipped_budget: int = 0
    spent_usd: float = 0.0
    run_file: Path | None = None
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return str(self.document["run"]["id"])


def select_cases(project: Project, prompts: Sequence[Prompt], options: EvalOptions) -> list[Case]:
    """The cases `options` selects, in document order (sharded if asked)."""
    cases = expand_cases(
        prompts,
        targets=options.targets or project.targets,
        repeat=options.repeat,
        id_globs=options.id_globs,
        tags=options.tags,
        test_glob=options.test_glob,
    )
    if options.shard:
        index, total = parse_shard(options.shard)
        cases = shard(cases, index, total)
    return cases


async def run_eval(
    project: Project,
    prompts: Sequence[Prompt],
    options: EvalOptions,
    *,
    partials: Mapping[str, str] | None = None,
    gateway: Gateway | None = None,
    progress: ProgressSink | None = None,
    env: Mapping[str, str] | None = None,
) -> EvalRun:
    """Run the evaluation and write its results; see the module docstring.

    `partials` is `LoadResult.partials` (templates with `{% include %}` need it).
    `gateway` (a `promptctl.providers.gateway.Gateway`) replaces the one built from
    `options` (then its own `on_call` decides what reaches the ledger). On cancellation
    the partial document is written before CancelledError propagates; `evaluate` turns
    that into an EvalRun with exit code 130.
    """
    return await _Session(project, prompts, options, partials, gateway, progress, env).run()


def evaluate(
    project: Project,
    prompts: Sequence[Prompt],
    options: EvalOptions,
    *,
    partials: Mapping[str, str] | None = None,
    progress: ProgressSink | None = None,
    env: Mapping[str, str] | None = None,
) -> EvalRun:
    """Blocking `run_eval`; Ctrl-C returns the interrupted run (exit code 130)."""
    session = _Session(project, prompts, options, partials, None, progress, env)

    async def main() -> None:
        # Returns None: asyncio.run formats its task's repr (result included) on exit.
        await session.run()

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        if session.outcome is None:
            raise
    assert session.outcome is not None
    return session.outcome


class _Session:
    def __init__(
        self,
        project: Project,
        prompts: Sequence[Prompt],
        options: EvalOptions,
        partials: Mapping[str, str] | None,
        gateway: Gateway | None,
        progress: ProgressSink | None,
        env: Mapping[str, str] | None,
    ) -> None:
        from promptctl.evals.budget import Budget

        if options.concurrency < 1:
            raise UsageError(f"--concurrency must be at least 1, got {options.concurrency}")
        _check_writable(options.output)
        _check_writable(options.junit)
        _check_targets(project, options.targets)
        self.project = project
        self.options = options
        self.cases = select_cases(project, prompts, options)
        self.builder = RequestBuilder(project, partials or {})
        self.progress = progress
        self.env = env
        self.budget = Budget(options.max_cost)
        self.results: list[CaseResult | None] = [None] * len(self.cases)
        self._own_gateway = gateway is None
        self._ledger: Ledger | None = None
        self.gateway: Gateway = gateway if gateway is not None else self._make_gateway()
        self.outcome: EvalRun | None = None
        self.run_info = RunInfo.start(
            mode=options.mode, git_commit=_git_commit(project.root), shard=options.shard
        )

    async def run(self) -> EvalRun:
        judge = PromptJudge(self._judge_complete)
        if self.progress is not None:
            self.progress.start(len(self.cases))
        queue: Iterator[int] = iter(range(len(self.cases)))
        workers = min(self.options.concurrency, max(1, len(self.cases)))
        interrupted = False
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(workers):
                    group.create_task(self._worker(queue, judge))
        except BaseException:  # Ctrl-C, cancellation, or a crash outside any one case
            interrupted = True
            self.outcome = self._finish(interrupted=True)
            raise
        finally:
            await self._close(interrupted)
        self.outcome = self._finish(interrupted=False)
        return self.outcome

    # ---- per case ---------------------------------------------------------------

    async def _worker(self, queue: Iterator[int], judge: PromptJudge) -> None:
        for index in queue:
            case = self.cases[index]
            result = await self._run_case(case, judge)
            self.results[index] = result
            if self.progress is not None:
                self.progress.advance(result, self.budget.spent)

    async def _run_case(self, case: Case, judge: PromptJudge) -> CaseResult:
        try:
            prepared = self.builder.prepare(case)
        except PromptctlError as exc:
            return _case_error(case, "render", exc)
        if not self.budget.try_reserve(prepared.estimate_usd):
            return skipped_result(case)
        request_hash = prepared.request.cache_key(repeat=case.repeat)
        actual: float | None = None
        try:
            response = await self._complete(case, prepared)
            actual = response.cost_usd if not response.cached else 0.0
            result = await score_case(
                case,
                response,
                project_root=self.project.root,
                judge=judge,
                request_hash=request_hash,
            )
            if result.cost_usd is not None and not response.cached:
                actual = result.cost_usd
        except ProviderError as exc:
            return _case_error(case, exc.kind, exc, request_hash)
        except PromptctlError as exc:
            return _case_error(case, "render", exc, request_hash)
        except Exception as exc:  # one broken case must not stop the run
            return error_result(case, exc, request_hash=request_hash)
        finally:
            self.budget.settle(prepared.estimate_usd, actual)
        return result

    async def _complete(self, case: Case, prepared: PreparedCase) -> ChatResponse:
        prompt = case.prompt
        context = CallContext(
            source="eval",
            prompt_id=prompt.id,
            prompt_version=prompt.version,
            prompt_hash=prompt.content_hash,
            test=case.test.name,
            tags=prompt.tags,
        )
        return await self.gateway.complete(
            prepared.request, fallbacks=prepared.fallbacks, repeat=case.repeat, context=context
        )

    async def _judge_complete(
        self, messages: list[ChatMessage], response_format: ResponseFormat, model: str | None
    ) -> ChatResponse:
        request = judge_request(model or self.project.judge, messages, response_format)
        context = CallContext(source="judge", prompt_id="promptctl/judge")
        return await self.gateway.complete(request, context=context)

    # ---- set-up and tear-down -----------------------------------------------------

    def _make_gateway(self) -> Gateway:
        from promptctl.ledger import Ledger
        from promptctl.providers.gateway import Gateway

        path = self.project.ledger_path or self.project.state_dir / "ledger.sqlite"
        self._ledger = Ledger(path)
        return Gateway(
            self.project,
            mode=self.options.mode,
            use_cache=self.options.use_cache,
            env=self.env,
            on_call=self._ledger.record,
        )

    async def _close(self, interrupted: bool) -> None:
        if self._own_gateway:
            try:
                await asyncio.shield(self.gateway.aclose())
            except asyncio.CancelledError:
                if not interrupted:
                    raise
        if self._ledger is not None:
            self._ledger.close()

    def _finish(self, *, interrupted: bool) -> EvalRun:
        self.builder.clear()  # the rendered requests are not needed any more (memory)
        results = [
            r if r is not None else skipped_result(c)
            for r, c in zip(self.results, self.cases, strict=True)
        ]
        self.run_info.skipped_budget = self.budget.skipped
        self.run_info.finish(interrupted=interrupted)
        doc = to_document(self.run_info, results)
        run_file = self._write(doc)
        counts = Counter(r.status for r in results)
        code = (
            EXIT_INTERRUPTED
            if interrupted
            else exit_code(results, skipped_budget=self.budget.skipped)
        )
        return EvalRun(
            document=doc,
            results=results,
            exit_code=code,
            interrupted=interrupted,
            skipped_budget=self.budget.skipped,
            spent_usd=self.budget.spent,
            run_file=run_file,
            counts={s: counts.get(s, 0) for s in ("pass", "fail", "error", "skipped")},
        )

    def _write(self, doc: dict[str, Any]) -> Path | None:
        opts = self.options
        run_file = None
        if opts.write_run_file:
            runs = opts.runs_dir or self.project.state_dir / "runs"
            run_file = runs / f"{self.run_info.id}.json"
            _guarded(run_file, lambda: write_results(run_file, doc))
        if opts.output is not None:
            output = opts.output
            _guarded(output, lambda: write_results(output, doc))
        if opts.junit is not None:
            from promptctl.evals.junit import to_junit_xml

            junit = opts.junit
            _guarded(junit, lambda: junit.write_text(to_junit_xml(doc), encoding="utf-8"))
        return run_file


def _check_targets(project: Project, targets: Sequence[str]) -> None:
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


def _check_writable(path: Path | None) -> None:
    """Refuse an unusable --output/--junit before any money is spent."""
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"{path} is a directory", hint="give a file name, e.g. results.json")
    _guarded(path, lambda: path.parent.mkdir(parents=True, exist_ok=True))


def _guarded(path: Path, step: Callable[[], object]) -> None:
    try:
        step()
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _case_error(
    case: Case, kind: str, exc: PromptctlError, request_hash: str | None = None
) -> CaseResult:
    """An `error` row; the message (with the hint) drops the `kind: ` the report prints."""
    message = str(exc)
    if isinstance(exc, ProviderError):
        message = message.replace(f"{exc.kind}: ", "", 1)
    error = CaseError(kind, message)
    return CaseResult.for_case(case, status="error", request_hash=request_hash, error=error)


def _git_commit(root: Path) -> str | None:
    """HEAD of the repository holding `root`, or None (not a repository, no git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and sha else None
