"""Classify one test across its repeats: passing, fixed, regressed, flaky, new, …"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptctl.evals.comparison import TestDiff, TestStatus

__all__ = ["classify_test"]

_MAX_REASONS = 5
_OUTPUT_CHARS = 400


def classify_test(
    name: str,
    base: Sequence[Mapping[str, Any]] | None,
    head: Sequence[Mapping[str, Any]] | None,
) -> TestDiff:
    """Errored and skipped repeats are left out of the rates; errors are counted apart."""
    b_judged = _judged(base)
    h_judged = _judged(head)
    b_rate = _rate(b_judged)
    h_rate = _rate(h_judged)
    status: TestStatus
    if not base:
        status = "new"
    elif not head:
        status = "removed"
    elif b_rate is None or h_rate is None:
        status = (
            "errored" if _errors(base) + _errors(head) else ("new" if b_rate is None else "removed")
        )
    elif 0 < b_rate < 1 or 0 < h_rate < 1:
        status = "flaky"
    elif b_rate == h_rate:
        status = "passing" if h_rate == 1 else "still_failing"
    else:
        status = "regressed" if b_rate == 1 else "fixed"
    failing = [c for c in h_judged if c.get("status") == "fail"]
    passing = [c for c in b_judged if c.get("status") == "pass"]
    return TestDiff(
        test=name,
        status=status,
        base_rate=b_rate,
        head_rate=h_rate,
        base_runs=len(b_judged),
        head_runs=len(h_judged),
        base_errors=_errors(base),
        head_errors=_errors(head),
        reasons=_reasons(failing),
        base_output=_excerpt(passing[0].get("output")) if passing else None,
        head_output=_excerpt(failing[0].get("output")) if failing else None,
    )


def _judged(cases: Sequence[Mapping[str, Any]] | None) -> list[Mapping[str, Any]]:
    return [c for c in cases or () if c.get("status") in ("pass", "fail")]


def _rate(cases: list[Mapping[str, Any]]) -> float | None:
    if not cases:
        return None
    return sum(1 for c in cases if c.get("status") == "pass") / len(cases)


def _errors(cases: Sequence[Mapping[str, Any]] | None) -> int:
    return sum(1 for c in cases or () if c.get("status") == "error")


def _reasons(failing: list[Mapping[str, Any]]) -> tuple[str, ...]:
    seen: list[str] = []
    for case in failing:
        for a in case.get("assertions") or ():
            if not a.get("pass", True):
                text = f"{a.get('type', '?')}: {a.get('reason', '')}".strip()
                if text not in seen:
                    seen.append(text)
    return tuple(seen[:_MAX_REASONS])


def _excerpt(output: object) -> str | None:
    if output is None:
        return None
    text = str(output)
    return text if len(text) <= _OUTPUT_CHARS else text[: _OUTPUT_CHARS - 1] + "…"
