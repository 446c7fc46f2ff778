"""Renderings of a `promptctl compare` result: rows, markdown and JSON."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from promptctl.evals.target_compare import Comparison, TargetStats
from promptctl.report.money import format_usd

__all__ = ["COLUMNS", "recommendation_lines", "rows", "to_json", "to_markdown"]

COLUMNS = ("target", "pass rate", "95% CI", "cost/case", "p50", "p95", "vs primary")


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def _verdict(s: TargetStats, primary: str) -> str:
    if s.test is None:
        return "(primary)" if s.target == primary else "-"
    t = s.test
    if t.pairs == 0:
        return "no paired tests"
    bound = f"lower bound {t.lower:+.3f}" if t.verdict != "inferior" else f"upper {t.upper:+.3f}"
    return f"{t.verdict} (diff {t.delta:+.3f}, {bound}; {t.pairs} tests)"


def rows(c: Comparison) -> list[list[str]]:
    out = []
    for s in c.targets:
        n = s.passed + s.failed
        rate = "-" if s.pass_rate is None else f"{s.passed}/{n} {s.pass_rate:.0%}"
        if s.errors:
            rate += f" (+{s.errors} errors)"
        ci = "-" if s.interval is None else f"{s.interval[0]:.0%}-{s.interval[1]:.0%}"
        out.append(
            [
                s.target,
                rate,
                ci,
                format_usd(s.cost_per_case),
                _ms(s.p50_ms),
                _ms(s.p95_ms),
                _verdict(s, c.primary),
            ]
        )
    return out


def recommendation_lines(c: Comparison) -> list[str]:
    head = f"recommended: {c.recommended}" if c.recommended else "recommended: keep " + c.primary
    lines = [f"{head} ({c.reason})"]
    if c.saving is not None:
        s = c.saving
        if s.calls:
            lines.append(
                f"monthly saving at the last 30 days' runtime traffic ({s.calls:,} calls, "
                f"{format_usd(s.spend_usd)}): about {format_usd(s.saving_usd)}"
            )
        else:
            lines.append(
                "monthly saving: no runtime calls of this prompt in the ledger's last 30 days"
            )
    return lines


def to_markdown(c: Comparison) -> str:
    out = [
        f"### `promptctl compare {c.prompt}`",
        "",
        f"Primary `{c.primary}`, non-inferiority margin {c.margin:g}, alpha {c.alpha:g}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    out += ["| " + " | ".join(r) + " |" for r in rows(c)]
    out += [
        "",
        *(f"**{line}**" if i == 0 else line for i, line in enumerate(recommendation_lines(c))),
    ]
    return "\n".join(out) + "\n"


def to_json(c: Comparison) -> str:
    doc: dict[str, Any] = {"schema": "promptctl/compare@1", **asdict(c)}
    return json.dumps(doc, indent=2)
