"""The `summary` block of a results document, recomputed from its cases.

Kept in one place so `merge` (and anything else joining case lists) produces exactly
the figures the contract defines: pass_rate = passed / (passed + failed), errors and
skipped excluded; latency percentiles over cases that really called a model (cached
answers took no time and would drag the percentiles down).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from promptctl.evals.stats import percentile, wilson_interval

__all__ = ["summarize_cases"]


def summarize_cases(cases: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One summary row per (prompt, version, content_hash, target), in first-seen order."""
    groups: dict[tuple[str, str, str, str], list[Mapping[str, Any]]] = {}
    for case in cases:
        key = (
            str(case.get("prompt", "")),
            str(case.get("version", "")),
            str(case.get("content_hash", "")),
            str(case.get("target", "")),
        )
        groups.setdefault(key, []).append(case)
    return [_row(key, rows) for key, rows in groups.items()]


def _row(key: tuple[str, str, str, str], cases: list[Mapping[str, Any]]) -> dict[str, Any]:
    prompt, version, content_hash, target = key
    status = [c.get("status") for c in cases]
    passed = status.count("pass")
    failed = status.count("fail")
    judged = passed + failed
    ci = wilson_interval(passed, judged)
    scores = [float(c["score"]) for c in cases if c.get("score") is not None]
    costs = [float(c["cost_usd"]) for c in cases if c.get("cost_usd") is not None]
    latencies = [
        float(c["latency_ms"])
        for c in cases
        if c.get("latency_ms") is not None and not c.get("cached", False)
    ]
    usage = [c.get("usage") or {} for c in cases]
    return {
        "prompt": prompt,
        "version": version,
        "content_hash": content_hash,
        "target": target,
        "cases": len(cases),
        "passed": passed,
        "failed": failed,
        "errors": status.count("error"),
        "skipped": status.count("skipped"),
        "pass_rate": passed / judged if judged else None,
        "pass_rate_ci95": list(ci) if ci else None,
        "mean_score": sum(scores) / len(scores) if scores else None,
        "input_tokens": sum(int(u.get("input_tokens", 0)) for u in usage),
        "output_tokens": sum(int(u.get("output_tokens", 0)) for u in usage),
        "cost_usd": sum(costs) if costs else None,
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }
