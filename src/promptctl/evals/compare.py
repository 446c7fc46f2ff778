"""Compare a base and a head results document and apply the gate.

Cases are grouped by (prompt, target) and, inside, by test across repeats. The unit of
the paired test is the test: its pass rate on the base and on the head. Method,
thresholds and a worked example: docs/gating.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from promptctl.errors import ConfigError
from promptctl.evals.comparison import Comparison, GroupComparison, Verdict
from promptctl.evals.side_stats import answered, mean_score, side_stats, unpriced_targets
from promptctl.evals.stats import holm, mcnemar_exact, mcnemar_sample_size
from promptctl.evals.stats import paired_bootstrap_mean_diff as bootstrap
from promptctl.evals.test_diff import classify_test
from promptctl.promptfile.model import GateConfig

__all__ = ["check_gate", "compare"]

Case = Mapping[str, Any]
_Tests = dict[str, list[Case]]
_PAIRED = {"passing", "fixed", "regressed", "still_failing", "flaky"}


def compare(
    base_doc: Mapping[str, Any], head_doc: Mapping[str, Any], gate: GateConfig
) -> Comparison:
    """Compare two results documents; the verdict is the worst group's, fail first."""
    check_gate(gate)
    base = _group_cases(base_doc.get("cases", ()))
    head = _group_cases(head_doc.get("cases", ()))
    keys = list(head) + [k for k in base if k not in head]
    groups = [_measure(k, base.get(k), head.get(k), gate) for k in keys]
    tested = [i for i, g in enumerate(groups) if g.p_value is not None]
    adjusted = holm([groups[i].p_value or 1.0 for i in tested])
    for i, p_adj in zip(tested, adjusted, strict=True):
        groups[i] = replace(groups[i], p_adjusted=p_adj)
    groups = [_decide(g, gate) for g in groups]
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


def _group_cases(cases: Iterable[Case]) -> dict[tuple[str, str], _Tests]:
    out: dict[tuple[str, str], _Tests] = {}
    for case in cases:
        tests = out.setdefault((str(case["prompt"]), str(case["target"])), {})
        tests.setdefault(str(case["test"]), []).append(case)
    return out


def _measure(
    key: tuple[str, str], base: _Tests | None, head: _Tests | None, gate: GateConfig
) -> GroupComparison:
    """Everything but the verdict: per-test diffs, side stats, the paired test."""
    base, head = base or {}, head or {}
    names = list(base) + [t for t in head if t not in base]
    tests = tuple(classify_test(t, base.get(t), head.get(t)) for t in names)
    paired = [t for t in tests if t.status in _PAIRED]
    group = GroupComparison(
        prompt=key[0],
        target=key[1],
        base=side_stats([c for cs in base.values() for c in cs]) if base else None,
        head=side_stats([c for cs in head.values() for c in cs]) if head else None,
        verdict="pass",
        reasons=(),
        tests=tests,
        paired_tests=len(paired),
    )
    if not paired:
        return _with_cost_latency(group, base, head, gate)
    diffs = [(t.head_rate or 0.0) - (t.base_rate or 0.0) for t in paired]
    worse = sum(1 for d in diffs if d < 0)
    better = sum(1 for d in diffs if d > 0)
    effect = gate.max_pass_rate_drop if gate.max_pass_rate_drop > 0 else gate.min_detectable_drop
    group = replace(
        group,
        worse=worse,
        better=better,
        pass_rate_change=sum(diffs) / len(diffs),
        p_value=mcnemar_exact(worse, better),
        required_tests=mcnemar_sample_size(
            min(1.0, effect), gate.alpha, discordant=(worse + better) / len(paired)
        ),
    )
    group = _with_scores(group, base, head, [t.test for t in paired], gate)
    return _with_cost_latency(group, base, head, gate)


def _with_scores(
    group: GroupComparison, base: _Tests, head: _Tests, names: list[str], gate: GateConfig
) -> GroupComparison:
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


