"""From a provider's answer (or failure) to a case's result row; and the run's exit code.

These are the runner's last steps for each case, kept free of I/O so that they can be
tested without a provider: `score_case` after a response, `error_result` after a
ProviderError (retries exhausted), `skipped_result` for a case never run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptctl.errors import EXIT_FAILED, EXIT_INFRA, EXIT_OK, ProviderError
from promptctl.evals.assertions import AssertionContext, evaluate_test
from promptctl.evals.cases import Case
from promptctl.evals.results import CaseError, CaseResult, FallbackTried
from promptctl.promptfile.model import AssertionSpec
from promptctl.providers.types import ChatResponse

if TYPE_CHECKING:
    from promptctl.evals.judge import Judge

__all__ = [
    "assertion_context",
    "case_vars",
    "error_result",
    "exit_code",
    "score_case",
    "skipped_result",
]


def case_vars(case: Case) -> dict[str, Any]:
    """The test's vars over the prompt's input defaults: what the template saw."""
    defaults = {k: s["default"] for k, s in case.prompt.inputs.items() if "default" in s}
    return {**defaults, **case.test.vars}


def assertion_context(
    case: Case, response: ChatResponse, *, project_root: Path, vars: Mapping[str, Any] | None = None
) -> AssertionContext:
    return AssertionContext(
        output=response.text,
        vars=case_vars(case) if vars is None else vars,
        prompt=case.prompt,
        cost_usd=response.cost_usd,
        latency_ms=response.latency_ms,
        ttft_ms=response.ttft_ms,
        cached=response.cached,
        usage_known=response.usage_known,
        project_root=project_root,
        test_name=case.test.name,
        tool_calls=response.tool_calls,
    )


OUTPUT_SCHEMA = AssertionSpec(type="json-schema", options={"implicit": "output.schema"})
TOOL_ARGUMENTS = AssertionSpec(type="tool-call", options={"implicit": "arguments"})


def assertions_of(case: Case, response: ChatResponse | None = None) -> tuple[AssertionSpec, ...]:
    """The test's assertions, plus a check against the prompt's output.schema when it
    declares one (as the runtime's `result.ok` checks every answer), unless the test
    opts out (`check_output_schema: false`) or asserts json-schema itself; and, for a
    prompt with tools, that every tool call's arguments are valid (same opt-out). An
    answer that is only tool calls is not the final answer: its output is not checked."""
    asserts = case.test.asserts
    if not case.test.check_output_schema:
        return asserts
    if case.prompt.tools:
        asserts = (*asserts, TOOL_ARGUMENTS)
    calls_only = response is not None and response.tool_calls and not response.text.strip()
    if case.prompt.output.schema is None or calls_only:
        return asserts
    if any(a.type == "json-schema" and not a.negate for a in asserts):
        return asserts
    return (*asserts, OUTPUT_SCHEMA)


async def score_case(
    case: Case,
    response: ChatResponse,
    *,
    project_root: Path,
    judge: Judge | None = None,
    request_hash: str | None = None,
) -> CaseResult:
    """Run the test's assertions on `response` and build the case's result.

    The judge's cost (llm-rubric) is added to the case's cost; the case cost is unknown
    (None) when the model's own cost is. A ProviderError from the judge propagates: the
    runner turns it into `error_result`.
    """
    outcome = await evaluate_test(
        assertions_of(case, response),
        assertion_context(case, response, project_root=project_root),
        judge=judge,
    )
    cost = response.cost_usd
    if cost is not None and outcome.judge_cost_usd is not None:
        cost += outcome.judge_cost_usd
    return CaseResult.for_case(
        case,
        status="pass" if outcome.passed else "fail",
        answered_by=response.target,
        request_hash=request_hash,
        score=outcome.score,
        output=response.text,
        assertions=outcome.assertions,
        usage=response.usage,
        cost_usd=cost,
        latency_ms=response.latency_ms,
        attempt_latency_ms=response.attempt_latency_ms or None,
        ttft_ms=response.ttft_ms,
        cached=response.cached,
        fallbacks_tried=tuple(FallbackTried.from_skipped(s) for s in response.fallbacks_tried),
        usage_known=response.usage_known,
        tool_calls=response.tool_calls,
    )


def error_result(case: Case, exc: BaseException, *, request_hash: str | None = None) -> CaseResult:
    """A case whose call failed: `kind` is the ProviderError kind, else `internal`.

    ProviderError messages are already scrubbed of secrets by the provider layer; any other
    exception is reported by type and message only.
    """
    if isinstance(exc, ProviderError):
        error = CaseError(exc.kind, exc.message)
    else:
        error = CaseError("internal", f"{type(exc).__name__}: {exc}")
    return CaseResult.for_case(case, status="error", request_hash=request_hash, error=error)


def skipped_result(case: Case) -> CaseResult:
    """A case that was not run (budget reached, or the run was interrupted first)."""
    return CaseResult.for_case(case, status="skipped")


def exit_code(case_results: Iterable[CaseResult], *, skipped_budget: int = 0) -> int:
    """0 all passed; 1 any test failed; 3 no failures but some cases errored; 1 also when
    `--max-cost` left cases unrun (a budget was exceeded) and nothing failed or errored."""
    statuses = {c.status for c in case_results}
    if "fail" in statuses:
        return EXIT_FAILED
    if "error" in statuses:
        return EXIT_INFRA
    if skipped_budget:
        return EXIT_FAILED
    return EXIT_OK
