"""The terminal summary of a results document: a table per prompt x target, then failures.

Works on the plain document (as written or read back), so `promptctl test` and any later
reader print the same thing. rich is imported inside the functions that need it, keeping
`import promptctl.report.summary` cheap; `render_plain` is the no-rich fallback used for
`--quiet` and when stdout is not a terminal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from promptctl.evals.case_facts import (
    DEFAULT_MAX_PROBLEMS,
    DEFAULT_OUTPUT_CHARS,
    CaseFacts,
    Problem,
    case_facts,
    problem,
)
from promptctl.report.money import format_usd

if TYPE_CHECKING:
    from rich.console import RenderableType

__all__ = [
    "Problem",
    "interval_text",
    "notes",
    "problems",
    "render_markdown",
    "render_plain",
    "summary_renderables",
    "summary_rows",
]

HEADERS = (
    "prompt",
    "target",
    "pass rate",
    "score",
    "tokens in/out",
    "cost",
    "p50",
    "p95",
    "errors",
)


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def interval_text(s: Mapping[str, Any]) -> str:
    """The pass rate's 95% interval as `[lo%–hi%]`, or "" when the row has none."""
    ci = s.get("pass_rate_ci95")
    return f"[{_pct(ci[0])}–{_pct(ci[1])}]" if ci and s.get("pass_rate") is not None else ""


def _pass_rate(s: Mapping[str, Any], *, interval: bool = True) -> str:
    rate = s.get("pass_rate")
    if rate is None:
        return "–"
    text = f"{_pct(rate)} ({s['passed']}/{s['passed'] + s['failed']})"
    ci = interval_text(s)
    if interval and ci:
        text += f" {ci}"
    return text


def _cost(s: Mapping[str, Any]) -> str:
    """The row's cost; "unknown" when no answered case had a price (never `$0.00`).

    Errored cases cost nothing, so a row whose answers are all unpriced can still sum
    to 0.0: that is an unknown cost too, not a free one.
    """
    cost = s.get("cost_usd")
    unknown = s.get("cost_unknown_cases") or 0
    if cost is None or (unknown and not cost):
        return "unknown"
    text = format_usd(cost)
    if unknown:
        text += f" (+{unknown} unpriced)"
    return text


def _tokens(s: Mapping[str, Any]) -> str:
    """`in/out`; "unknown" when cases were answered and none counted a token: every answer
    came without usage (llama-cpp-python's streams), and 0/0 would read as nothing used."""
    n_in, n_out = s["input_tokens"], s["output_tokens"]
    if not n_in and not n_out and (s.get("passed") or 0) + (s.get("failed") or 0):
        return "unknown"
    return f"{n_in}/{n_out}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms"


def summary_rows(doc: Mapping[str, Any], *, interval: bool = True) -> list[tuple[str, ...]]:
    """One row of strings per summary entry, in HEADERS order (`interval`: the pass rate's
    95% interval after it)."""
    rows: list[tuple[str, ...]] = []
    for s in doc.get("summary", ()):
        score = s.get("mean_score")
        rows.append(
            (
                f"{s['prompt']}@{s['version']}",
                s["target"],
                _pass_rate(s, interval=interval),
                "–" if score is None else f"{score:.2f}",
                _tokens(s),
                _cost(s),
                _ms(s.get("latency_p50_ms")),
                _ms(s.get("latency_p95_ms")),
                str(s["errors"]),
            )
        )
    return rows


def problems(doc: Mapping[str, Any], *, output_chars: int = DEFAULT_OUTPUT_CHARS) -> list[Problem]:
    """Failed cases (with their failed assertions' reasons) then errored ones."""
    out = [
        problem(case, output_chars)
        for case in doc.get("cases", ())
        if case["status"] in ("fail", "error")
    ]
    out.sort(key=lambda p: p.status != "fail")
    return out


