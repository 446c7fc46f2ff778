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

from array import array
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from promptctl.evals.stats import percentile, wilson_interval

if TYPE_CHECKING:
    from promptctl.evals.results import CaseResult

__all__ = [
    "CostFigures",
    "Summary",
    "SummaryBuilder",
    "cost_figures",
    "live_latencies",
    "summarize",
]


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


class _Group:
    """Running figures of one prompt x target: what its Summary needs, not its cases.

    Sums are added in case order (as `sum()` over a list would), so a streamed run and
    `summarize` over the same cases give the same numbers; latencies are kept as
    doubles (8 bytes a case) for the exact percentiles.
    """

    __slots__ = (
        "answered_costs",
        "cases",
        "counts",
        "first",
        "input_tokens",
        "latencies",
        "output_tokens",
        "repeats",
        "score_n",
        "score_sum",
    )

    def __init__(self, first: CaseResult) -> None:
        self.first = first.prompt, first.version, first.content_hash, first.target
        self.cases = 0
        self.counts = {"pass": 0, "fail": 0, "error": 0, "skipped": 0}
        self.repeats = False
        self.score_sum = 0.0
        self.score_n = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.answered_costs = _CostSum()
        self.latencies = array("d")

    def add(self, c: CaseResult) -> None:
        self.cases += 1
        self.counts[c.status] += 1
        self.repeats = self.repeats or c.repeat > 0
        self.input_tokens += c.usage.input_tokens
        self.output_tokens += c.usage.output_tokens
        answered = c.status in ("pass", "fail")
        if answered and c.score is not None:
            self.score_sum += c.score
            self.score_n += 1
        # spent: answered cases, plus errored calls that were billed anyway
        if c.status != "skipped" and (c.status != "error" or c.cost_usd is not None):
            self.answered_costs.add(c.cost_usd)
        if answered and c.latency_ms is not None and not c.cached:  # as `live_latencies`
            self.latencies.append(float(c.latency_ms))

    def summary(self) -> Summary:
        counts = self.counts
        judged = counts["pass"] + counts["fail"]
        ci = (
            wilson_interval(counts["pass"], judged)
            if judged and (self.repeats or self.cases > 1)
            else None
        )
        cost = self.answered_costs.figures()
        latencies = list(self.latencies)
        prompt, version, content_hash, target = self.first
        return Summary(
            prompt=prompt,
            version=version,
            content_hash=content_hash,
            target=target,
            cases=self.cases,
            passed=counts["pass"],
            failed=counts["fail"],
            errors=counts["error"],
            skipped=counts["skipped"],
            pass_rate=counts["pass"] / judged if judged else None,
            pass_rate_ci95=ci,
            mean_score=self.score_sum / self.score_n if self.score_n else None,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cost_usd=cost.total if cost.priced or not cost.unknown else None,
            latency_p50_ms=percentile(latencies, 50),
            latency_p95_ms=percentile(latencies, 95),
            cost_unknown_cases=cost.unknown,
        )


class _CostSum:
    """`cost_figures` one cost at a time."""

    __slots__ = ("priced", "total", "unknown")

    def __init__(self) -> None:
        self.total = 0.0
        self.priced = 0
        self.unknown = 0

    def add(self, cost: float | None) -> None:
        if cost is None:
            self.unknown += 1
        else:
            self.total += float(cost)
            self.priced += 1

    def figures(self) -> CostFigures:
        # as `sum()` of no costs: the int 0 (written `0`, not `0.0`)
        total = self.total if self.priced else 0
        return CostFigures(total=total, priced=self.priced, unknown=self.unknown)


class SummaryBuilder:
    """`summarize`, fed one case at a time: a run streams its cases to the results file
    and keeps only this (a few counters and one double per timed case per group)."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str, str, str], _Group] = {}

    def add(self, case: CaseResult) -> None:
        key = (case.prompt, case.version, case.content_hash, case.target)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(case)
        group.add(case)

    def summaries(self) -> list[Summary]:
        return [g.summary() for g in self._groups.values()]


def summarize(case_results: Iterable[CaseResult]) -> list[Summary]:
    """One Summary per (prompt, version, content_hash, target), in order of first appearance.

    Within one run a prompt has one version; keying on it too keeps a document merged from
    runs of different versions from pooling them into one row.
    """
    builder = SummaryBuilder()
    for case in case_results:
        builder.add(case)
    return builder.summaries()
