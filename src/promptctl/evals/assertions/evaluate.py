"""Scoring one test: run its assertions, await the judge for llm-rubric, combine.

A test passes when every assertion passes; its score is the weighted mean of the
assertion scores (a plain mean if every weight is 0; None when it has no assertions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from promptctl.evals.assertions.base import (
    AssertionContext,
    AssertionResult,
    Check,
    all_options,
    finish,
    invalid_result,
    run_assertion,
)
from promptctl.promptfile.model import AssertionSpec

if TYPE_CHECKING:  # the judge package is imported by the runs that grade a rubric
    from promptctl.evals.judge import Judge

__all__ = ["TestOutcome", "evaluate_test", "grade_rubric"]


@dataclass(frozen=True)
class TestOutcome:
    """`judge_cost_usd` sums the known costs of judge calls (None when there were none)."""

    passed: bool
    score: float | None
    assertions: tuple[AssertionResult, ...]
    judge_cost_usd: float | None = None

    __test__ = False  # not a pytest class


async def grade_rubric(
    spec: AssertionSpec, ctx: AssertionContext, judge: Judge | None
) -> tuple[AssertionResult, float | None]:
    """Run one llm-rubric assertion; returns the result and the judge call's cost."""
    opts = all_options(spec)
    rubric = spec.value if isinstance(spec.value, str) else opts.get("rubric", opts.get("value"))
    if not isinstance(rubric, str) or not rubric.strip():
        return invalid_result(spec, "llm-rubric needs a rubric (value: ...)"), None
    if judge is None:
        return invalid_result(
            spec, "llm-rubric needs a judge model (judge: in promptctl.yaml)"
        ), None
    from promptctl.evals.judge import JudgeError

    model = opts.get("model")
    try:
        verdict = await judge.grade(
            rubric, ctx.output, ctx.vars, model=model if isinstance(model, str) else None
        )
    except JudgeError as exc:
        return invalid_result(spec, str(exc), "judge failed"), exc.cost_usd
    reason = f"judge: {verdict.reason}" if verdict.reason else "judge gave no reason"
    check = Check(verdict.passed, reason, verdict.score)
    return finish(spec, check), verdict.cost_usd


def weighted_score(results: Sequence[AssertionResult]) -> float | None:
    if not results:
        return None
    total = sum(r.weight for r in results)
    if total <= 0:
        return sum(r.score for r in results) / len(results)
    return sum(r.weight * r.score for r in results) / total


async def evaluate_test(
    asserts: Sequence[AssertionSpec], ctx: AssertionContext, *, judge: Judge | None = None
) -> TestOutcome:
    """Score `ctx.output` against `asserts` in order.

    Never raises for a bad assertion or a user check error (those are failed results);
    a ProviderError from the judge's call propagates so the runner records an `error`.
    """
    results: list[AssertionResult] = []
    costs: list[float] = []
    judged = False
    for spec in asserts:
        if spec.type == "llm-rubric":
            result, cost = await grade_rubric(spec, ctx, judge)
            judged = judged or judge is not None
            if cost is not None:
                costs.append(cost)
        else:
            result = run_assertion(spec, ctx)
        results.append(result)
    return TestOutcome(
        passed=all(r.passed for r in results),
        score=weighted_score(results),
        assertions=tuple(results),
        judge_cost_usd=sum(costs) if judged and costs else None,
    )