def _with_cost_latency(
    group: GroupComparison, base: _Tests, head: _Tests, gate: GateConfig
) -> GroupComparison:
    """Changes measured on the tests both sides ran, so adding a costly test is no regression."""
    if not base or not head:
        return group
    common = [t for t in base if t in head]
    if not common:
        return group
    b = side_stats([c for t in common for c in base[t]])
    h = side_stats([c for t in common for c in head[t]])
    cost_change, why = _cost_change(base, head, common)
    note = None
    if why is not None:
        verb = "cost not compared" if gate.max_cost_increase_pct is None else "cost gate skipped"
        note = why if cost_change is not None else f"{verb}: {why}"
    return replace(
        group,
        cost_change_pct=cost_change,
        cost_note=note,
        latency_p95_change_pct=_pct(b.latency_p95_ms, h.latency_p95_ms),
    )


def _cost_change(base: _Tests, head: _Tests, common: list[str]) -> tuple[float | None, str | None]:
    """Cost per case change over the common tests, with a note when prices are missing.

    A side with no known cost at all makes the change unknown. With some unpriced answers,
    the change is taken over the tests whose answers are all priced on both sides.
    """
    sides = {
        "base": [c for t in common for c in base[t]],
        "head": [c for t in common for c in head[t]],
    }
    stats = {name: side_stats(cases) for name, cases in sides.items()}
    blind = [n for n, s in stats.items() if s.cost_per_case is None and s.cost_unknown_cases]
    if blind:
        who = ", ".join(dict.fromkeys(x for n in blind for x in unpriced_targets(sides[n])))
        return None, f"cost unknown on {' and '.join(blind)}: no price for {who}"
    if not any(s.cost_unknown_cases for s in stats.values()):
        return _pct(stats["base"].cost_per_case, stats["head"].cost_per_case), None
    priced = [t for t in common if _all_priced(base[t]) and _all_priced(head[t])]
    left_out = ", ".join(f"{n} {s.cost_unknown_cases}" for n, s in stats.items())
    if not priced:
        return None, f"no test is priced on both sides (unpriced answers: {left_out})"
    b = side_stats([c for t in priced for c in base[t]])
    h = side_stats([c for t in priced for c in head[t]])
    change = _pct(b.cost_per_case, h.cost_per_case)
    return change, (
        f"cost per case compared over the {len(priced)} of {len(common)} tests priced on both "
        f"sides (unpriced answers: {left_out})"
    )


def _all_priced(cases: list[Case]) -> bool:
    done = answered(cases)
    return bool(done) and all(c.get("cost_usd") is not None for c in done)


def _pct(base: float | None, head: float | None) -> float | None:
    if base is None or head is None or base <= 0:
        return None
    return (head - base) / base * 100


def _decide(g: GroupComparison, gate: GateConfig) -> GroupComparison:
    """Apply the gate rules in order: error, fail, inconclusive, pass (docs/gating.md)."""
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
                    f"{stats.errors} of {stats.cases - stats.skipped} cases errored on the "
                    f"{side} ({stats.error_rate:.0%} > max_error_rate {gate.max_error_rate:.0%})",
                ),
            )
    failures = _failures(g, gate)
    if failures:
        return replace(g, verdict="fail", reasons=tuple(failures))
    if g.paired_tests == 0:
        return replace(g, verdict="inconclusive", reasons=("no test has results on both sides",))
    if g.required_tests is not None and g.paired_tests < g.required_tests and not _stable(g):
        effect = gate.max_pass_rate_drop or gate.min_detectable_drop
        runs = max((t.head_runs for t in g.tests), default=1)
        return replace(
            g,
            verdict="inconclusive",
            reasons=(
                f"{g.paired_tests} paired tests cannot detect a {effect:.0%} pass-rate drop "
                f"at alpha={gate.alpha:g}: needs >= {g.required_tests} tests "
                f"({g.required_tests * runs} cases at {runs} repeat(s))"
                + ("" if runs >= 2 else ", or --repeat 2+ to show outputs are stable"),
            ),
        )
    return replace(g, verdict="pass", reasons=())


