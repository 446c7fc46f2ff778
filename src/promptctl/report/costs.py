"""Cost reports and budget lines as text: JSON and CSV of a `CostReport`, one line per budget.

The figures are the ledger's (`promptctl.ledger.report`, `promptctl.ledger.budgets`);
this module only prints them, with the one dollar format of `report.money`.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from promptctl.ledger.budgets import BudgetStatus
from promptctl.ledger.report import CostReport, iso_utc
from promptctl.report.money import format_usd

__all__ = ["budget_line", "report_csv", "report_json"]


def report_json(report: CostReport) -> str:
    doc = {
        "by": report.by,
        "since": iso_utc(report.since) if report.since is not None else None,
        "total": report.total.as_dict(),
        "groups": [g.as_dict() for g in report.groups],
        "unpriced_models": report.unpriced_models,
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def report_csv(report: CostReport) -> str:
    out = io.StringIO()
    columns = [report.by, *(k for k in report.total.as_dict() if k != "key")]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for bucket in [*report.groups, report.total]:
        data = bucket.as_dict()
        writer.writerow([bucket.key, *(_cell(data[c]) for c in columns[1:])])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return f"{value:.8f}" if isinstance(value, float) else value


def budget_line(status: BudgetStatus) -> str:
    state = "exceeded" if status.exceeded else "ok"
    text = (
        f"budget {state}: {status.budget.label}: {format_usd(status.spent_usd)} spent of "
        f"{format_usd(status.budget.limit_usd)} since {status.since:%Y-%m-%d}"
    )
    if status.unknown_cost_calls:
        text += f" (+{status.unknown_cost_calls} calls of unknown cost)"
    return text
