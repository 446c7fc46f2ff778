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
    b_pass, b_fail, b_errors = _split(base)
    h_pass, h_fail, h_errors = _split(head)
    b_rate = _rate(b_pass, b_fail)
    h_rate = _rate(h_pass, h_fail)
    status: TestStatus
    if not base:
        status = "new"
    elif not head:
        status = "removed"
    elif b_rate is None or h_rate is None:
        status = "errored" if b_errors + h_errors else ("new" if b_rate is None else "removed")
    elif 0 < b_rate < 1 or 0 < h_rate < 1:
        status = "flaky"
    elif b_rate == h_rate:
        status = "passing" if h_rate == 1 else "still_failing"
    else:
        status = "regressed" if b_rate == 1 else "fixed"
    return TestDiff(
        test=name,
        status=status,
        base_rate=b_rate,
        head_rate=h_rate,
        base_runs=len(b_pass) + len(b_fail),
        head_runs=len(h_pass) + len(h_fail),
        base_errors=b_errors,
        head_errors=h_errors,
        reasons=_reasons(h_fail),
        base_output=_excerpt(b_pass[0].get("output")) if b_pass else None,
        head_output=_excerpt(h_fail[0].get("output")) if h_fail else None,
    )


def _split(
    cases: Sequence[Mapping[str, Any]] | None,
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]], int]:
    """The passing and the failing repeats (the judged ones, in order) and the errored count."""
    passing: list[Mapping[str, Any]] = []
    failing: list[Mapping[str, Any]] = []
    errors = 0
    for c in cases or ():
        status = c.get("status")
        if status == "pass":
            passing.append(c)
        elif status == "fail":
            failing.append(c)
        elif status == "error":
            errors += 1
    return passing, failing, errors


def _rate(passing: list[Mapping[str, Any]], failing: list[Mapping[str, Any]]) -> float | None:
    judged = len(passing) + len(failing)
    return len(passing) / judged if judged else None


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
