"""Compare a base and a head results document and apply the gate.

Cases are grouped by (prompt, target) and, inside, by test across repeats. The unit of
the paired tests is the test: its passes on the base and on the head (`paired_tests`).
Every rule with a chance component yields a p-value, and all of them, over all groups,
form one Holm family. Method, thresholds and a worked example: docs/gating.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from promptctl.errors import ConfigError
from promptctl.evals.comparison import Comparison, GroupComparison, TestDiff, Verdict
from promptctl.evals.cost_change import with_cost_latency
from promptctl.evals.paired_tests import (
    Outcome,
    could_flip,
    hard_flip_test,
    is_hard_flip,
    margin_test,
    required_tests,
    shift_test,
)
from promptctl.evals.side_stats import mean_score, side_stats
from promptctl.evals.stats import holm
from promptctl.evals.stats import paired_bootstrap_mean_diff as bootstrap
from promptctl.evals.test_diff import classify_test
from promptctl.promptfile.model import GateConfig

__all__ = ["check_gate", "compare", "outcome"]

Case = Mapping[str, Any]
_Tests = dict[str, list[Case]]
_Key = tuple[str, str]
_PAIRED = {"passing", "fixed", "regressed", "still_failing", "flaky", "errored"}
_Kind = Literal["shift", "hard", "margin"]


@dataclass(frozen=True)
class _Hypothesis:
    group: int
    kind: _Kind
    p_value: float


def compare(
    base_doc: Mapping[str, Any], head_doc: Mapping[str, Any], gate: GateConfig
) -> Comparison:
    """Compare two results documents; the verdict is the worst group's, fail first."""
    check_gate(gate)
    base = _group_cases(base_doc.get("cases", ()))
    head = _group_cases(head_doc.get("cases", ()))
    renamed = _model_changes(base, head)
    base = {renamed.get(k, k): v for k, v in base.items()}
    keys = list(head) + [k for k in base if k not in head]
    measured = [_measure(k, base.get(k), head.get(k), gate) for k in keys]
    back = {v: k[1] for k, v in renamed.items()}
    groups = [replace(g, base_target=back.get((g.prompt, g.target))) for g, _, _ in measured]
    family = [_Hypothesis(i, kind, p) for i, (_, hs, _) in enumerate(measured) for kind, p in hs]
    groups = _adjust(groups, family)
    groups = _adjust_cost(groups, gate)
    planned = max(1, sum(1 for g in groups if g.paired_tests))
    groups = [_decide(g, gate, planned, m[2]) for g, m in zip(groups, measured, strict=True)]
    verdict, reasons = _overall(groups)
    return Comparison(
        verdict=verdict,
        reasons=reasons,
        groups=tuple(groups),
        gate=gate,
        base_run=dict(base_doc.get("run") or {}),
        head_run=dict(head_doc.get("run") or {}),
    )


def check_gate(gate: GateConfig) -> None:
    """Reject settings the statistics cannot use, with the setting's name."""
    problems = []
    if not 0 < gate.alpha < 1:
        problems.append(f"alpha must be between 0 and 1, got {gate.alpha}")
    if not 0 <= gate.max_pass_rate_drop < 1:
        problems.append(f"max_pass_rate_drop must be in [0, 1), got {gate.max_pass_rate_drop}")
    if not 0 < gate.min_detectable_drop <= 1:
        problems.append(f"min_detectable_drop must be in (0, 1], got {gate.min_detectable_drop}")
    if not 0 <= gate.max_error_rate <= 1:
        problems.append(f"max_error_rate must be in [0, 1], got {gate.max_error_rate}")
    if problems:
        raise ConfigError("invalid gate: " + "; ".join(problems))


