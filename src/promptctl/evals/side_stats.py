"""One side's figures for a prompt x target (pass rate, score, cost, latency).

Cost and latency use the same rules as the run summaries (`aggregate.cost_figures`,
`aggregate.live_latencies`): only answered (pass/fail) cases count, cost per case divides
by the cases with a known cost, a cached answer counts at its recorded cost. Cases are
plain mappings and may lack fields a summary needs (version, content_hash): the gate
simulations build them by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptctl.evals.aggregate import cost_figures, live_latencies
from promptctl.evals.comparison import SideStats
from promptctl.evals.stats import percentile

__all__ = ["answered", "mean_score", "side_stats", "unpriced_targets"]


def side_stats(cases: Sequence[Mapping[str, Any]]) -> SideStats:
    """Rates over judged cases; cost over answered cases with a price; latency over live calls."""
    passed = failed = errors = skipped = 0
    done: list[Mapping[str, Any]] = []  # answered, as `answered` has them
    for c in cases:
        status = c.get("status")
        if status == "pass":
            passed += 1
            done.append(c)
        elif status == "fail":
            failed += 1
            done.append(c)
        elif status == "error":
            errors += 1
        elif status == "skipped":
            skipped += 1
    cost = cost_figures(c.get("cost_usd") for c in done)
    latencies = live_latencies((c.get("latency_ms"), bool(c.get("cached"))) for c in done)
    return SideStats(
        cases=len(cases),
        passed=passed,
        failed=failed,
        errors=errors,
        skipped=skipped,
        pass_rate=passed / (passed + failed) if passed + failed else None,
        mean_score=_mean([c["score"] for c in done if c.get("score") is not None]),
        cost_per_case=cost.per_case,
        total_cost=cost.total if cost.priced else None,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        cost_unknown_cases=cost.unknown,
    )


def answered(cases: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The cases a model really answered: errored and skipped ones bought nothing."""
    return [c for c in cases if c.get("status") in _JUDGED]


def unpriced_targets(cases: Sequence[Mapping[str, Any]]) -> list[str]:
    """Who answered the unpriced cases (answered_by, else target), in order, once each."""
    names = [
        str(c.get("answered_by") or c.get("target") or "?")
        for c in answered(cases)
        if c.get("cost_usd") is None
    ]
    return list(dict.fromkeys(names))


def mean_score(cases: Sequence[Mapping[str, Any]]) -> float | None:
    """Mean score of the judged (pass/fail) cases; None when none has a score."""
    return _mean(
        [c["score"] for c in cases if c.get("status") in _JUDGED and c.get("score") is not None]
    )


_JUDGED = ("pass", "fail")


def _mean(scores: list[Any]) -> float | None:
    if not scores:
        return None
    return sum(float(x) for x in scores) / len(scores)
