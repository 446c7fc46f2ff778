"""What each column of a ledger row may hold, checked before a report reads the rows.

SQLite keeps any value in any column (a declared INTEGER takes 'abc') and `SUM()` reads
text as 0, so a ledger edited by hand, by another tool or by whoever could write
`.promptctl/` made `costs` and `calls` end in a traceback, or print a total that was
wrong. Every read of a SQLite ledger (`costs`, `--check`, `--forecast`, `calls`) first
asks for the first row holding a value its column cannot hold and refuses the file
naming the row, the column and the value (a ConfigError: exit 2). PostgreSQL types its
columns itself; the tags, JSON text in both, are read by `tags_of`.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from promptctl.errors import ConfigError

__all__ = ["check_rows", "tags_of"]

_NUMBER = "typeof({c}) IN ('integer', 'real')"
_OPTIONAL_TEXT = (
    "prompt_id", "prompt_version", "prompt_hash", "test", "model_reported", "fallback_from",
    "error_kind", "request_hash", "context_degraded", "context_trimmed", "operation",
)  # fmt: skip
_TOKENS = (
    "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens",
    "reasoning_tokens", "cache_write_1h_tokens",
)  # fmt: skip
# (column, what it holds, the SQL that is true of a value it may hold: never NULL)
_RULES: tuple[tuple[str, str, str], ...] = (
    ("ts", "a time (seconds since 1970)", _NUMBER + " AND {c} BETWEEN 0 AND 1e11"),
    *(
        (c, "text", "typeof({c}) = 'text'")
        for c in ("source", "provider", "target", "outcome", "tags")
    ),
    *((c, "text or nothing", "{c} IS NULL OR typeof({c}) = 'text'") for c in _OPTIONAL_TEXT),
    *((c, "a whole number of tokens", "typeof({c}) = 'integer' AND {c} >= 0") for c in _TOKENS),
    ("usage_known", "0 or 1", "{c} IN (0, 1) AND typeof({c}) = 'integer'"),
    *(
        (c, "an amount (or nothing)", "{c} IS NULL OR (" + _NUMBER + " AND {c} BETWEEN 0 AND 1e12)")
        for c in ("cost_usd", "cost_saved_usd", "latency_ms")
    ),
)


def check_rows(db: sqlite3.Connection, where: str) -> None:
    """Refuse (ConfigError) a ledger with a row holding a value its column cannot hold."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(calls)")}
    rules = [(c, what, test.format(c=c)) for c, what, test in _RULES if c in columns]
    if not rules or "id" not in columns:
        return  # not a ledger: the reader says so
    first = " ".join(f"WHEN NOT ({test}) THEN {i}" for i, (_, _, test) in enumerate(rules))
    found = db.execute(
        f"SELECT id, bad FROM (SELECT id, CASE {first} END AS bad FROM calls) "
        "WHERE bad IS NOT NULL LIMIT 1"
    ).fetchone()
    if found is None:
        return
    row_id, index = found
    column, what = rules[index][0], rules[index][1]
    (value,) = db.execute(f"SELECT quote({column}) FROM calls WHERE id = ?", (row_id,)).fetchone()
    raise ConfigError(
        f"ledger {where}: row {row_id}: {column} holds {str(value)[:60]}, not {what}; "
        "promptctl writes none such: the file was edited or damaged",
        hint=f'remove that row (sqlite3 {where} "DELETE FROM calls WHERE id = {row_id}") '
        "or restore the file from a copy",
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