def _group_cases(cases: Iterable[Case]) -> dict[_Key, _Tests]:
    out: dict[_Key, _Tests] = {}
    for case in cases:
        key = (str(case["prompt"]), str(case["target"]))
        tests = out.get(key)
        if tests is None:
            tests = out[key] = {}
        name = str(case["test"])
        runs = tests.get(name)
        if runs is None:
            tests[name] = [case]
        else:
            runs.append(case)
    return out


def _model_changes(base: dict[_Key, _Tests], head: dict[_Key, _Tests]) -> dict[_Key, _Key]:
    """Base group -> head group for prompts whose one target was replaced by another.

    A prompt that lost exactly one target and gained exactly one (its model changed, or
    its provider was renamed) is compared across the change rather than read as "target
    removed" plus "target added". Several at once are ambiguous and left unpaired.
    """
    out: dict[_Key, _Key] = {}
    for prompt in dict.fromkeys(p for p, _ in base):
        gone = [k for k in base if k[0] == prompt and k not in head]
        new = [k for k in head if k[0] == prompt and k not in base]
        if len(gone) == 1 and len(new) == 1:
            out[gone[0]] = new[0]
    return out


def outcome(t: TestDiff) -> Outcome | None:
    """A test's paired outcome, errored repeats counted as failures on their side.

    Symmetric on both sides, so random errors do not make "nothing changed" look worse;
    a test that errors on every head repeat counts as failing there. None when a side has
    no run, or when every run on both sides errored (set aside: no evidence either way).
    """
    if t.status not in _PAIRED:
        return None
    n_b, n_h = t.base_runs + t.base_errors, t.head_runs + t.head_errors
    if n_b == 0 or n_h == 0 or t.base_runs + t.head_runs == 0:
        return None
    k_b = round((t.base_rate or 0.0) * t.base_runs)
    k_h = round((t.head_rate or 0.0) * t.head_runs)
    return Outcome(k_b, n_b, k_h, n_h)


def _measure(
    key: _Key, base: _Tests | None, head: _Tests | None, gate: GateConfig
) -> tuple[GroupComparison, list[tuple[_Kind, float]], list[Outcome]]:
    """Everything but the verdict: per-test diffs, side stats, the paired tests (and their
    outcomes, which the verdict reads again)."""
    base, head = base or {}, head or {}
    names = list(base) + [t for t in head if t not in base]
    tests = tuple(classify_test(t, base.get(t), head.get(t)) for t in names)
    pairs = [(t, outcome(t)) for t in tests]
    paired = [(t, o) for t, o in pairs if o is not None]
    outcomes = [o for _, o in paired]
    group = GroupComparison(
        prompt=key[0],
        target=key[1],
        base=side_stats([c for cs in base.values() for c in cs]) if base else None,
        head=side_stats([c for cs in head.values() for c in cs]) if head else None,
        verdict="pass",
        reasons=(),
        tests=tests,
        paired_tests=len(paired),
        errors_counted=sum(1 for t, _ in paired if t.base_errors or t.head_errors),
        set_aside=sum(1 for t, o in pairs if o is None and t.status == "errored"),
    )
    if not paired or not base or not head:
        return with_cost_latency(group, base, head, gate), [], outcomes
    shift = shift_test(outcomes)
    hard = hard_flip_test(outcomes)
    group = replace(
        group,
        worse=sum(1 for o in outcomes if o.drop > 0),
        better=sum(1 for o in outcomes if o.drop < 0),
        pass_rate_change=-sum(o.drop for o in outcomes) / len(outcomes),
        p_value=shift.p_value,
        hard_flips=sum(1 for o in outcomes if is_hard_flip(o)),
        hard_candidates=sum(1 for o in outcomes if could_flip(o)),
        hard_p_value=hard.p_value if hard.p_min < 1 else None,
    )
    hypotheses: list[tuple[_Kind, float]] = []
    if gate.max_pass_rate_drop > 0:
        p = max(margin_test(outcomes, gate.max_pass_rate_drop), shift.p_value)
        group = replace(group, margin_p_value=p)
        hypotheses.append(("margin", p))
    else:
        # Tarone: a test whose totals cannot reach alpha can never reject; leaving it out
        # of the family spends none of alpha on it (valid: p_min depends only on totals).
        if shift.p_min <= gate.alpha:
            hypotheses.append(("shift", shift.p_value))
        if gate.fail_on_new_failures and hard.p_min <= gate.alpha:
            hypotheses.append(("hard", hard.p_value))
    group = _with_scores(group, base, head, [t.test for t, _ in paired], gate)
    return with_cost_latency(group, base, head, gate), hypotheses, outcomes


