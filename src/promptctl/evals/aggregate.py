"""Per prompt x target summaries of case results: pass rate, interval, score, cost, latency.

Statistical choices (documented in docs/results-format.md):
- pass rate = passed / (passed + failed); errors and skipped cases are excluded, since they
  say nothing about the prompt. None when no case passed or failed.
- 95% interval: the Wilson score interval (`stats.wilson_interval`, cited there). Given
  only when the group has repeats or more than one case: a single trial's interval is too
  wide to mean anything.
- cost (`cost_figures`, shared with the gate's `side_stats`): what was spent, so answered
  cases plus errored calls billed anyway (the gate's cost per case counts answered cases
  only: an errored or skipped case bought no answer). The sum of known costs;
  `cost_unknown_cases` counts the answered cases whose cost is unknown (no price), and
  `cost_usd` is None only when answered cases exist and none has a known cost. A cached
  answer counts at its recorded cost (what the call costs live), so a warm cache on one
  side is not mistaken for a cheaper prompt.
- latency p50/p95: nearest-rank percentiles (`stats.percentile`) over answered
  (pass/fail), non-cached cases; a cached response was not timed (None when there is no
  such case).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from promptctl.evals.stats import percentile, wilson_interval

if TYPE_CHECKING:
    from promptctl.evals.results import CaseResult

__all__ = ["CostFigures", "Summary", "cost_figures", "live_latencies", "summarize"]


@dataclass(frozen=True)
class CostFigures:
    """Cost over answered cases: `per_case` divides by the priced cases, never the unpriced."""

    total: float  # sum of the known costs (0.0 when none is known)
    priced: int  # answered cases with a known cost
    unknown: int  # answered cases with no price

    @property
    def per_case(self) -> float | None:
        return self.total / self.priced if self.priced else None


def cost_figures(answered_costs: Iterable[float | None]) -> CostFigures:
    """Figures from the `cost_usd` of answered (pass/fail) cases, cached ones included."""
    costs = list(answered_costs)
    known = [float(c) for c in costs if c is not None]
    return CostFigures(total=sum(known), priced=len(known), unknown=len(costs) - len(known))


def live_latencies(answered: Iterable[tuple[float | None, bool]]) -> list[float]:
    """Latencies of uncached answers from (latency_ms, cached): a cache hit was not timed."""
    return [float(ms) for ms, cached in answered if ms is not None and not cached]


@dataclass(frozen=True)
class Summary:
    prompt: str
    version: str
    content_hash: str
    target: str
    cases: int
    passed: int
    failed: int
    errors: int
    skipped: int
    pass_rate: float | None
    pass_rate_ci95: tuple[float, float] | None
    mean_score: float | None
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    cost_unknown_cases: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pass_rate_ci95"] = None if self.pass_rate_ci95 is None else list(self.pass_rate_ci95)
        return data


def _summarize_group(group: list[CaseResult]) -> Summary:
    first = group[0]
    counts = {
        s: sum(1 for c in group if c.status == s) for s in ("pass", "fail", "error", "skipped")
    }
    judged = counts["pass"] + counts["fail"]
    answered = [c for c in group if c.status in ("pass", "fail")]
    has_repeats = any(c.repeat > 0 for c in group)
    ci = (
        wilson_interval(counts["pass"], judged)
        if judged and (has_repeats or len(group) > 1)
        else None
    )
    scores = [c.score for c in answered if c.score is not None]
    called = [c for c in group if c.status != "skipped"]
    # spent: answered cases, plus errored calls that were billed anyway
    cost = cost_figures(c.cost_usd for c in called if c.status != "error" or c.cost_usd is not None)
    latencies = live_latencies((c.latency_ms, c.cached) for c in answered)
    return Summary(
        prompt=first.prompt,
        version=first.version,
        content_hash=first.content_hash,
        target=first.target,
        cases=len(group),
        passed=counts["pass"],
        failed=counts["fail"],
        errors=counts["error"],
        skipped=counts["skipped"],
        pass_rate=counts["pass"] / judged if judged else None,
        pass_rate_ci95=ci,
        mean_score=sum(scores) / len(scores) if scores else None,
        input_tokens=sum(c.usage.input_tokens for c in group),
        output_tokens=sum(c.usage.output_tokens for c in group),
        cost_usd=cost.total if cost.priced or not cost.unknown else None,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        cost_unknown_cases=cost.unknown,
    )


def summarize(case_results: Iterable[CaseResult]) -> list[Summary]:
    """One Summary per (prompt, version, content_hash, target), in order of first appearance.

    Within one run a prompt has one version; keying on it too keeps a document merged from
    runs of different versions from pooling them into one row.
    """
    groups: dict[tuple[str, str, str, str], list[CaseResult]] = {}
    for case in case_results:
        key = (case.prompt, case.version, case.content_hash, case.target)
        groups.setdefault(key, []).append(case)
    return [_summarize_group(g) for g in groups.values()]
