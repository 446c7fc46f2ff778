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

__all__ = ["budget_line", "csv_value", "report_csv", "report_json", "safe_csv_cell"]


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
    """The report as CSV; text cells are `safe_csv_cell`s (tags and ids come from PRs)."""
    out = io.StringIO()
    columns = [report.by, *(k for k in report.total.as_dict() if k != "key")]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_csv_cell(c) for c in columns])
    for bucket in [*report.groups, report.total]:
        data = bucket.as_dict()
        writer.writerow([safe_csv_cell(bucket.key), *(_cell(data[c]) for c in columns[1:])])
    return out.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_csv_cell(text: str) -> str:
    """`text` made inert for spreadsheets (OWASP CSV injection): a cell starting with
    `= + - @`, tab or CR would be read as a formula (`=HYPERLINK(…)`, `@SUM(…)`, DDE), so
    it gets a leading `'`, which spreadsheets show as text. A CR inside becomes a newline:
    the csv module quotes a newline but not a bare CR, which would start a new row (whose
    first cell could be a formula). Numbers are never text here."""
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _cell(value: Any) -> Any:
    return f"{value:.8f}" if isinstance(value, float) else csv_value(value)


def csv_value(value: Any) -> Any:
    """A CSV cell of any CSV promptctl writes: text made inert (`safe_csv_cell`), None
    empty, numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_csv_cell(value)
    return value


def budget_line(status: BudgetStatus) -> str:
    state = "exceeded" if status.exceeded else "ok"
    text = (
        f"budget {state}: {status.budget.label}: {format_usd(status.spent_usd)} spent of "
        f"{format_usd(status.budget.limit_usd)} since {status.since:%Y-%m-%d}"
    )
    if status.unknown_cost_calls:
        text += f" (+{status.unknown_cost_calls} calls of unknown cost)"
    return text
