"""The result of comparing a base and a head results document (what reports render).

Plain frozen dataclasses so every renderer (terminal, markdown, JSON) reads the same
figures; `comparison_to_dict` / `comparison_from_dict` round-trip through JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from promptctl.promptfile.model import GateConfig

__all__ = [
    "Comparison",
    "GroupComparison",
    "PromptChange",
    "SideStats",
    "TestDiff",
    "TestStatus",
    "Verdict",
    "comparison_from_dict",
    "comparison_to_dict",
]

Verdict = Literal["pass", "fail", "inconclusive", "error"]
TestStatus = Literal[
    "passing", "fixed", "regressed", "still_failing", "flaky", "new", "removed", "errored"
]


@dataclass(frozen=True)
class SideStats:
    """One side's figures for a prompt x target; rates over judged (pass/fail) cases."""

    cases: int
    passed: int
    failed: int
    errors: int
    skipped: int
    pass_rate: float | None
    mean_score: float | None
    cost_per_case: float | None
    total_cost: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    cost_unknown_cases: int = 0  # answered cases with no price (left out of the cost figures)

    @property
    def error_rate(self) -> float:
        ran = self.cases - self.skipped
        return self.errors / ran if ran else 0.0


@dataclass(frozen=True)
class TestDiff:
    """One test across its repeats, on both sides. Rates are None when a side has no runs."""

    test: str
    status: TestStatus
    base_rate: float | None
    head_rate: float | None
    base_runs: int
    head_runs: int
    base_errors: int = 0
    head_errors: int = 0
    reasons: tuple[str, ...] = ()  # failed assertion reasons on the head
    base_output: str | None = None
    head_output: str | None = None

    __test__ = False  # not a pytest class


@dataclass(frozen=True)
class PromptChange:
    """What changed in a prompt between base and head (see evals.prompt_diff)."""

    prompt: str
    status: Literal["added", "removed", "changed", "unchanged"]
    base_version: str | None = None
    head_version: str | None = None
    changes: tuple[str, ...] = ()  # one human line per semantic change
    tests_added: tuple[str, ...] = ()
    tests_removed: tuple[str, ...] = ()
    template_diffs: tuple[tuple[str, str], ...] = ()  # (label, unified diff)


@dataclass(frozen=True)
class GroupComparison:
    """One prompt x target: both sides, the paired test, the per-test changes, the verdict."""

    prompt: str
    target: str
    base: SideStats | None
    head: SideStats | None
    verdict: Verdict
    reasons: tuple[str, ...]
    tests: tuple[TestDiff, ...]
    paired_tests: int = 0
    worse: int = 0  # paired tests whose head pass rate is lower (errors count as failures)
    better: int = 0
    pass_rate_change: float | None = None  # mean over paired tests of head - base rate
    p_value: float | None = None  # exact conditional test of "head passes less", one-sided
    p_adjusted: float | None = None  # Holm over the whole family; None: not in the family
    score_change: float | None = None
    score_change_ci95: tuple[float, float] | None = None  # paired bootstrap
    required_tests: int | None = None  # paired tests needed to detect min_detectable_drop
    cost_change_pct: float | None = None
    latency_p95_change_pct: float | None = None
    cost_note: str | None = None  # why cost was not compared, or compared on fewer tests
    # Added in session 10: is a cost rise beyond chance? (docs/gating.md, the cost rule)
    cost_p_value: float | None = None  # sign-flip test of the per-test cost changes
    cost_p_adjusted: float | None = None  # Holm over the groups' cost tests (their family)
    cost_tests: int = 0  # tests whose cost was compared (answered and priced both sides)
    cost_uniform: bool = False  # every one of them rose by more than max_cost_increase_pct
    # Added by issue 9 (one family; docs/gating.md). Defaults keep old documents readable.
    hard_flips: int = 0  # tests that passed every base run (>= 2) and fail every head run
    hard_candidates: int = 0  # tests whose totals allow such a flip by chance
    hard_p_value: float | None = None
    hard_p_adjusted: float | None = None
    margin_p_value: float | None = None  # H0: drop <= max_pass_rate_drop (when it is > 0)
    margin_p_adjusted: float | None = None
    errors_counted: int = 0  # paired tests with errored repeats, counted as failures
    set_aside: int = 0  # tests that errored on every run of both sides (no evidence)
    base_target: str | None = None  # the base's target when the model changed

    def count(self, status: TestStatus) -> int:
        return sum(1 for t in self.tests if t.status == status)

    @property
    def model_change(self) -> str | None:
        """ "A → B" when the prompt's model changed between base and head."""
        return f"{self.base_target} → {self.target}" if self.base_target else None


@dataclass(frozen=True)
class Comparison:
    verdict: Verdict
    reasons: tuple[str, ...]
    groups: tuple[GroupComparison, ...]
    gate: GateConfig
    base_run: dict[str, Any] = field(default_factory=dict)
    head_run: dict[str, Any] = field(default_factory=dict)
    prompt_changes: tuple[PromptChange, ...] = ()

    def count(self, status: TestStatus) -> int:
        return sum(g.count(status) for g in self.groups)


def comparison_to_dict(comparison: Comparison) -> dict[str, Any]:
    """A JSON-ready dict (tuples become lists)."""
    out = asdict(comparison)
    out["schema"] = "promptctl/comparison@1"
    return out


def comparison_from_dict(data: dict[str, Any]) -> Comparison:
    """Inverse of `comparison_to_dict` (e.g. after json.loads)."""
    groups = tuple(_group(g) for g in data["groups"])
    changes = tuple(_prompt_change(c) for c in data.get("prompt_changes", ()))
    return Comparison(
        verdict=data["verdict"],
        reasons=tuple(data["reasons"]),
        groups=groups,
        gate=GateConfig(**data["gate"]),
        base_run=dict(data.get("base_run", {})),
        head_run=dict(data.get("head_run", {})),
        prompt_changes=changes,
    )


def _group(data: dict[str, Any]) -> GroupComparison:
    values = dict(data)
    for side in ("base", "head"):
        values[side] = SideStats(**values[side]) if values[side] is not None else None
    values["reasons"] = tuple(values["reasons"])
    values["tests"] = tuple(
        TestDiff(**{**t, "reasons": tuple(t["reasons"])}) for t in values["tests"]
    )
    ci = values.get("score_change_ci95")
    values["score_change_ci95"] = (ci[0], ci[1]) if ci is not None else None
    names = {f.name for f in fields(GroupComparison)}
    return GroupComparison(**{k: v for k, v in values.items() if k in names})


def _prompt_change(data: dict[str, Any]) -> PromptChange:
    return PromptChange(
        prompt=data["prompt"],
        status=data["status"],
        base_version=data.get("base_version"),
        head_version=data.get("head_version"),
        changes=tuple(data.get("changes", ())),
        tests_added=tuple(data.get("tests_added", ())),
        tests_removed=tuple(data.get("tests_removed", ())),
        template_diffs=tuple((a, b) for a, b in data.get("template_diffs", ())),
    )
