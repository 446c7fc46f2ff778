"""A fleet's PostgreSQL ledger types its columns, but not their values: a NaN or
Infinity cost (`double precision` holds both), a negative token count or a time from
before 1970, written by anything but promptctl, is refused by every reader naming the
row, as a SQLite ledger's mistyped row is (tests/ledger/test_row_types.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from fakes.cli import invoke
from promptctl.errors import ConfigError
from promptctl.ledger.calls import CallFilter, read_calls
from promptctl.ledger.forecast import read_day_spend
from promptctl.ledger.postgres import PgLedger
from promptctl.ledger.report import build_report, read_rows
from promptctl.providers.types import CallContext, CallRecord, Usage


def _record(n: int) -> CallRecord:
    return CallRecord(
        timestamp=time.time(),
        context=CallContext(source="runtime", prompt_id="support/triage", prompt_version="1"),
        target="openai/gpt-4o-mini",
        model_reported="gpt-4o-mini",
        outcome="ok",
        usage=Usage(input_tokens=100 + n, output_tokens=10),
        cost_usd=0.001 * (n + 1) if n else None,  # the first of unknown cost (NULL)
        latency_ms=12.5,
        request_hash=f"h{n}",
    )


@pytest.fixture
def ledger_url(pg_url: str) -> str:
    ledger = PgLedger(pg_url)
    for n in range(3):
        ledger.record(_record(n))
    ledger.close()
    return pg_url


def _edit(url: str, sql: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        (row_id,) = db.execute("SELECT min(id) + 1 FROM calls").fetchone()  # the second row
        db.execute(f"UPDATE calls SET {sql} WHERE id = %s", (row_id,))
    return int(row_id)


READERS: list[Callable[[str], Any]] = [
    lambda url: read_rows(url),
    lambda url: read_calls(url, CallFilter()),
    lambda url: read_day_spend(url, since=0.0),
]


@pytest.mark.parametrize(
    ("sql", "shown"),
    [
        ("cost_usd = 'NaN'", "cost_usd holds NaN, not an amount"),
        ("cost_usd = 'Infinity'", "cost_usd holds Infinity, not an amount"),
        ("cost_usd = -0.5", "cost_usd holds -0.5, not an amount"),
        ("input_tokens = -3", "input_tokens holds -3, not a whole number of tokens"),
        ("ts = -1", "ts holds -1, not a time"),
        ("usage_known = 7", "usage_known holds 7, not 0 or 1"),
    ],
)
def test_a_value_its_column_cannot_mean_is_refused_naming_the_row(
    ledger_url: str, sql: str, shown: str
) -> None:
    row_id = _edit(ledger_url, sql)
    for read in READERS:
        with pytest.raises(ConfigError) as info:
            read(ledger_url)
        assert f"row {row_id}: {shown}" in info.value.message
        assert info.value.hint is not None and f"WHERE id = {row_id}" in info.value.hint
    done = invoke("costs", "--ledger", ledger_url)
    assert done.returncode == 2 and f"row {row_id}: {shown}" in done.stderr


def test_tags_that_are_not_a_json_list_are_refused(ledger_url: str) -> None:
    _edit(ledger_url, "tags = '{\"a\": 1}'")
    for read in READERS:
        with pytest.raises(ConfigError, match="not a JSON list of text"):
            read(ledger_url)


def test_a_well_formed_fleet_ledger_reads_as_before(ledger_url: str) -> None:
    report = build_report(read_rows(ledger_url))
    assert report.total.calls == 3 and report.total.unknown_cost_calls == 1
    assert report.total.cost_usd == pytest.approx(0.002 + 0.003)
    assert len(read_calls(ledger_url, CallFilter())) == 3
