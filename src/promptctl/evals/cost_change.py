"""Cost and latency changes of one prompt x target, measured on the tests both sides ran.

Adding an expensive test is no cost regression, so only common tests count; cost per
case follows `aggregate.cost_figures` (answered cases with a known price).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from promptctl.evals.comparison import GroupComparison, SideStats
from promptctl.evals.side_stats import answered, side_stats, unpriced_targets
from promptctl.evals.stats import sign_flip_p
from promptctl.promptfile.model import GateConfig

__all__ = ["with_cost_latency"]

Case = Mapping[str, Any]
_Tests = dict[str, list[Case]]


def with_cost_latency(
    group: GroupComparison, base: _Tests, head: _Tests, gate: GateConfig
) -> GroupComparison:
    """Changes measured on the tests both sides ran, so adding a costly test is no regression."""
    if not base or not head:
        return group
    common = [t for t in base if t in head]
    if not common:
        return group
    sides = {
        "base": _over(base, common, group.base),
        "head": _over(head, common, group.head),
    }
    cost_change, why, priced = _cost_change(base, head, common, sides)
    note = None
    if why is not None:
        verb = "cost not compared" if gate.max_cost_increase_pct is None else "cost gate skipped"
        note = why if cost_change is not None else f"{verb}: {why}"
    p_value, tests, uniform = _evidence(base, head, priced, gate.max_cost_increase_pct)
    return replace(
        group,
        cost_change_pct=cost_change,
        cost_note=note,
        cost_p_value=p_value if cost_change is not None else None,
        cost_tests=tests,
        cost_uniform=uniform,
        latency_p95_change_pct=_pct(
            sides["base"][1].latency_p95_ms, sides["head"][1].latency_p95_ms
        ),
    )


def _over(
    tests: _Tests, common: list[str], whole: SideStats | None
) -> tuple[list[Case], SideStats]:
    """One side's cases of the common tests and their stats; the side's own stats when
    the common tests are all of its tests, in its order (the usual case: no recount)."""
    cases = [c for t in common for c in tests[t]]
    if whole is not None and len(common) == len(tests) and list(tests) == common:
        return cases, whole
    return cases, side_stats(cases)


def _cost_change(
    base: _Tests,
    head: _Tests,
    common: list[str],
    sides: dict[str, tuple[list[Case], SideStats]],
) -> tuple[float | None, str | None, list[str]]:
    """Cost per case change over the common tests, with a note when prices are missing,
    and the tests it was measured on.

    A side with no known cost at all makes the change unknown. With some unpriced answers,
    the change is taken over the tests whose answers are all priced on both sides.
    """
    stats = {name: s for name, (_, s) in sides.items()}
    blind = [n for n, s in stats.items() if s.cost_per_case is None and s.cost_unknown_cases]
    if blind:
        who = ", ".join(dict.fromkeys(x for n in blind for x in unpriced_targets(sides[n][0])))
        return None, f"cost unknown on {' and '.join(blind)}: no price for {who}", []
    if not any(s.cost_unknown_cases for s in stats.values()):
        return _pct(stats["base"].cost_per_case, stats["head"].cost_per_case), None, common
    priced = [t for t in common if _all_priced(base[t]) and _all_priced(head[t])]
    left_out = ", ".join(f"{n} {s.cost_unknown_cases}" for n, s in stats.items())
    if not priced:
        return None, f"no test is priced on both sides (unpriced answers: {left_out})", []
    b = side_stats([c for t in priced for c in base[t]])
    h = side_stats([c for t in priced for c in head[t]])
    change = _pct(b.cost_per_case, h.cost_per_case)
    return (
        change,
        f"cost per case compared over the {len(priced)} of {len(common)} tests priced on both "
        f"sides (unpriced answers: {left_out})",
        priced,
    )


def _evidence(
    base: _Tests, head: _Tests, tests: list[str], limit_pct: float | None
) -> tuple[float | None, int, bool]:
    """Whether a cost rise is beyond chance: the sign-flip p-value of the tests' mean
    cost changes (head - base; the two sides of one test are exchangeable when nothing
    changed), how many tests were compared, and whether every one rose by more than the
    limit (a rise too uniform for chance however few the tests: a pricier model, a
    longer prompt)."""
    pairs = []
    for t in tests:
        b = _costs(base[t])
        h = _costs(head[t])
        if b and h:
            pairs.append((sum(b) / len(b), sum(h) / len(h)))
    if not pairs:
        return None, 0, False
    p_value = sign_flip_p([h - b for b, h in pairs])
    factor = 1 + (limit_pct or 0.0) / 100
    return p_value, len(pairs), all(h > b * factor for b, h in pairs)


def _costs(cases: list[Case]) -> list[float]:
    return [float(c["cost_usd"]) for c in answered(cases) if c.get("cost_usd") is not None]


def _all_priced(cases: list[Case]) -> bool:
    done = answered(cases)
    return bool(done) and all(c.get("cost_usd") is not None for c in done)


def _pct(base: float | None, head: float | None) -> float | None:
    if base is None or head is None or base <= 0:
        return None
    return (head - base) / base * 100