def _stable(g: GroupComparison) -> bool:
    """Repeats agree everywhere: outputs are evidently deterministic, any flip is real."""
    paired = [t for t in g.tests if t.status in _PAIRED]
    return (
        bool(paired)
        and all(t.status != "flaky" for t in paired)
        and all(t.base_runs >= 2 and t.head_runs >= 2 for t in paired)
    )


def _failures(g: GroupComparison, gate: GateConfig) -> list[str]:
    out: list[str] = []
    drop = -(g.pass_rate_change or 0.0)
    if (
        g.p_adjusted is not None
        and g.p_adjusted <= gate.alpha
        and g.worse > g.better
        and drop > gate.max_pass_rate_drop
    ):
        out.append(
            f"pass rate dropped {drop:.1%} ({g.worse} tests worse, {g.better} better; "
            f"sign test p={g.p_value:.2g}, Holm-adjusted p={g.p_adjusted:.2g} <= {gate.alpha:g})"
        )
    out.extend(_hard_regressions(g, gate))
    if gate.flaky_fails:
        worse_flaky = [
            t.test
            for t in g.tests
            if t.status == "flaky" and (t.head_rate or 0.0) < (t.base_rate or 0.0)
        ]
        if worse_flaky:
            out.append(f"{len(worse_flaky)} flaky test(s) got worse (flaky_fails is on)")
    limit = gate.max_cost_increase_pct
    if limit is not None and g.cost_change_pct is not None and g.cost_change_pct > limit:
        out.append(f"cost per case up {g.cost_change_pct:.1f}% (> {limit:g}%)")
    limit = gate.max_p95_latency_increase_pct
    lat = g.latency_p95_change_pct
    if limit is not None and lat is not None and lat > limit:
        out.append(f"p95 latency up {lat:.1f}% (> {limit:g}%)")
    return out


# A group where more than this share of the paired tests is flaky is noisy: there a test
# going 3/3 -> 0/3 happens by chance (p = 0.5 gives 1/64 per test), so the flip is left
# to the sign test. Below it, outputs are evidently stable and one such flip is a real
# regression, even next to the odd flaky test.
NOISY_GROUP_SHARE = 0.05


def _flaky_share(g: GroupComparison) -> float:
    paired = [t for t in g.tests if t.status in _PAIRED]
    return sum(t.status == "flaky" for t in paired) / len(paired) if paired else 0.0


def _hard_regressions(g: GroupComparison, gate: GateConfig) -> list[str]:
    if not gate.fail_on_new_failures:
        return []
    regressed = [t for t in g.tests if t.status == "regressed"]
    repeated = [t for t in regressed if t.base_runs >= 2 and t.head_runs >= 2]
    single = [t for t in regressed if t.base_runs == 1 and t.head_runs == 1]
    out: list[str] = []
    if repeated and _flaky_share(g) <= NOISY_GROUP_SHARE:
        names = ", ".join(t.test for t in repeated[:5])
        out.append(f"{len(repeated)} test(s) always passed and now always fail: {names}")
    new_failing = [t for t in g.tests if t.status == "new" and t.head_rate == 0.0]
    if new_failing:
        names = ", ".join(t.test for t in new_failing[:5])
        out.append(f"{len(new_failing)} new test(s) fail on every run: {names}")
    if single and g.paired_tests and len(single) / g.paired_tests > gate.max_pass_rate_drop:
        names = ", ".join(t.test for t in single[:5])
        out.append(
            f"{len(single)} of {g.paired_tests} tests went pass -> fail "
            f"({len(single) / g.paired_tests:.1%} > max_pass_rate_drop "
            f"{gate.max_pass_rate_drop:.1%}): {names}"
        )
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
