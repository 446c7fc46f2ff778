"""`read_calls`: the rows behind `promptctl calls`, on current and old SQLite ledgers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from promptctl.ledger.calls import CallFilter, read_calls
from promptctl.ledger.migrations import MIGRATIONS


def _ledger(path: Path, migrations: int) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    for migrate in MIGRATIONS[:migrations]:
        migrate(db)
    return db


def test_operation_is_read_and_filtered(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    db = _ledger(path, len(MIGRATIONS))
    db.execute(
        "INSERT INTO calls (ts, source, provider, target, outcome, operation) VALUES"
        " (1, 'runtime', 'openai', 'openai/text-embedding-3-small', 'ok', 'embed'),"
        " (2, 'runtime', 'openai', 'openai/gpt-4o-mini', 'ok', 'chat')"
    )
    db.close()
    rows = read_calls(path, CallFilter())
    assert [(r.ts, r.operation) for r in rows] == [(2, "chat"), (1, "embed")]
    embeds = read_calls(path, CallFilter(operation="embed"))
    assert [r.target for r in embeds] == ["openai/text-embedding-3-small"]
    assert embeds[0].as_dict()["operation"] == "embed"


def test_a_ledger_from_before_m006_reads_every_row_as_chat(tmp_path: Path) -> None:
    """`calls` opens the ledger read-only: no migration runs, the column is not there."""
    path = tmp_path / "old.sqlite"
    db = _ledger(path, 5)
    db.execute(
        "INSERT INTO calls (ts, source, provider, target, outcome)"
        " VALUES (1, 'eval', 'openai', 'openai/gpt-4o-mini', 'ok')"
    )
    db.close()
    (row,) = read_calls(path, CallFilter())
    assert (row.target, row.operation) == ("openai/gpt-4o-mini", "chat")
    assert [r.ts for r in read_calls(path, CallFilter(operation="chat"))] == [1]
    assert read_calls(path, CallFilter(operation="embed")) == []
    columns = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(calls)")]
    assert "operation" not in columns  # still untouched


def test_a_limit_or_since_past_what_sql_or_datetime_hold_means_everything(
    tmp_path: Path,
) -> None:
    """`calls --limit 99999999999999999999` was an OverflowError (SQLite's 64-bit
    integers), `--since 99999999999999999999d` another (datetime's year 1)."""
    from promptctl.ledger.report import parse_since

    path = tmp_path / "ledger.sqlite"
    db = _ledger(path, len(MIGRATIONS))
    db.execute(
        "INSERT INTO calls (ts, source, provider, target, outcome) VALUES"
        " (1, 'runtime', 'openai', 'openai/gpt-4o-mini', 'ok'),"
        " (2, 'runtime', 'openai', 'openai/gpt-4o-mini', 'ok')"
    )
    db.close()
    assert len(read_calls(path, CallFilter(limit=10**20))) == 2
    for text in ("99999999999999999999d", "99999999999w", "9" * 5000 + "m"):
        assert parse_since(text) == 0.0
    assert 0 < parse_since("7d") < parse_since("1h")
