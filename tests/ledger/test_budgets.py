from datetime import UTC, datetime

import pytest

from ledger.records import call
from promptctl.errors import ConfigError
from promptctl.ledger.budgets import Budget, check_budgets, parse_budgets, period_start
from promptctl.ledger.report import LedgerRow
from promptctl.report.costs import budget_line

NOW = datetime(2026, 11, 27, 15, tzinfo=UTC)  # a Friday


def _row(
    ts: datetime,
    cost: float | None,
    prompt: str = "support/triage",
    tags=("support",),
    outcome: str = "ok",
):  # type: ignore[no-untyped-def]
    rec = call(ts=ts.timestamp(), cost=cost, prompt=prompt, tags=tags)
    return LedgerRow(
        rec.timestamp,
        "runtime",
        prompt,
        "1.0.0",
        tags,
        "openai",
        rec.target,
        outcome,
        0,
        0,
        0,
        0,
        0,
        cost,
        None,
        1.0,
    )


def test_parse_shape() -> None:
    budgets = parse_budgets(
        {"total": {"daily": 5.0, "monthly": 100}, "prompt": {"support/triage": {"monthly": 20}}}
    )
    assert budgets == [
        Budget("total", None, "daily", 5.0),
        Budget("total", None, "monthly", 100),
        Budget("prompt", "support/triage", "monthly", 20),
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"team": {"x": {"daily": 1}}}, "budgets.team: unknown scope"),
        ({"total": {"hourly": 1}}, "budgets.total.hourly: unknown period"),
        ({"prompt": {"a": {"daily": "lots"}}}, "budgets.prompt.a.daily must be a non-negative"),
        ({"tag": {"a": 5}}, "budgets.tag.a must map periods"),
    ],
)
def test_bad_shapes_name_the_key(raw: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=message):
        parse_budgets(raw)


def test_periods_are_calendar_periods_in_utc() -> None:
    assert period_start("daily", NOW) == datetime(2026, 11, 27, tzinfo=UTC)
    assert period_start("weekly", NOW) == datetime(2026, 11, 23, tzinfo=UTC)
    assert period_start("monthly", NOW) == datetime(2026, 11, 1, tzinfo=UTC)


def test_exceeded_counts_only_the_period_and_scope() -> None:
    rows = [
        _row(datetime(2026, 11, 27, 9, tzinfo=UTC), 3.0),
        _row(datetime(2026, 11, 26, 9, tzinfo=UTC), 10.0),  # yesterday: not in daily
        _row(datetime(2026, 11, 27, 10, tzinfo=UTC), 2.5, prompt="faq", tags=()),
        _row(datetime(2026, 11, 27, 11, tzinfo=UTC), None),
        _row(datetime(2026, 11, 27, 11, tzinfo=UTC), None, outcome="error"),  # cost nothing
    ]
    budgets = [
        Budget("total", None, "daily", 5.0),
        Budget("prompt", "support/triage", "daily", 5.0),
        Budget("tag", "support", "monthly", 12.0),
    ]
    total, prompt, tag = check_budgets(rows, budgets, now=NOW)
    assert total.spent_usd == 5.5 and total.exceeded
    assert prompt.spent_usd == 3.0 and not prompt.exceeded
    assert tag.spent_usd == 13.0 and tag.exceeded
    assert budget_line(total) == (
        "budget exceeded: total daily: $5.50 spent of $5.00 since 2026-11-27 "
        "(+1 calls of unknown cost)"
    )
