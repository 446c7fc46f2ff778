"""Render a Comparison as markdown for a pull-request comment, or as JSON.

The markdown opens with a one-line verdict (what a reviewer reads in the PR timeline),
then the figures per prompt x target, the regressed tests with expected vs actual
excerpts, what changed in the prompts, and the rest collapsed in <details>. It always
stays under GitHub's comment limit (65,536 characters): whole blocks are dropped from
the end and a note says so. The hidden marker lets `report.github` find and update the
same comment on the next push.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from promptctl.evals.comparison import (
    Comparison,
    GroupComparison,
    PromptChange,
    SideStats,
    TestDiff,
    comparison_to_dict,
)
from promptctl.report.money import format_usd

__all__ = [
    "MARKER",
    "MAX_MARKDOWN_CHARS",
    "cost_cell",
    "group_statistics",
    "render_json",
    "render_markdown",
    "sources_line",
    "verdict_line",
]

MARKER = "<!-- promptctl:report -->"
MAX_MARKDOWN_CHARS = 60_000


def render_json(comparison: Comparison) -> str:
    return json.dumps(comparison_to_dict(comparison), indent=2, ensure_ascii=False) + "\n"


def verdict_line(c: Comparison) -> str:
    """The one line that summarises the gate (also the PR comment's first line)."""
    if not c.groups:
        return "⚠️ promptctl: nothing to compare: neither side has results"
    bad = [g for g in c.groups if g.verdict == c.verdict]
    where = (
        f"{bad[0].prompt} ({bad[0].target})" if len(bad) == 1 else f"{len(bad)} prompt x targets"
    )
    if c.verdict == "pass":
        return "✅ promptctl: no regressions"
    if c.verdict == "fail":
        # hard regressions that the gate found significant (not every 1 -> 0 flip: noise)
        regressed = sum(
            g.hard_flips
            for g in bad
            if g.hard_p_adjusted is not None and g.hard_p_adjusted <= c.gate.alpha
        )
        if regressed:
            plural = "s" if regressed != 1 else ""
            return f"❌ promptctl: {regressed} regression{plural} in {where}"
        first = bad[0].reasons[0] if bad and bad[0].reasons else ""
        short = first if len(first) <= 90 else first[:89] + "…"
        return f"❌ promptctl: gate failed in {where}" + (f": {short}" if short else "")
    if c.verdict == "error":
        return f"🛑 promptctl: too many errors to judge {where}"
    if all(_pass_rate_conclusive(g) for g in bad):  # the cost rule made them inconclusive
        return f"⚠️ promptctl: inconclusive in {where}: cost per case rose, within what chance gives"
    return f"⚠️ promptctl: inconclusive in {where}: too few cases to detect a regression"


def _pass_rate_conclusive(g: GroupComparison) -> bool:
    need = g.required_tests
    return bool(g.paired_tests) and (need is None or g.paired_tests >= need)


def render_markdown(c: Comparison, *, limit: int = MAX_MARKDOWN_CHARS) -> str:
    """PR-comment markdown, at most `limit` characters."""
    head = "\n".join(
        [verdict_line(c), "", MARKER, "", *_reasons(c), *_sources(c), _table(c), *_notes(c), ""]
    )
    blocks = [*_regressions(c), *_changes(c.prompt_changes), *_details(c), _method(c)]
    out = head
    for i, block in enumerate(blocks):
        note = (
            f"\n_… report truncated: {len(blocks) - i} more section(s) omitted; "
            "see --format json._\n"
        )
        if len(out) + len(block) + len(note) > limit:
            return out + note
        out += block
    return out


def _reasons(c: Comparison) -> list[str]:
    if not c.reasons:
        return []
    return [*(f"- {_cell(r)}" for r in c.reasons[:10]), ""]


def sources_line(c: Comparison) -> str | None:
    """ "base: … · head: …" when the sides say where they came from (diff/ci set it)."""
    base, head = c.base_run.get("source"), c.head_run.get("source")
    if not base and not head:
        return None
    return f"base: {base or '?'} · head: {head or '?'}"


def _sources(c: Comparison) -> list[str]:
    line = sources_line(c)
    return [f"<sub>{_cell(line)}</sub>", ""] if line else []


def _table(c: Comparison) -> str:
    rows = [
        "| prompt | target | verdict | pass rate | score | cost / case | total cost | p50 | p95 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for g in c.groups:
        cells = " | ".join(
            [
                _pair(g, "pass_rate", _pct),
                _pair(g, "mean_score", _num),
                *(f"{cost_cell(g.base, a)} → {cost_cell(g.head, a)}" for a in _COSTS),
                _pair(g, "latency_p50_ms", _ms),
                _pair(g, "latency_p95_ms", _ms),
            ]
        )
        target = _cell(g.model_change or g.target)
        rows.append(f"| {_cell(g.prompt)} | {target} | {_icon(g.verdict)} {g.verdict} | {cells} |")
    return "\n".join(rows) + "\n"


def cost_cell(stats: SideStats | None, attr: str) -> str:
    """A side's cost figure: "unknown" when no answer was priced, the unpriced count if some."""
    value = getattr(stats, attr) if stats is not None else None
    unpriced = stats.cost_unknown_cases if stats is not None else 0
    if value is None:
        return "unknown" if unpriced else "—"
    return format_usd(value) + (f" ({unpriced} unpriced)" if unpriced else "")


def _notes(c: Comparison) -> list[str]:
    notes = [
        f"- {_cell(g.prompt)} ({_cell(g.target)}): {_cell(g.cost_note)}"
        for g in c.groups
        if g.cost_note
    ]
    return [*notes, ""] if notes else []


_COSTS = ("cost_per_case", "total_cost")


def _regressions(c: Comparison) -> list[str]:
    out: list[str] = []
    for g in c.groups:
        for t in g.tests:
            if t.status == "regressed" or (
                t.status == "flaky" and (t.head_rate or 0.0) < (t.base_rate or 0.0)
            ):
                out.append(_regression(g, t))
    if out:
        out.insert(0, f"\n### Regressed tests ({len(out)})\n")
    return out


def _regression(g: GroupComparison, t: TestDiff) -> str:
    lines = [
        f"\n**{_cell(t.test)}** — {_cell(g.prompt)} ({_cell(g.target)}): "
        f"passed {_rate(t.base_rate, t.base_runs)} on base, {_rate(t.head_rate, t.head_runs)} "
        f"on head{' (flaky)' if t.status == 'flaky' else ''}\n"
    ]
    lines += [f"- {_cell(r)}" for r in t.reasons]
    if t.base_output is not None:
        lines.append(f"\nexpected (base output):\n{_fence(t.base_output)}")
    if t.head_output is not None:
        lines.append(f"\nactual (head output):\n{_fence(t.head_output)}")
    return "\n".join(lines) + "\n"


def _changes(changes: tuple[PromptChange, ...]) -> list[str]:
    shown = [p for p in changes if p.status != "unchanged"]
    if not shown:
        return []
    out = ["\n### What changed in the prompts\n"]
    for p in shown:
        version = f"{p.base_version or '—'} → {p.head_version or '—'}"
        lines = [f"\n**{_cell(p.prompt)}** {p.status} ({version})\n"]
        lines += [f"- `{_code(line)}`" for line in p.changes]
        lines += [f"- test added: {_cell(t)}" for t in p.tests_added]
        lines += [f"- test removed: {_cell(t)}" for t in p.tests_removed]
        for label, diff in p.template_diffs:
            summary = f"<summary>{_cell(label)}</summary>"
            lines.append(f"\n<details>{summary}\n\n{_fence(diff, 'diff')}\n</details>")
        out.append("\n".join(lines) + "\n")
    return out


def _details(c: Comparison) -> list[str]:
    out: list[str] = []
    for g in c.groups:
        rows = [t for t in g.tests if t.status != "passing"]
        stats = group_statistics(g) + (_ci(g) if g.score_change_ci95 else "")
        table = [
            f"\n<details><summary>{_cell(g.prompt)} ({_cell(g.target)}): "
            f"{len(rows)} changed / flaky / failing tests</summary>\n",
            f"{stats}\n"
            + ("".join(f"\n- {_cell(r)}" for r in g.reasons) + "\n" if g.reasons else ""),
        ]
        if rows:
            table += ["| test | status | base | head |", "|---|---|---|---|"]
            table += [
                f"| {_cell(t.test)} | {t.status} | {_rate(t.base_rate, t.base_runs)} "
                f"| {_rate(t.head_rate, t.head_runs)} |"
                for t in rows
            ]
        out.append("\n".join(table) + "\n\n</details>\n")
    return out


def group_statistics(g: GroupComparison) -> str:
    """The paired tests of one group in a line: counts, p-values, Holm-adjusted ones."""
    parts = [f"paired tests {g.paired_tests}: {g.worse} worse, {g.better} better"]
    if g.p_value is not None:
        parts.append(f"exact one-sided p={g.p_value:.3g}" + _holm(g.p_adjusted))
    if g.hard_p_value is not None:
        parts.append(
            f"hard flips {g.hard_flips} of {g.hard_candidates} possible, "
            f"p={g.hard_p_value:.3g}" + _holm(g.hard_p_adjusted)
        )
    if g.margin_p_value is not None:
        parts.append(
            f"drop beyond the margin p={g.margin_p_value:.3g}" + _holm(g.margin_p_adjusted)
        )
    if g.errors_counted or g.set_aside:
        parts.append(f"{g.errors_counted} with errors counted as failures, {g.set_aside} set aside")
    return "; ".join(parts)


def _holm(p: float | None) -> str:
    return f", Holm p={p:.3g}" if p is not None else " (cannot reach alpha: not in the family)"


def _method(c: Comparison) -> str:
    gate = c.gate
    return (
        "\n<sub>Gate: exact one-sided conditional tests per prompt x target (pass rate, "
        "hard flips, margin), one Holm family over all of them, "
        f"alpha={gate.alpha:g}; max pass-rate drop {gate.max_pass_rate_drop:.0%}; "
        f"max cost increase {_limit(gate.max_cost_increase_pct)}; "
        f"max p95 latency increase {_limit(gate.max_p95_latency_increase_pct)}. "
        "See docs/gating.md.</sub>\n"
    )


def _ci(g: GroupComparison) -> str:
    if g.score_change_ci95 is None or g.score_change is None:
        return ""
    lo, hi = g.score_change_ci95
    return f"; score change {g.score_change:+.3f} (95% CI {lo:+.3f} to {hi:+.3f})"


def _limit(value: float | None) -> str:
    return "off" if value is None else f"{value:g}%"


def _icon(verdict: str) -> str:
    return {"pass": "✅", "fail": "❌", "error": "🛑"}.get(verdict, "⚠️")


def _pair(g: GroupComparison, attr: str, fmt: Callable[[float | None], str]) -> str:
    base = getattr(g.base, attr) if g.base is not None else None
    head = getattr(g.head, attr) if g.head is not None else None
    return f"{fmt(base)} → {fmt(head)}"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.0f} ms"


def _rate(rate: float | None, runs: int) -> str:
    if rate is None:
        return "—"
    return f"{round(rate * runs)}/{runs}"


def _cell(text: str) -> str:
    """Safe inside a table cell or a line: no pipes, newlines or raw HTML."""
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    return text.replace("`", "'")


def _fence(text: str, lang: str = "text") -> str:
    """A code block `text` cannot close: its fence is longer than any backtick run in it
    (a model output holding ```` must not end the block and write the comment itself)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"
