"""`promptctl compare`: which target is the cheapest that is good enough for a prompt.

Runs are ordinary evaluation cases (the prompt's tests on the primary and on each
candidate, no fallbacks, so every answer is the target's own). Each test is a pair across
targets; `noninferiority` decides per candidate. The recommendation is the cheapest
non-inferior candidate that costs less per case than the primary. The monthly saving
scales the prompt's real spend in the ledger (runtime calls of the last 30 days) by the
candidate's cost per case relative to the primary's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from promptctl.evals.aggregate import cost_figures, live_latencies
from promptctl.evals.noninferiority import NonInferiority, noninferiority
from promptctl.evals.stats import percentile, wilson_interval
from promptctl.promptfile.model import Prompt

__all__ = [
    "Comparison",
    "MonthlySaving",
    "TargetStats",
    "compare_targets",
    "isolated",
    "monthly_saving",
]


@dataclass(frozen=True)
class TargetStats:
    target: str
    passed: int
    failed: int
    errors: int
    pass_rate: float | None
    interval: tuple[float, float] | None  # Wilson 95%
    cost_per_case: float | None  # None: no price for some answered case
    p50_ms: float | None
    p95_ms: float | None
    test: NonInferiority | None  # None for the primary


@dataclass(frozen=True)
class MonthlySaving:
    calls: int  # runtime calls of the prompt in the last 30 days
    spend_usd: float  # what they cost
    saving_usd: float  # spend x (1 - candidate / primary cost per case)


@dataclass(frozen=True)
class Comparison:
    prompt: str
    primary: str
    margin: float
    alpha: float
    targets: list[TargetStats]
    recommended: str | None
    reason: str
    saving: MonthlySaving | None = None

    def stats(self, target: str) -> TargetStats:
        return next(t for t in self.targets if t.target == target)


def isolated(prompt: Prompt) -> Prompt:
    """The prompt without fallbacks and routes: each case is answered by its own target."""
    return dataclasses.replace(
        prompt, model=dataclasses.replace(prompt.model, fallbacks=(), routes=())
    )


def _per_test(cases: Sequence[Mapping[str, Any]], target: str) -> dict[str, float]:
    """Pass rate per test on `target` over its repeats; errored cases are left out."""
    counts: dict[str, list[int]] = {}
    for case in cases:
        if case["target"] != target or case["status"] not in ("pass", "fail"):
            continue
        seen = counts.setdefault(case["test"], [0, 0])
        seen[0] += case["status"] == "pass"
        seen[1] += 1
    return {test: passed / total for test, (passed, total) in counts.items()}


def _stats(
    cases: Sequence[Mapping[str, Any]], target: str, test: NonInferiority | None
) -> TargetStats:
    mine = [c for c in cases if c["target"] == target]
    answered = [c for c in mine if c["status"] in ("pass", "fail")]
    passed = sum(c["status"] == "pass" for c in answered)
    costs = cost_figures(c.get("cost_usd") for c in answered)
    latencies = live_latencies((c.get("latency_ms"), bool(c.get("cached"))) for c in answered)
    n = len(answered)
    return TargetStats(
        target=target,
        passed=passed,
        failed=n - passed,
        errors=len(mine) - n,
        pass_rate=passed / n if n else None,
        interval=wilson_interval(passed, n) if n else None,
        cost_per_case=costs.total / n if n and not costs.unknown else None,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        test=test,
    )


def compare_targets(
    cases: Sequence[Mapping[str, Any]],
    prompt: str,
    primary: str,
    candidates: Sequence[str],
    *,
    margin: float,
    alpha: float = 0.05,
) -> Comparison:
    """Statistics per target and the recommendation, from a results document's cases."""
    base = _per_test(cases, primary)
    stats = [_stats(cases, primary, None)]
    for target in candidates:
        mine = _per_test(cases, target)
        pairs = [(base[t], mine[t]) for t in base if t in mine]
        stats.append(_stats(cases, target, noninferiority(pairs, margin, alpha)))
    recommended, reason = _recommend(stats, margin)
    return Comparison(prompt, primary, margin, alpha, stats, recommended, reason)


def _recommend(stats: list[TargetStats], margin: float) -> tuple[str | None, str]:
    primary, candidates = stats[0], stats[1:]
    good = [s for s in candidates if s.test is not None and s.test.verdict == "non-inferior"]
    if primary.cost_per_case is None:
        return None, f"the cost of {primary.target} is unknown: add it under `pricing:`"
    priced = [s for s in good if s.cost_per_case is not None]
    cheaper = [s for s in priced if (s.cost_per_case or 0.0) < primary.cost_per_case]
    if cheaper:
        best = min(cheaper, key=lambda s: (s.cost_per_case or 0.0, s.target))
        return best.target, (
            f"{best.target} is non-inferior to {primary.target} at a margin of "
            f"{margin:g} and costs less per case"
        )
    unpriced = [s.target for s in good if s.cost_per_case is None]
    if unpriced:
        return None, (
            f"non-inferior but of unknown cost: {', '.join(unpriced)}; add a price under `pricing:`"
        )
    if good:
        return None, "the non-inferior candidates cost no less per case than the primary"
    open_ = [s for s in candidates if s.test is not None and s.test.verdict == "inconclusive"]
    if open_:
        parts = []
        for s in open_:
            assert s.test is not None
            need = s.test.tests_needed
            parts.append(
                f"{s.target} needs about {need} tests (has {s.test.pairs})"
                if need is not None
                else f"{s.target} is behind by more than the margin so far"
            )
        return None, "inconclusive: " + "; ".join(parts)
    return None, f"no candidate is non-inferior at a margin of {margin:g}"


def monthly_saving(
    ledger: Path, prompt: str, primary_cost: float, candidate_cost: float, now: datetime
) -> MonthlySaving | None:
    """The prompt's runtime spend of the last 30 days, scaled to the candidate's cost."""
    from promptctl.errors import ConfigError
    from promptctl.ledger.report import read_rows

    if primary_cost <= 0 or not ledger.exists():
        return None
    since = (now - timedelta(days=30)).astimezone(UTC).timestamp()
    try:
        rows = read_rows(ledger, since=since)
    except ConfigError:
        return None
    mine = [r for r in rows if r.prompt_id == prompt and r.source == "runtime"]
    mine = [r for r in mine if r.outcome != "error"]
    spend = sum(r.cost_usd or 0.0 for r in mine)
    return MonthlySaving(len(mine), spend, spend * (1 - candidate_cost / primary_cost))
