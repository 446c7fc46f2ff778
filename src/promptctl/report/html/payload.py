"""The data a report page shows: plain JSON-ready dicts built from a results document or
a Comparison. The page's script only lays these out; every figure it shows is here.

A run's cases keep the results document's field names (docs/results-format.md) minus the
hashes, so the page and the document can be checked against each other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from promptctl.evals.comparison import Comparison, comparison_to_dict
from promptctl.report.html.words import word_diff

__all__ = [
    "HISTORY_RUNS",
    "MessagesFor",
    "diff_payload",
    "history_points",
    "run_payload",
    "target_points",
]

HISTORY_RUNS = 20
_HISTORY_MAX_BYTES = 20_000_000  # a run file bigger than this is left out of the history
_CASE_FIELDS = (
    "prompt",
    "version",
    "target",
    "answered_by",
    "test",
    "repeat",
    "vars",
    "status",
    "score",
    "output",
    "assertions",
    "usage",
    "cost_usd",
    "latency_ms",
    "cached",
    "error",
    "fallbacks_tried",
    "tool_calls",
)

# (case dict) -> rendered chat messages [{"role", "content"}], or None when unknown
MessagesFor = Callable[[Mapping[str, Any]], list[dict[str, str]] | None]


def _case(case: Mapping[str, Any], messages: MessagesFor | None) -> dict[str, Any]:
    out = {k: case.get(k) for k in _CASE_FIELDS}
    if messages is not None:
        out["messages"] = messages(case)
    return out


def target_points(summary: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per target over all prompts: pass rate (passed / judged) and cost per answered case.

    The cost per case divides the known cost by the answered cases that had a price, as
    the gate does; None when no answered case was priced.
    """
    acc: dict[str, dict[str, Any]] = {}
    for s in summary:
        t = acc.setdefault(s["target"], {"passed": 0, "failed": 0, "cost": 0.0, "priced": 0})
        t["passed"] += s["passed"]
        t["failed"] += s["failed"]
        answered = s["passed"] + s["failed"]
        priced = answered - (s.get("cost_unknown_cases") or 0)
        if s.get("cost_usd") is not None and priced > 0:
            t["cost"] += s["cost_usd"]
            t["priced"] += priced
    points = []
    for target, t in acc.items():
        judged = t["passed"] + t["failed"]
        points.append(
            {
                "target": target,
                "passed": t["passed"],
                "judged": judged,
                "pass_rate": t["passed"] / judged if judged else None,
                "cost_per_case": t["cost"] / t["priced"] if t["priced"] else None,
            }
        )
    return points


def history_points(runs_dir: Path, *, limit: int = HISTORY_RUNS) -> list[dict[str, Any]]:
    """Pass rate per prompt (all targets pooled) in the last `limit` run files, oldest
    first. Unreadable or foreign files are skipped: history is a nicety, never an error."""
    if not runs_dir.is_dir():
        return []
    files = sorted(runs_dir.glob("*.json"))[-limit:]
    out: list[dict[str, Any]] = []
    for path in files:
        try:
            if path.stat().st_size > _HISTORY_MAX_BYTES:
                continue
            doc = json.loads(path.read_text(encoding="utf-8"))
            rates: dict[str, list[int]] = {}
            for s in doc["summary"]:
                r = rates.setdefault(str(s["prompt"]), [0, 0])
                r[0] += int(s["passed"])
                r[1] += int(s["passed"]) + int(s["failed"])
            run = doc.get("run") or {}
            out.append(
                {
                    "run": str(run.get("id") or path.stem),
                    "started_at": run.get("started_at"),
                    "pass_rate": {p: (a / n if n else None) for p, (a, n) in rates.items()},
                }
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return out


def run_payload(
    doc: Mapping[str, Any],
    *,
    tags: Mapping[str, Sequence[str]] | None = None,
    messages: MessagesFor | None = None,
    history: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """What the run page shows: run info, summary rows, cases, tags, chart data."""
    summary = list(doc.get("summary", ()))
    return {
        "kind": "run",
        "run": dict(doc.get("run") or {}),
        "summary": summary,
        "targets": target_points(summary),
        "cases": [_case(c, messages) for c in doc.get("cases", ())],
        "tags": {k: list(v) for k, v in (tags or {}).items()},
        "history": list(history),
    }


Outputs = dict[tuple[str, str, str], list[Mapping[str, Any]]]


def _outputs(doc: Mapping[str, Any] | None) -> Outputs:
    """Judged (pass/fail) cases by (prompt, target, test), in document order."""
    out: Outputs = {}
    for c in (doc or {}).get("cases", ()):
        if c.get("status") in ("pass", "fail"):
            out.setdefault((c["prompt"], c["target"], c["test"]), []).append(c)
    return out


def _pick(cases: list[Mapping[str, Any]] | None, prefer: str) -> str | None:
    """The whole output of a case with status `prefer` if any, else of the first one."""
    if not cases:
        return None
    chosen = next((c for c in cases if c.get("status") == prefer), cases[0])
    output = chosen.get("output")
    return output if isinstance(output, str) else None


def _side_by_side(t_data: dict[str, Any], base: str | None, head: str | None) -> None:
    """Whole outputs (the comparison keeps 400-character excerpts, and only of changes),
    and their word diff when they differ."""
    if base is not None:
        t_data["base_output"] = base
    if head is not None:
        t_data["head_output"] = head
    b, h = t_data.get("base_output"), t_data.get("head_output")
    if b is not None and h is not None and b != h:
        t_data["words"] = [list(seg) for seg in word_diff(b, h)]


def diff_payload(
    comparison: Comparison,
    *,
    verdict_line: str,
    base_doc: Mapping[str, Any] | None = None,
    head_doc: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What the diff page shows: the comparison as JSON, each test's outputs on both sides
    (a passing base case against a failing head case when there are such, as the gate's
    excerpts do) and their word diff. Without the documents, the comparison's excerpts."""
    data = comparison_to_dict(comparison)
    base, head = _outputs(base_doc), _outputs(head_doc)
    for g_data, group in zip(data["groups"], comparison.groups, strict=True):
        for t_data in g_data["tests"]:
            key = (group.prompt, group.target, t_data["test"])
            _side_by_side(t_data, _pick(base.get(key), "pass"), _pick(head.get(key), "fail"))
    return {"kind": "diff", "verdict_line": verdict_line, **data}
