"""What the terminal summary reads from a run's cases, gathered one case at a time.

The summary table comes from the document's `summary` rows; the lines under it (failures,
cases answered by a fallback, models without a price) come from the cases. `CaseFacts`
keeps only those lines' material, so `promptctl test` can print the summary of a 100,000
case run streamed to its results file without holding the cases (and a reader of a whole
document gets the same lines through `case_facts`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_MAX_PROBLEMS", "DEFAULT_OUTPUT_CHARS", "CaseFacts", "Problem", "case_facts"]

DEFAULT_MAX_PROBLEMS = 20
DEFAULT_OUTPUT_CHARS = 160


@dataclass(frozen=True)
class Problem:
    """A failed or errored case, ready to print."""

    status: str
    label: str  # prompt @ target › test [#repeat]
    reason: str
    output: str


def _trim(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def problem(case: Mapping[str, Any], output_chars: int) -> Problem:
    """The printable line of a failed or errored case."""
    label = f"{case['prompt']} @ {case['target']} › {case['test']}"
    if case.get("repeat"):
        label += f" [#{case['repeat']}]"
    if case["status"] == "fail":
        reasons = [a["reason"] for a in case.get("assertions", ()) if not a["pass"]]
        reason = "; ".join(reasons) or "failed"
    else:
        err = case.get("error") or {}
        reason = f"{err.get('kind', 'error')}: {err.get('message', '')}"
    return Problem(case["status"], label, reason, _trim(case.get("output") or "", output_chars))


@dataclass
class CaseFacts:
    """Fed each case dict in document order (`add`); holds the first `max_problems`
    failures and errors (with how many there were), the fallback answers per prompt x
    target, and the models that answered without a known cost."""

    max_problems: int = DEFAULT_MAX_PROBLEMS
    output_chars: int = DEFAULT_OUTPUT_CHARS
    failures: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    failed: int = 0
    errored: int = 0
    cases: int = 0
    # (prompt, target) -> "answered_by after tried" -> cases
    fallbacks: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    unpriced: dict[str, None] = field(default_factory=dict)  # no price for the model
    unreadable: dict[str, None] = field(default_factory=dict)  # no readable token usage

    def add(self, case: Mapping[str, Any]) -> None:
        self.cases += 1
        status = case["status"]
        if status == "fail":
            self.failed += 1
            if len(self.failures) < self.max_problems:
                self.failures.append(problem(case, self.output_chars))
        elif status == "error":
            self.errored += 1
            if len(self.errors) < self.max_problems:
                self.errors.append(problem(case, self.output_chars))
        if status not in ("pass", "fail"):
            return
        by = case.get("answered_by")
        if by and by != case["target"]:
            tried = ", ".join(
                f"{f['target']}: {f['reason']}" if f.get("reason") else f["target"]
                for f in case.get("fallbacks_tried") or ()
            )
            how = f"{by} after {tried}" if tried else by
            self.fallbacks.setdefault((case["prompt"], case["target"]), Counter())[how] += 1
        if case.get("cost_usd") is None:
            usage_known = case.get("usage_known", True)
            if usage_known is True:
                self.unpriced[by or case["target"]] = None
            elif usage_known is False:
                self.unreadable[by or case["target"]] = None

    @property
    def problem_count(self) -> int:
        return self.failed + self.errored

    def problems(self) -> list[Problem]:
        """Failures first, then errors, each in document order (at most `max_problems`
        of each are kept: enough for any listing of `max_problems` lines)."""
        return [*self.failures, *self.errors]


def case_facts(
    cases: Iterable[Mapping[str, Any]],
    *,
    max_problems: int = DEFAULT_MAX_PROBLEMS,
    output_chars: int = DEFAULT_OUTPUT_CHARS,
) -> CaseFacts:
    """The facts of a whole document's cases."""
    facts = CaseFacts(max_problems, output_chars)
    for case in cases:
        facts.add(case)
    return facts