def notes(doc: Mapping[str, Any], facts: CaseFacts | None = None) -> list[str]:
    """Lines under the table: cases answered by a fallback, then one hint for unpriced models.

    `facts`: the cases' facts gathered as they were written (else read from `doc`)."""
    facts = facts if facts is not None else case_facts(doc.get("cases", ()))
    lines = _fallback_lines(facts) + _breaker_lines(doc)
    unpriced = list(facts.unpriced)
    if not facts.cases:  # a document without its cases: the summary rows say which
        unpriced = [s["target"] for s in doc.get("summary", ()) if s.get("cost_unknown_cases")]
        unpriced = list(dict.fromkeys(unpriced))
    if unpriced:
        them = "it" if len(unpriced) == 1 else "them"
        lines.append(
            f"no price for {', '.join(unpriced)}: add {them} under `pricing:` in promptctl.yaml"
        )
    if facts.unreadable:
        lines.append(
            f"cost unknown: unreadable token usage from {', '.join(facts.unreadable)} (absent or "
            "invalid counts in the response; the price is not the problem)"
        )
    return lines


def _breaker_lines(doc: Mapping[str, Any]) -> list[str]:
    """When a circuit opened during the run, after how many failures, and if it closed."""
    lines = []
    for event in doc.get("run", {}).get("circuit_breaker") or ():
        line = (
            f"circuit opened for {event['target']} at {_clock(event['opened_at'])} after "
            f"{event['failures']} consecutive failures"
        )
        if event.get("closed_at") is not None:
            line += f"; closed at {_clock(event['closed_at'])} (a trial call answered)"
        else:
            line += "; still open at the end"
        if event.get("failed_trials"):
            line += f" ({event['failed_trials']} trial call(s) failed)"
        lines.append(line)
    return lines


def _clock(epoch: float) -> str:
    """HH:MM:SS UTC, to the second: enough to find the moment in CI logs."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%H:%M:%SZ")


def _fallback_lines(facts: CaseFacts) -> list[str]:
    """Per prompt x target: how many cases another model answered, which, and why."""
    lines = []
    for (prompt, target), hows in facts.fallbacks.items():
        n = sum(hows.values())
        if len(hows) == 1:
            detail = next(iter(hows))
        else:
            detail = "; ".join(f"{k} × {how}" for how, k in hows.most_common())
        word = "case" if n == 1 else "cases"
        lines.append(f"{prompt} ({target}): {n} {word} answered by a fallback ({detail})")
    return lines


def _totals_line(doc: Mapping[str, Any]) -> str:
    summary: Sequence[Mapping[str, Any]] = doc.get("summary", ())
    totals = {k: sum(s[k] for s in summary) for k in ("passed", "failed", "errors", "skipped")}
    words = {"passed": "passed", "failed": "failed", "errors": "errored", "skipped": "skipped"}
    line = ", ".join(f"{v} {words[k]}" for k, v in totals.items() if v or k in ("passed", "failed"))
    run = doc.get("run", {})
    skipped_budget = run.get("skipped_budget", 0)
    cap = run.get("max_cost_usd")
    if cap is not None:
        spent = format_usd(run.get("spent_usd") or 0.0)
        line += f"; spent {spent} of --max-cost {format_usd(cap)}; {skipped_budget} cases skipped"
    elif skipped_budget:
        line += f"; {skipped_budget} not run (over --max-cost)"
    return line


def _facts(
    doc: Mapping[str, Any], facts: CaseFacts | None, max_problems: int, output_chars: int
) -> CaseFacts:
    if facts is not None:
        return facts
    return case_facts(doc.get("cases", ()), max_problems=max_problems, output_chars=output_chars)


def _listed(facts: CaseFacts, max_problems: int) -> tuple[list[Problem], int]:
    """The problems to print, and how many are left out."""
    found = facts.problems()[:max_problems]
    return found, facts.problem_count - len(found)


def render_plain(
    doc: Mapping[str, Any],
    *,
    max_problems: int = DEFAULT_MAX_PROBLEMS,
    output_chars: int = DEFAULT_OUTPUT_CHARS,
    facts: CaseFacts | None = None,
) -> str:
    """The summary as aligned plain text (no colour, no box drawing).

    `facts`: the cases' facts gathered while they were written (a streamed run); else
    they are read from `doc["cases"]`."""
    facts = _facts(doc, facts, max_problems, output_chars)
    rows = [HEADERS, *summary_rows(doc)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    lines += notes(doc, facts)
    found, more = _listed(facts, max_problems)
    for p in found:
        lines.append(f"{p.status.upper()} {p.label}: {p.reason}")
        if p.output:
            lines.append(f"    output: {p.output}")
    if more:
        lines.append(f"… and {more} more")
    lines.append(_totals_line(doc))
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Safe in a markdown table cell or list item: no pipes, newlines or raw HTML."""
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


