"""One side's figures for a prompt x target (pass rate, score, cost, latency)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptctl.evals.comparison import SideStats
from promptctl.evals.stats import percentile

__all__ = ["mean_score", "side_stats"]


def side_stats(cases: Sequence[Mapping[str, Any]]) -> SideStats:
    """Rates over judged cases; cost over cases that ran; latency over live (uncached) calls."""
    status = [c.get("status") for c in cases]
    passed, failed = status.count("pass"), status.count("fail")
    ran = [c for c in cases if c.get("status") != "skipped"]
    costs = [float(c["cost_usd"]) for c in ran if c.get("cost_usd") is not None]
    latencies = [
        float(c["latency_ms"])
        for c in ran
        if c.get("status") != "error"
        and c.get("latency_ms") is not None
        and not c.get("cached", False)
    ]
    return SideStats(
        cases=len(cases),
        passed=passed,
        failed=failed,
        errors=status.count("error"),
        skipped=status.count("skipped"),
        pass_rate=passed / (passed + failed) if passed + failed else None,
        mean_score=mean_score(cases),
        cost_per_case=sum(costs) / len(costs) if costs else None,
        total_cost=sum(costs) if costs else None,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
    )


def mean_score(cases: Sequence[Mapping[str, Any]]) -> float | None:
    """Mean score of the judged (pass/fail) cases; None when none has a score."""
    scores = [
        float(c["score"])
        for c in cases
        if c.get("status") in ("pass", "fail") and c.get("score") is not None
    ]
    return sum(scores) / len(scores) if scores else None
