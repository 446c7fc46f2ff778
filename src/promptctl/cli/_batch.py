"""`promptctl test --batch`: fill the response cache through the batch APIs, then test."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from promptctl.errors import UsageError

if TYPE_CHECKING:
    from promptctl.evals.options import EvalOptions
    from promptctl.promptfile.model import Project, Prompt
    from promptctl.providers.types import ChatResponse

__all__ = ["prefill"]


def prefill(
    project: Project,
    prompts: Sequence[Prompt],
    partials: Mapping[str, str],
    options: EvalOptions,
    *,
    first_wait_s: float,
) -> dict[str, ChatResponse]:
    """Submit (or resume) the batches; print progress and a summary line to stderr.

    Returns the answers by cache key, for `evaluate(answered=...)`.
    """
    import os

    from promptctl.evals.batch import run_batches
    from promptctl.evals.options import select_cases
    from promptctl.providers import _http
    from promptctl.report.money import format_usd

    if options.mode != "auto" or not options.use_cache:
        raise UsageError(
            "--batch needs --mode auto and the response cache",
            hint="drop --no-cache / --mode; batch answers reach the run through the cache",
        )
    cases = select_cases(project, prompts, options)

    def say(text: str) -> None:
        sys.stderr.write(f"batch: {text}\n")
        sys.stderr.flush()

    http = _http.new_sync_client(4)
    try:
        report = run_batches(
            project,
            cases,
            partials,
            env=os.environ,
            http=http,
            progress=say,
            first_wait_s=first_wait_s,
            max_cost=options.max_cost,
        )
    except KeyboardInterrupt:
        say(
            "interrupted; the submitted batch is kept in .promptctl/batches/: run the same "
            "command again to resume it"
        )
        raise
    finally:
        http.close()
    cost = format_usd(report.cost_usd)
    if report.unknown_cost:
        cost += f", {report.unknown_cost} of unknown cost"
    parts = [f"{report.answered} answered at batch prices ({cost})"]
    if report.failed:
        parts.append(f"{report.failed} left for live calls")
    if report.cached:
        parts.append(f"{report.cached} already cached")
    for provider, n in sorted(report.unsupported.items()):
        parts.append(f"{n} on {provider} run live (no batch support)")
    say(", ".join(parts))
    return report.answers