# markdown that model text (an answer, a tool call's name, in a failure's reason) could
# use to forge a link or an image (`[approve](http://evil)`, a tracking `![](…)`),
# emphasis or a code span
_MD_SPECIAL = re.compile(r"([\\`*_\[\]!~])")


def _md_text(text: str) -> str:
    """`_md`, and every markdown character backslash-escaped (it reads the same)."""
    return _md(_MD_SPECIAL.sub(r"\\\1", text))


def render_markdown(
    doc: Mapping[str, Any],
    *,
    max_problems: int = DEFAULT_MAX_PROBLEMS,
    facts: CaseFacts | None = None,
) -> str:
    """The summary as a markdown table, then the failures (e.g. for $GITHUB_STEP_SUMMARY)."""
    facts = _facts(doc, facts, max_problems, DEFAULT_OUTPUT_CHARS)
    lines = [
        "| " + " | ".join(HEADERS) + " |",
        "|" + "---|" * 2 + "---:|" * (len(HEADERS) - 2),
    ]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in summary_rows(doc)]
    lines += ["", *(f"- {_md(n)}" for n in notes(doc, facts))]
    found, more = _listed(facts, max_problems)
    for p in found:
        lines.append(f"- **{p.status.upper()}** {_md_text(p.label)}: {_md_text(p.reason)}")
    if more:
        lines.append(f"- … and {more} more")
    lines += ["", f"**{_totals_line(doc)}**"]
    return "\n".join(lines) + "\n"


def summary_renderables(
    doc: Mapping[str, Any],
    *,
    max_problems: int = DEFAULT_MAX_PROBLEMS,
    output_chars: int = DEFAULT_OUTPUT_CHARS,
    width: int | None = None,
    facts: CaseFacts | None = None,
) -> list[RenderableType]:
    """rich renderables for a `width`-column console: the per prompt x target table (laid
    out so that no number is cut, see `summary_table`), the problem list, the totals."""
    from rich.markup import escape
    from rich.text import Text

    from promptctl.report.summary_table import summary_table

    table, layout = summary_table(doc, 10_000 if width is None else width)
    out: list[RenderableType] = [table]
    if layout.interval == "none" and any(interval_text(s) for s in doc.get("summary", ())):
        out.append(
            Text("(95% intervals left out to fit the terminal; see --format markdown)", style="dim")
        )
    facts = _facts(doc, facts, max_problems, output_chars)
    out += [Text(line, style="yellow") for line in notes(doc, facts)]
    found, more = _listed(facts, max_problems)
    for p in found:
        style = "red" if p.status == "fail" else "yellow"
        line = Text.from_markup(f"[bold {style}]{p.status.upper()}[/] {escape(p.label)}: ")
        line.append(p.reason)
        out.append(line)
        if p.output:
            out.append(Text("    output: ", style="dim") + Text(p.output))
    if more:
        out.append(Text(f"… and {more} more", style="dim"))
    out.append(Text(_totals_line(doc), style="bold"))
    return out
