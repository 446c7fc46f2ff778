"""A ledger row holding what its column cannot (SQLite keeps, in any column, a value its
type affinity cannot convert) is refused by every reader, naming the row; found by
editing ledgers (`costs` ended in tracebacks, or summed text as 0)."""

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fakes.cli import invoke
from ledger.records import call
from promptctl.errors import ConfigError
from promptctl.ledger import Ledger
from promptctl.ledger.calls import CallFilter, read_calls
from promptctl.ledger.forecast import read_day_spend
from promptctl.ledger.report import build_report, read_rows
from promptctl.ledger.row_types import tags_of

T0 = 1_800_000_000.0


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.record(call(ts=T0, cost=0.010, tags=("support", "vip")))
        ledger.record(call(ts=T0 + 60, cost=None, tags=()))  # an unpriced answer: NULL cost
        ledger.record(call(ts=T0 + 120, cost=0.030, outcome="error"))
    return path


def _edit(path: Path, column: str, value: Any, row: int = 2) -> None:
    with sqlite3.connect(path) as db:
        db.execute(f"UPDATE calls SET {column} = ? WHERE id = ?", (value, row))


READERS: list[Callable[[Path], object]] = [
    lambda p: read_rows(p),
    lambda p: read_calls(p, CallFilter()),
    lambda p: read_day_spend(p, since=0.0),
]


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("cache_write_tokens", "abc", "'abc', not a whole number of tokens"),
        ("input_tokens", -5, "-5, not a whole number of tokens"),
        ("output_tokens", 1.5, "1.5, not a whole number of tokens"),
        ("cost_usd", "half a cent", "'half a cent', not an amount"),  # SUM() read it as 0
        ("cost_usd", float("inf"), "Inf, not an amount"),
        ("cost_usd", -1.0, "-1.0, not an amount"),
        ("ts", "2026-13-45", "'2026-13-45', not a time"),
        ("provider", b"openai", "X'6F70656E6169', not text"),
        ("tags", b"\x00\xff", "X'00FF', not text"),
        ("usage_known", 2, "2, not 0 or 1"),
        ("prompt_id", b"\x01", "X'01', not text or nothing"),
    ],
)
def test_a_value_its_column_cannot_hold_is_refused_by_every_reader_naming_the_row(
    ledger_path: Path, column: str, value: Any, shown: str
) -> None:
    _edit(ledger_path, column, value)
    for read in READERS:
        with pytest.raises(ConfigError) as info:
            read(ledger_path)
        assert f"row 2: {column} holds {shown}" in info.value.message
        assert info.value.hint is not None and "DELETE FROM calls WHERE id = 2" in info.value.hint


@pytest.mark.parametrize("args", [["costs"], ["costs", "--forecast"], ["calls"]])
def test_the_cli_says_which_row_and_exits_2(ledger_path: Path, args: list[str]) -> None:
    _edit(ledger_path, "cache_write_tokens", "\x1b[31mred")
    done = invoke(*args, "--ledger", str(ledger_path), cwd=ledger_path.parent)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "row 2: cache_write_tokens holds" in done.stderr
    assert "Traceback" not in done.stderr and "\x1b" not in done.stderr


def test_tags_that_are_not_a_json_list_of_text_are_refused(ledger_path: Path) -> None:
    for bad in ("[", "0", '{"a": 1}', "[1]"):
        _edit(ledger_path, "tags", bad)
        for read in READERS:
            with pytest.raises(ConfigError, match="not a JSON list of text"):
                read(ledger_path)
    assert tags_of('["a", "b"]', "x") == ("a", "b") and tags_of("", "x") == ()


def test_a_well_typed_ledger_reads_as_before(ledger_path: Path) -> None:
    """No false refusal: NULL costs, an error row, tags, and an old ledger's missing columns."""
    report = build_report(read_rows(ledger_path))
    assert report.total.calls == 3 and report.total.cost_usd == pytest.approx(0.040)
    assert [r.tags for r in read_calls(ledger_path, CallFilter())] == [
        ("support",),
        (),
        ("support", "vip"),
    ]
    with sqlite3.connect(ledger_path) as db:  # a ledger written before m006
        db.execute("ALTER TABLE calls DROP COLUMN operation")
    assert len(read_rows(ledger_path)) == 3 and len(read_calls(ledger_path, CallFilter())) == 3