def _repeats(outcomes: list[Outcome]) -> int:
    """The group's typical runs per test and side (the median of the smaller side)."""
    runs = sorted(min(o.base_runs, o.head_runs) for o in outcomes)
    return runs[len(runs) // 2]


def _adjust(groups: list[GroupComparison], family: list[_Hypothesis]) -> list[GroupComparison]:
    """Holm over every hypothesis of every group: one family-wise error rate."""
    adjusted = holm([h.p_value for h in family])
    out = list(groups)
    for h, p_adj in zip(family, adjusted, strict=True):
        g = out[h.group]
        if h.kind == "shift":
            out[h.group] = replace(g, p_adjusted=p_adj)
        elif h.kind == "hard":
            out[h.group] = replace(g, hard_p_adjusted=p_adj)
        else:
            out[h.group] = replace(g, margin_p_adjusted=p_adj)
    return out


def _adjust_cost(groups: list[GroupComparison], gate: GateConfig) -> list[GroupComparison]:
    """Holm over the groups' cost tests, their own family: a report of many changed
    prompts fails one on cost by chance at most alpha (as the pass-rate family does).
    A group whose test cannot reach alpha at all (2**-n > alpha with n tests) spends
    none of it (Tarone, as for the pass-rate tests)."""
    if gate.max_cost_increase_pct is None:
        return groups
    member = [
        i
        for i, g in enumerate(groups)
        if g.cost_p_value is not None and 2.0 ** -min(g.cost_tests, 64) <= gate.alpha
    ]
    adjusted = holm([groups[i].cost_p_value or 1.0 for i in member])
    out = list(groups)
    for i, p_adj in zip(member, adjusted, strict=True):
        out[i] = replace(out[i], cost_p_adjusted=p_adj)
    return out


def _with_scores(
    group: GroupComparison, base: _Tests, head: _Tests, names: list[str], gate: GateConfig
) -> GroupComparison:
    if group.base is None or group.head is None:
        return group
    if group.base.mean_score is None or group.head.mean_score is None:
        return group  # a side with no score at all: no test has scores on both sides
    pairs = [(mean_score(base[n]), mean_score(head[n])) for n in names]
    usable = [(b, h) for b, h in pairs if b is not None and h is not None]
    if not usable:
        return group
    b_scores = [b for b, _ in usable]
    h_scores = [h for _, h in usable]
    change = sum(h - b for b, h in usable) / len(usable)
    if gate.bootstrap_resamples <= 0 or len(usable) < 2:
        return replace(group, score_change=change)
    _, lo, hi = bootstrap(b_scores, h_scores, resamples=gate.bootstrap_resamples, seed=0)
    return replace(group, score_change=change, score_change_ci95=(lo, hi))


def _decide(
    g: GroupComparison, gate: GateConfig, planned: int, outcomes: list[Outcome]
) -> GroupComparison:
    """Apply the gate rules in order: error, fail, inconclusive, pass (docs/gating.md)."""
    note = (f"model changed: {g.model_change}",) if g.model_change else ()
    if g.base is None:
        return replace(g, verdict="pass", reasons=("new prompt x target: no baseline",))
    if g.head is None:
        return replace(g, verdict="pass", reasons=("removed from the head",))
    for side, stats in (("base", g.base), ("head", g.head)):
        if stats.error_rate > gate.max_error_rate:
            return replace(
                g,
                verdict="error",
                reasons=(
                    *note,
                    f"{stats.errors} of {stats.cases - stats.skipped} cases errored on the "
                    f"{side} ({stats.error_rate:.0%} > max_error_rate {gate.max_error_rate:.0%})",
                ),
            )
    need, why = _needed(g, gate, planned, outcomes)
    g = replace(g, required_tests=need)
    failures = _failures(g, gate)
    if failures:
        return replace(g, verdict="fail", reasons=(*note, *failures, *_error_note(g)))
    cost = (_cost_within_chance(g, gate),) if _cost_over(g, gate) else ()
    if g.paired_tests == 0:
        return replace(
            g,
            verdict="inconclusive",
            reasons=(*note, "no test has results on both sides", *cost),
        )
    if why is not None or cost:
        whys = (why,) if why is not None else ()
        return replace(g, verdict="inconclusive", reasons=(*note, *whys, *cost, *_error_note(g)))
    return replace(g, verdict="pass", reasons=(*note, *_error_note(g)))


def _cost_over(g: GroupComparison, gate: GateConfig) -> bool:
    limit = gate.max_cost_increase_pct
    return limit is not None and g.cost_change_pct is not None and g.cost_change_pct > limit


def _cost_confirmed(g: GroupComparison, gate: GateConfig) -> bool:
    """A cost rise over the limit fails the gate when chance cannot explain it: every
    compared test rose by more than the limit, or the sign-flip test of the tests' cost
    changes is significant at alpha (answers of varying length make cost noisy)."""
    if g.cost_p_value is None or g.cost_uniform:
        return True
    return g.cost_p_adjusted is not None and g.cost_p_adjusted <= gate.alpha


def _cost_evidence(g: GroupComparison, gate: GateConfig) -> str:
    if g.cost_p_value is None or g.cost_uniform:  # a uniform rise speaks for itself
        return ""
    return (
        f"; p={g.cost_p_value:.2g}, Holm-adjusted p={g.cost_p_adjusted or 1.0:.2g} <= alpha "
        f"{gate.alpha:g} over {g.cost_tests} tests"
    )


def _holm_note(g: GroupComparison) -> str:
    p = g.cost_p_adjusted
    return f", Holm-adjusted p={p:.2g}" if p is not None and p != g.cost_p_value else ""


def _cost_within_chance(g: GroupComparison, gate: GateConfig) -> str:
    return (
        f"cost per case up {g.cost_change_pct:.1f}% (> {gate.max_cost_increase_pct:g}%), but "
        f"within what chance gives: {g.cost_tests} test(s) compared, not all rose by more, "
        f"p={g.cost_p_value:.2g}{_holm_note(g)} > alpha {gate.alpha:g}; more tests or "
        "--repeat 3 would settle it"
    )


def _error_note(g: GroupComparison) -> tuple[str, ...]:
    out = []
    if g.errors_counted:
        out.append(f"{g.errors_counted} paired test(s) had errored runs, counted as failures")
    if g.set_aside:
        out.append(f"{g.set_aside} test(s) set aside: every run on both sides errored")
    return tuple(out)


def _needed(
    g: GroupComparison, gate: GateConfig, planned: int, outcomes: list[Outcome]
) -> tuple[int | None, str | None]:
    """Tests needed to detect min_detectable_drop, and why the group is short, if it is
    (`outcomes`: the group's paired ones)."""
    if not g.paired_tests:
        return None, None
    repeats = _repeats(outcomes)
    effect = gate.min_detectable_drop
    need = required_tests(outcomes, effect, gate.alpha, family=planned, repeats=repeats)
    if g.paired_tests >= need:
        return need, None
    margin = gate.max_pass_rate_drop
    beyond = f" beyond max_pass_rate_drop {margin:.0%}" if margin else ""
    text = (
        f"{g.paired_tests} paired tests cannot detect a {effect:.0%} pass-rate drop{beyond} "
        f"(alpha={gate.alpha:g}, {planned} group(s) in the family): needs >= {need} tests "
        f"at {repeats} repeat(s)"
    )
    if repeats < 3:
        at3 = required_tests(outcomes, effect, gate.alpha, family=planned, repeats=3)
        text += f", or >= {at3} tests with --repeat 3"
    return need, text


def _failures(g: GroupComparison, gate: GateConfig) -> list[str]:
    out: list[str] = []
    drop = -(g.pass_rate_change or 0.0)
    alpha = gate.alpha
    if g.p_adjusted is not None and g.p_adjusted <= alpha:
        out.append(
            f"pass rate dropped {drop:.1%} ({g.worse} tests worse, {g.better} better; "
            f"exact one-sided p={g.p_value:.2g}, Holm-adjusted p={g.p_adjusted:.2g} <= {alpha:g})"
        )
    if g.margin_p_adjusted is not None and g.margin_p_adjusted <= alpha:
        out.append(
            f"pass rate dropped {drop:.1%}, significantly more than max_pass_rate_drop "
            f"{gate.max_pass_rate_drop:.1%} ({g.worse} tests worse, {g.better} better; "
            f"p={g.margin_p_value:.2g}, Holm-adjusted p={g.margin_p_adjusted:.2g} <= {alpha:g})"
        )
    if g.hard_p_adjusted is not None and g.hard_p_adjusted <= alpha:
        names = ", ".join(t.test for t in g.tests if _hard(t))[:300]
        out.append(
            f"{g.hard_flips} test(s) always passed and now always fail: {names} "
            f"({g.hard_flips} of the {g.hard_candidates} tests whose runs allow it by chance; "
            f"p={g.hard_p_value:.2g}, Holm-adjusted p={g.hard_p_adjusted:.2g} <= {alpha:g})"
        )
    out.extend(_policies(g, gate))
    return out


def _hard(t: TestDiff) -> bool:
    o = outcome(t)
    return o is not None and is_hard_flip(o)


def _policies(g: GroupComparison, gate: GateConfig) -> list[str]:
    """Rules with no chance component, or ones a team opts into knowingly."""
    out: list[str] = []
    new_failing = [t for t in g.tests if t.status == "new" and t.head_rate == 0.0]
    if gate.fail_on_new_failures and new_failing:
        names = ", ".join(t.test for t in new_failing[:5])
        out.append(f"{len(new_failing)} new test(s) fail on every run: {names}")
    if gate.flaky_fails:
        worse_flaky = [
            t.test
            for t in g.tests
            if t.status == "flaky" and (t.head_rate or 0.0) < (t.base_rate or 0.0)
        ]
        if worse_flaky:
            out.append(f"{len(worse_flaky)} flaky test(s) got worse (flaky_fails is on)")
    if _cost_over(g, gate) and _cost_confirmed(g, gate):
        out.append(
            f"cost per case up {g.cost_change_pct:.1f}% (> {gate.max_cost_increase_pct:g}%)"
            f"{_cost_evidence(g, gate)}"
        )
    limit = gate.max_p95_latency_increase_pct
    lat = g.latency_p95_change_pct
    if limit is not None and lat is not None and lat > limit:
        out.append(f"p95 latency up {lat:.1f}% (> {limit:g}%)")
    return out


_RANK: dict[Verdict, int] = {"fail": 3, "error": 2, "inconclusive": 1, "pass": 0}


def _overall(groups: list[GroupComparison]) -> tuple[Verdict, tuple[str, ...]]:
    if not groups:
        return "inconclusive", ("no cases to compare",)
    verdict = max((g.verdict for g in groups), key=lambda v: _RANK[v])
    reasons = tuple(
        f"{g.prompt} ({g.target}): {r}" for g in groups if g.verdict == verdict for r in g.reasons
    )
    return verdict, reasons
