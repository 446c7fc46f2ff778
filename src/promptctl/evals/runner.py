"""The evaluation runner: the library behind `promptctl test` (and `diff --base`, `ci`).

`run_eval(project, prompts, options)` expands the cases, runs them concurrently through
one `Gateway` (cache/replay -> limits -> retry -> fallback -> ledger), scores them and
writes the results document. `evaluate(...)` is the blocking wrapper the CLI calls.

Scheduling: a fixed pool of workers pulls cases from one iterator (made as they are
taken: a 100,000-row dataset is never a list of cases). At most `concurrency` calls are
in flight, all providers together, and twice as many workers run cases (`PIPELINE`):
while a call is out, the next case is rendered and waits for its slot, and when the
answer is read it is sent at once, before that answer is recorded in the ledger and
scored (`limits.CappedLimiter`: ~1 ms of CPU left each round's critical path, 0.3 s of
1,000 cases at concurrency 4). The answer that freed the slot then waits up to
`COMMIT_WINDOW_S` for others to share its ledger commit (`answer_records`), which costs
no call time now, and saves ~0.1 ms of CPU a case at concurrency 50. With `--max-cost`
there are `concurrency` workers, no waiting cases (a waiting case would hold budget) and
no window. Results are
written to the results file as they finish, in case order (`result_log`: a result waits
only for the cases before it, and workers stay within `lookahead` cases of the first one
not written), so a run holds counters, not results (`EvalRun.document` reads the file).
Worker i (of the first `concurrency`) starts `i * WORKER_STAGGER_S` late, the others
after them: workers started together stay in lock-step
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
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from promptctl.errors import EXIT_INTERRUPTED, UsageError
from promptctl.evals.case_facts import CaseFacts
from promptctl.evals.case_run import CaseRunner
from promptctl.evals.git_head import head_commit
from promptctl.evals.options import (
    DEFAULT_CONCURRENCY,
    EvalOptions,
    check_targets,
    provider_limits,
    select_cases,
    stream_cases,
)
from promptctl.evals.prepare import RequestBuilder
from promptctl.evals.result_log import ResultLog
from promptctl.evals.results import SCHEMA_ID, CaseResult, RunInfo, load_case_results
from promptctl.evals.results_stream import FLUSH_SECONDS, ResultsStream, copy_results
from promptctl.evals.run_output import check_outputs, write_junit
from promptctl.evals.scoring import exit_code
from promptctl.promptfile.model import Project, Prompt

if TYPE_CHECKING:
    from promptctl.evals.judge import Judge, JudgeVerdict, PromptJudge
    from promptctl.ledger import Ledger
    from promptctl.ledger.postgres import PgLedger
    from promptctl.providers.gateway import Gateway
    from promptctl.providers.types import ChatResponse

log = logging.getLogger(__name__)

WORKER_STAGGER_S = 0.001
"""Start delay between consecutive workers (0.05 s for the last of 50)."""
PIPELINE = 2  # workers per call slot (see the module docstring)
COMMIT_WINDOW_S = 0.005  # answers of this long share a ledger commit (answer_records)
LOOKAHEAD_PER_WORKER = 8
LOOKAHEAD_MIN = 256
"""How far past the first unwritten case workers may start cases (results held meanwhile)."""

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
    """A finished (or interrupted) run: what the summary needs, and the document on disk.

    The cases are not held: `document` and `results` read the written document back the
    first time they are asked for (the gate and `--html` want every case; the terminal
    summary needs only `head` and `facts`).
    """

    head: dict[str, Any] = field(repr=False)  # the document without its cases
    facts: CaseFacts = field(repr=False)  # what the terminal summary reads from the cases
    exit_code: int = 0
    interrupted: bool = False
    skipped_budget: int = 0
    spent_usd: float = 0.0
    run_file: Path | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    cases: int = 0
    cached: int = 0  # cases answered from the cache or a recording
    error_kinds: frozenset[str] = frozenset()
    _load: Callable[[], dict[str, Any]] | None = field(default=None, repr=False)
    _document: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def run_id(self) -> str:
        return str(self.head["run"]["id"])

    @property
    def document(self) -> dict[str, Any]:
        """The whole results document, as written (read back once, then kept)."""
        if self._document is None:
            assert self._load is not None
            self._document = self._load()
        return self._document

    @property
    def results(self) -> list[CaseResult]:
        """The cases of `document` as records."""
        return load_case_results(self.document)


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
    """One run: a pool of workers feeding cases to a `CaseRunner`, streaming the document.

    Cases are made as workers take them (`CaseStream`); results go to the results file
    through the `ResultLog`, in case order, as they finish.
    """

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
        self.cases = stream_cases(project, prompts, options)
        self._gateway_project, notes = provider_limits(project, options, self.cases)
        for note in notes:
            log.warning("%s", note)
        self.builder = RequestBuilder(project, partials or {})
        # cases wait for a call slot only under the run's own gateway's cap, and never
        # with --max-cost (a waiting case would hold budget)
        self.pipelined = gateway is None and options.max_cost is None
        self.progress = progress
        self.env = env
        self.budget = Budget(options.max_cost)
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
            mode=options.mode, git_commit=head_commit(project.root), shard=options.shard
        )
        per_slot = PIPELINE if self.pipelined else 1
        self.workers = min(per_slot * options.concurrency, max(1, self.cases.total))
        self._queue = enumerate(self.cases)
        stream = ResultsStream(
            _primary_file(options, project.state_dir / "runs", self.run_info.id),
            SCHEMA_ID,
            self.gateway.redactor.data(self.run_info.to_dict()),
        )
        lookahead = max(LOOKAHEAD_MIN, LOOKAHEAD_PER_WORKER * self.workers)
        self.log = ResultLog(stream, self.gateway.redactor, lookahead=lookahead)

    async def run(self) -> EvalRun:
        judge = _JudgeOnDemand(self.case_runner)
        if self.progress is not None:
            self.progress.start(self.cases.total)
        interrupted = False
        # finished cases reach the file within about FLUSH_SECONDS even while every
        # worker waits (a kill then loses little); a failed write surfaces at `finish`
        ticker = asyncio.create_task(self._flush_every(FLUSH_SECONDS))
        ticker.add_done_callback(lambda t: t.cancelled() or t.exception())
        try:
            async with asyncio.TaskGroup() as group:
                last = self.options.concurrency - 1  # the waiting workers start after
                for i in range(self.workers):
                    group.create_task(self._worker(judge, min(i, last) * WORKER_STAGGER_S))
        except BaseException:  # Ctrl-C, cancellation, or a crash outside any one case
            interrupted = True
            ticker.cancel()
            self.outcome = self._finish(interrupted=True)
            raise
        finally:
            ticker.cancel()
            closed = await self._close(interrupted)
            if interrupted:
                closed()
        try:
            self.outcome = self._finish(interrupted=False)
        finally:
            closed()  # the ledger closed meanwhile (its last checkpoint: ~40 ms at 10k)
        return self.outcome

    async def _flush_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.log.stream.flush()

    # ---- the worker pool ---------------------------------------------------------

    async def _worker(self, judge: Judge, delay_s: float) -> None:
        if delay_s > 0 and not self._drained.is_set():
            try:
                async with asyncio.timeout(delay_s):
                    await self._drained.wait()
            except TimeoutError:
                pass
        for index, case in self._queue:
            await self.log.begin(index, case)
            result = await self.case_runner.run(case, judge)
            if self.progress is not None:
                self.progress.advance(result, self.budget.spent)
            await self.log.end(index, result)
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
            ledger = Ledger(
                self.project.ledger_path or self.project.state_dir / "ledger.sqlite",
                commit_full_batches=True,  # a cached run's hits: no writer-thread turns
            )
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
            call_cap=self.options.concurrency if self.pipelined else None,
            # a freed slot went to a waiting case: an answer may wait for others to
            # share its commit (without waiting cases, it would hold its worker)
            commit_window_s=COMMIT_WINDOW_S if self.pipelined else 0.0,
        )

    async def _close(self, interrupted: bool) -> Callable[[], None]:
        """Close the gateway, and start closing the ledger on a thread (its final commit
        and checkpoint overlap writing the results); returns the wait for it, which
        raises what the close raised."""
        if self._own_gateway:
            try:
                await asyncio.shield(self.gateway.aclose())
            except asyncio.CancelledError:
                if not interrupted:
                    raise
        ledger = self._ledger
        if ledger is None:
            return lambda: None
        failed: list[BaseException] = []

        def close() -> None:
            try:
                ledger.close()
            except BaseException as exc:  # re-raised by the caller's wait
                failed.append(exc)

        thread = threading.Thread(target=close, name="promptctl-ledger-close")
        thread.start()

        def wait() -> None:
            thread.join()
            if failed:
                raise failed.pop()

        return wait

    def _finish(self, *, interrupted: bool) -> EvalRun:
        self.builder.clear()  # the rendered requests are not needed any more (memory)
        results = self.log
        results.close(self._queue)  # after an interruption: the rest, as `skipped`
        self.run_info.skipped_budget = self.budget.skipped
        self.run_info.circuit_breaker = [e.to_dict() for e in self.gateway.breaker_history()]
        if self.budget.max_cost_usd is not None:
            self.run_info.max_cost_usd = self.budget.max_cost_usd
            self.run_info.spent_usd = round(self.budget.spent, 9)
        self.run_info.finish(interrupted=interrupted)
        redact = self.gateway.redactor.data
        run = redact(self.run_info.to_dict())
        summary = [redact(s.to_dict()) for s in results.summary.summaries()]
        stream = results.stream
        stream.finish(run, summary)
        run_file = self._copy_outputs(stream)
        document = None
        if stream.path is None:  # no file to read it back from later (the gate's runs)
            document = stream.load()
            stream.close()
        code = (
            EXIT_INTERRUPTED
            if interrupted
            else exit_code(results.first_of_status.values(), skipped_budget=self.budget.skipped)
        )
        return EvalRun(
            head={"schema": SCHEMA_ID, "run": run, "summary": summary},
            facts=results.facts,
            exit_code=code,
            interrupted=interrupted,
            skipped_budget=self.budget.skipped,
            spent_usd=self.budget.spent,
            run_file=run_file,
            counts={s: results.counts.get(s, 0) for s in ("pass", "fail", "error", "skipped")},
            cases=stream.cases,
            cached=results.cached,
            error_kinds=frozenset(results.error_kinds),
            _load=stream.load,
            _document=document,
        )

    def _copy_outputs(self, stream: ResultsStream) -> Path | None:
        """`--output` and `--junit` from the written document; the run file, if any."""
        options = self.options
        run_file = stream.path if options.write_run_file else None
        if options.output is not None and stream.path != options.output:
            assert stream.path is not None  # written to the run file
            copy_results(stream.path, options.output)
        if options.junit is not None and options.junit_renderer is not None:
            write_junit(options, stream.load())
        return run_file


class _JudgeOnDemand:
    """The run's `PromptJudge`, built at the first `llm-rubric`: most runs grade none, and
    the judge package (its prompt file parsed, its regexes compiled) is not imported."""

    def __init__(self, runner: CaseRunner) -> None:
        self._runner = runner
        self._judge: PromptJudge | None = None

    async def grade(
        self, rubric: str, output: str, vars: Mapping[str, Any], *, model: str | None = None
    ) -> JudgeVerdict:
        if self._judge is None:
            from promptctl.evals.judge import PromptJudge

            self._judge = PromptJudge(self._runner.judge_complete)
        return await self._judge.grade(rubric, output, vars, model=model)


def _primary_file(options: EvalOptions, default_runs: Path, run_id: str) -> Path | None:
    """Where the document is streamed: the run file, else `--output`, else no file."""
    if options.write_run_file:
        return (options.runs_dir or default_runs) / f"{run_id}.json"
    return options.output
