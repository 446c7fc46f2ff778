"""What each column of a ledger row may hold, checked before a report reads the rows.

SQLite keeps any value in any column (a declared INTEGER takes 'abc') and `SUM()` reads
text as 0, so a ledger edited by hand, by another tool or by whoever could write
`.promptctl/` made `costs` and `calls` end in a traceback, or print a total that was
wrong. Every read of a SQLite ledger (`costs`, `--check`, `--forecast`, `calls`) first
asks for the first row holding a value its column cannot hold and refuses the file
naming the row, the column and the value (a ConfigError: exit 2). PostgreSQL types its
columns, not their values: a fleet's ledger is checked for NaN, Infinity and negative
amounts the same way (`check_pg_rows`); the tags, JSON text in both, are read by
`tags_of`.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from promptctl.errors import ConfigError

__all__ = ["check_pg_rows", "check_rows", "tags_of"]

_NUMBER = "typeof({c}) IN ('integer', 'real')"
_OPTIONAL_TEXT = (
    "prompt_id", "prompt_version", "prompt_hash", "test", "model_reported", "fallback_from",
    "error_kind", "request_hash", "context_degraded", "context_trimmed", "operation",
)  # fmt: skip
_TOKENS = (
    "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens",
    "reasoning_tokens", "cache_write_1h_tokens",
)  # fmt: skip
_AMOUNT = "{c} IS NULL OR {c} BETWEEN 0 AND 1e12"  # (PostgreSQL's NaN and Infinity fail it)
# (column, what it holds, its SQLite type test, its value test or None): each never NULL
_RULES: tuple[tuple[str, str, str, str | None], ...] = (
    ("ts", "a time (seconds since 1970)", _NUMBER, "{c} BETWEEN 0 AND 1e11"),
    *(
        (c, "text", "typeof({c}) = 'text'", None)
        for c in ("source", "provider", "target", "outcome", "tags")
    ),
    *((c, "text or nothing", "{c} IS NULL OR typeof({c}) = 'text'", None) for c in _OPTIONAL_TEXT),
    *((c, "a whole number of tokens", "typeof({c}) = 'integer'", "{c} >= 0") for c in _TOKENS),
    ("usage_known", "0 or 1", "typeof({c}) = 'integer'", "{c} IN (0, 1)"),
    *(
        (c, "an amount (or nothing)", "{c} IS NULL OR " + _NUMBER, _AMOUNT)
        for c in ("cost_usd", "cost_saved_usd", "latency_ms")
    ),
)


def check_rows(db: sqlite3.Connection, where: str) -> None:
    """Refuse (ConfigError) a SQLite ledger with a row holding what its column cannot."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(calls)")}
    tests = [
        (c, what, f"({kind}) AND ({value})" if value else kind)
        for c, what, kind, value in _RULES
        if c in columns
    ]
    found = _first_bad(db, tests, columns, "?", "quote({c})")
    if found is not None:
        row_id = found[0]
        raise _refused(where, *found, f'sqlite3 {where} "DELETE FROM calls WHERE id = {row_id}"')


def check_pg_rows(db: Any, columns: set[str], where: str) -> None:
    """The same for a PostgreSQL ledger (psycopg's connection): its columns are typed, so
    only the values are checked (a NaN or negative cost, a negative token count...)."""
    tests = [(c, what, value) for c, what, _, value in _RULES if c in columns and value]
    found = _first_bad(db, tests, columns, "%s", "{c}::text")
    if found is not None:
        raise _refused(where, *found, f"DELETE FROM calls WHERE id = {found[0]}")


def _first_bad(
    db: Any, tests: list[tuple[str, str, str]], columns: set[str], mark: str, shown: str
) -> tuple[int, str, str, Any] | None:
    """(row id, column, what it holds, the value as SQL text) of the first row failing a
    test, else None. One scan: each row's first failing test, by CASE."""
    if not tests or "id" not in columns:
        return None  # not a ledger: the reader says so
    cases = " ".join(
        f"WHEN NOT ({test.format(c=c)}) THEN {i}" for i, (c, _, test) in enumerate(tests)
    )
    found = db.execute(
        f"SELECT id, bad FROM (SELECT id, CASE {cases} END AS bad FROM calls) AS checked "
        "WHERE bad IS NOT NULL LIMIT 1"
    ).fetchone()
    if found is None:
        return None
    row_id, index = found
    column, what = tests[index][0], tests[index][1]
    query = f"SELECT {shown.format(c=column)} FROM calls WHERE id = {mark}"
    (value,) = db.execute(query, (row_id,)).fetchone()
    return row_id, column, what, value


def _refused(where: str, row_id: int, column: str, what: str, value: Any, fix: str) -> ConfigError:
    return ConfigError(
        f"ledger {where}: row {row_id}: {column} holds {str(value)[:60]}, not {what}; "
        "promptctl writes none such: the ledger was edited or damaged",
        hint=f"remove that row ({fix}) or restore the ledger from a copy",
    )


def tags_of(text: Any, where: str) -> tuple[str, ...]:
    """A row's tags (a JSON list of strings; empty or NULL: none)."""
    if not text:
        return ()
    try:
        tags = json.loads(text)
    except (TypeError, ValueError):
        tags = None
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConfigError(
            f"ledger {where}: a row's tags are {str(text)[:60]!r}, not a JSON list of text; "
            "promptctl writes none such: the file was edited or damaged",
            hint="restore the file from a copy, or remove that row",
        )
    return tuple(tags)
