"""The evaluation runner: the library behind `promptctl test` (and `diff --base`, `ci`).

`run_eval(project, prompts, options)` expands the cases, runs them concurrently through
one `Gateway` (cache/replay -> limits -> retry -> fallback -> ledger), scores them and
writes the results document. `evaluate(...)` is the blocking wrapper the CLI calls.

Scheduling: a fixed pool of `concurrency` workers pulls cases from one iterator, so at
most that many cases are in flight, a slow provider only holds the workers it is using,
and results land in their case's slot (the document keeps case order, not finish order).
Worker i starts `i * WORKER_STAGGER_S` late: workers started together stay in lock-step
(all answers arrive at once, and each waits for the CPU work of all the others before it
sends its next request), while staggered ones keep their answers spread out, so that
work overlaps the other requests' network wait (1,000 cases at 50 ms: ~0.1 s faster).
The per-provider `max_concurrency` / `rpm` limits are enforced below, in the Gateway.

What can go wrong, and what the run records:
- a ProviderError after retries (or a judge's): that case is `error` with the kind;
- a render/input problem or any other exception in one case: that case is `error`
  (kind `render` or `internal`); the other cases run on;
- `--max-cost`: a case whose estimate would pass the budget is not started, nor is any
  later one that needs a provider call (`skipped`, counted in `run.skipped_budget`);
  answers from recordings or the cache are free and always run;
- cancellation (Ctrl-C): unfinished cases are `skipped`, the document is written with
  `run.interrupted: true`, and the exit code is 130. Finished answers are in the cache,
  so a re-run pays only for what had not finished.

This module is the run's lifecycle (worker pool, set-up, tear-down, the outcome); what
to run is `options`, one case is `case_run`, and where the document goes is `run_output`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from promptctl.errors import EXIT_INTERRUPTED, UsageError
from promptctl.evals.case_run import CaseRunner
from promptctl.evals.judge import PromptJudge
from promptctl.evals.options import (
    DEFAULT_CONCURRENCY,
    EvalOptions,
    check_targets,
    provider_limits,
    select_cases,
)
from promptctl.evals.prepare import RequestBuilder
from promptctl.evals.results import CaseResult, RunInfo, to_document
from promptctl.evals.run_output import check_outputs, write_outputs
from promptctl.evals.scoring import exit_code, skipped_result
from promptctl.promptfile.model import Project, Prompt

if TYPE_CHECKING:
    from promptctl.ledger import Ledger
    from promptctl.ledger.postgres import PgLedger
    from promptctl.providers.gateway import Gateway
    from promptctl.providers.types import ChatResponse

log = logging.getLogger(__name__)

WORKER_STAGGER_S = 0.001
"""Start delay between consecutive workers (0.05 s for the last of 50)."""

__all__ = [
    "DEFAULT_CONCURRENCY",
    "EvalOptions",
    "EvalRun",
    "ProgressSink",
    "evaluate",
    "run_eval",
    "select_cases",
]


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
    answered: Mapping[str, ChatResponse] | None = None,
) -> EvalRun:
    """Blocking `run_eval`; Ctrl-C returns the interrupted run (exit code 130).

    `answered`: answers already paid for (`promptctl test --batch`) by cache key; the
    gateway hands each out once, as that call's answer (`Gateway(answered=...)`).
    """
    session = _Session(project, prompts, options, partials, None, progress, env, answered=answered)

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
    """One run: a pool of workers feeding cases to a `CaseRunner`, then the document."""

    def __init__(
        self,
        project: Project,
        prompts: Sequence[Prompt],
        options: EvalOptions,
        partials: Mapping[str, str] | None,
        gateway: Gateway | None,
        progress: ProgressSink | None,
        env: Mapping[str, str] | None,
        *,
        answered: Mapping[str, ChatResponse] | None = None,
    ) -> None:
        from promptctl.evals.budget import Budget

        if options.concurrency < 1:
            raise UsageError(f"--concurrency must be at least 1, got {options.concurrency}")
        check_outputs(options)
        check_targets(project, options.targets)
        self.project = project
        self.options = options
        self.cases = select_cases(project, prompts, options)
        self._gateway_project, notes = provider_limits(project, options, self.cases)
        for note in notes:
            log.warning("%s", note)
        self.builder = RequestBuilder(project, partials or {})
        self.progress = progress
        self.env = env
        self.budget = Budget(options.max_cost)
        self.results: list[CaseResult | None] = [None] * len(self.cases)
        self._own_gateway = gateway is None
        self._ledger: Ledger | PgLedger | None = None
        self._answered = answered
        self.gateway: Gateway = gateway if gateway is not None else self._make_gateway()
        self.case_runner = CaseRunner(
            project, self.builder, self.budget, self.gateway, stream=options.stream
        )
        self.outcome: EvalRun | None = None
        self._drained = asyncio.Event()  # every case taken: a worker still waiting to start quits
        self.run_info = RunInfo.start(
            mode=options.mode, git_commit=_git_commit(project.root), shard=options.shard
        )

    async def run(self) -> EvalRun:
        judge = PromptJudge(self.case_runner.judge_complete)
        if self.progress is not None:
            self.progress.start(len(self.cases))
        queue: Iterator[int] = iter(range(len(self.cases)))
        workers = min(self.options.concurrency, max(1, len(self.cases)))
        interrupted = False
        try:
            async with asyncio.TaskGroup() as group:
                for i in range(workers):
                    group.create_task(self._worker(queue, judge, i * WORKER_STAGGER_S))
        except BaseException:  # Ctrl-C, cancellation, or a crash outside any one case
            interrupted = True
            self.outcome = self._finish(interrupted=True)
            raise
        finally:
            await self._close(interrupted)
        self.outcome = self._finish(interrupted=False)
        return self.outcome

    # ---- the worker pool ---------------------------------------------------------

    async def _worker(self, queue: Iterator[int], judge: PromptJudge, delay_s: float) -> None:
        if delay_s > 0 and not self._drained.is_set():
            try:
                async with asyncio.timeout(delay_s):
                    await self._drained.wait()
            except TimeoutError:
                pass
        for index in queue:
            case = self.cases[index]
            result = await self.case_runner.run(case, judge)
            self.results[index] = result
            if self.progress is not None:
                self.progress.advance(result, self.budget.spent)
        self._drained.set()

    # ---- set-up and tear-down -----------------------------------------------------

    def _make_gateway(self) -> Gateway:
        from promptctl.ledger import Ledger
        from promptctl.providers.gateway import Gateway

        ledger: Ledger | PgLedger
        if self.project.ledger_url:
            from promptctl.ledger.postgres import PgLedger
            from promptctl.ledger.spool import SPOOL_ENV

            spool = os.environ.get(SPOOL_ENV) or self.project.state_dir / "ledger-spool"
            ledger = PgLedger(self.project.ledger_url, spool_dir=spool)
        else:
            ledger = Ledger(self.project.ledger_path or self.project.state_dir / "ledger.sqlite")
        self._ledger = ledger
        shared = None
        env = os.environ if self.env is None else self.env
        if self.project.shared_state or env.get("PROMPTCTL_SHARED_STATE"):
            from promptctl.providers.shared_state import shared_state_from

            shared = shared_state_from(self.project.shared_state, env)
        return Gateway(
            self._gateway_project,
            mode=self.options.mode,
            use_cache=self.options.use_cache,
            env=self.env,
            on_call=ledger.record,
            shared_state=shared,
            # a burst of errors must not fail the healthy cases after it: the next case
            # is the circuit's trial call and cases meanwhile wait for its outcome
            breaker_cooldown_s=0.0,
            probe_wait=True,
            on_call_blocks=True,  # the ledger commits each paid call: off the loop
            answered=self._answered,
            cache_write_batch=64,  # one transaction per 64 answers; the rest at close
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
        self.run_info.circuit_breaker = [e.to_dict() for e in self.gateway.breaker_history()]
        if self.budget.max_cost_usd is not None:
            self.run_info.max_cost_usd = self.budget.max_cost_usd
            self.run_info.spent_usd = round(self.budget.spent, 9)
        self.run_info.finish(interrupted=interrupted)
        doc = to_document(self.run_info, results)
        clean = self.gateway.redactor.data(doc)  # a key in an input, output or check message
        if clean is not doc:  # rare: the terminal report is made from `results`, so them too
            doc = clean
            results = [CaseResult.from_dict(c) for c in doc["cases"]]
        default_runs = self.project.state_dir / "runs"
        run_file = write_outputs(self.options, default_runs, self.run_info.id, doc)
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
