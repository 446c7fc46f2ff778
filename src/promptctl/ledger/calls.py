"""`promptctl calls`: recent ledger rows, one per provider attempt, newest first.

So nobody has to open the SQLite file to see what happened to one call: which prompt
and version, which target was asked and which model answered, tokens, cost, latency,
outcome and error kind. Filters narrow in SQL (indexed on `ts`, `prompt_id`), so a
large ledger answers a `--limit 50` query without reading every row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from promptctl.errors import ConfigError
from promptctl.ledger.row_types import check_pg_rows, check_rows, tags_of
from promptctl.ledger.store import connect

__all__ = ["CallFilter", "CallRow", "read_calls"]


@dataclass(frozen=True)
class CallFilter:
    """Every field narrows the rows; None (or empty) means any."""

    since: float | None = None
    prompt: str | None = None
    model: str | None = None  # provider/model as asked (the ledger's `target`)
    provider: str | None = None
    tag: str | None = None
    source: str | None = None
    outcome: str | None = None
    operation: str | None = None  # chat | embed
    limit: int = 50


@dataclass(frozen=True)
class CallRow:
    ts: float
    source: str
    prompt_id: str | None
    prompt_version: str | None
    test: str | None
    tags: tuple[str, ...]
    target: str
    model_reported: str | None
    fallback_from: str | None
    outcome: str
    error_kind: str | None
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    cost_usd: float | None
    latency_ms: float | None
    operation: str = "chat"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tags": list(self.tags)}


_FIELDS = (
    "ts, source, prompt_id, prompt_version, test, tags, target, model_reported, "
    "fallback_from, outcome, error_kind, input_tokens, cached_input_tokens, output_tokens, "
    "cost_usd, latency_ms, operation"
)
# A ledger written before migration m006 has no `operation` column, and a read-only
# connection does not migrate: every row of such a ledger is a chat call.
_FIELDS_BEFORE_M006 = _FIELDS.replace(", operation", ", 'chat'")


def _where(f: CallFilter, mark: str = "?") -> tuple[str, list[Any]]:
    """The WHERE clause; `mark` is the driver's placeholder (`?` SQLite, `%s` PostgreSQL)."""
    clauses: list[str] = []
    args: list[Any] = []
    for column, value in (
        ("prompt_id", f.prompt),
        ("target", f.model),
        ("provider", f.provider),
        ("source", f.source),
        ("outcome", f.outcome),
        ("operation", f.operation),
    ):
        if value:
            clauses.append(f"{column} = {mark}")
            args.append(value)
    if f.since is not None:
        clauses.append(f"ts >= {mark}")
        args.append(f.since)
    if f.tag:
        # tags are stored as a JSON array of strings: match the quoted element
        clauses.append(f"strpos(tags, {mark}) > 0" if mark == "%s" else "instr(tags, ?) > 0")
        args.append(json.dumps(f.tag))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _sql_limit(limit: int) -> int:
    """`limit` as SQL takes it: a 64-bit integer (past every ledger's size anyway)."""
    return max(0, min(limit, 2**62))


def read_calls(path: Path | str, where: CallFilter) -> list[CallRow]:
    """The newest `where.limit` rows matching `where`, newest first (read-only).

    `path`: a SQLite file or the fleet's `postgresql://` ledger (the same query).
    """
    from promptctl.ledger.postgres import is_pg_url, pg_connect, redact_url

    if is_pg_url(path):
        url = str(path)
        pg = pg_connect(url, migrate=False)
        try:
            columns = {
                row[0]
                for row in pg.execute(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_name = 'calls' AND table_schema = current_schema()"
                )
            }
            fields, narrowed = _fields_for(where, "operation" in columns)
            if narrowed is None:
                return []
            check_pg_rows(pg, columns, redact_url(url))
            sql, args = _where(narrowed, "%s")
            query = f"SELECT {fields} FROM calls{sql} ORDER BY ts DESC, id DESC LIMIT %s"
            rows = pg.execute(query, [*args, _sql_limit(where.limit)])
            return [_row(r, redact_url(url)) for r in rows]
        except ConfigError:
            raise
        except Exception as exc:  # psycopg.Error, imported lazily
            raise ConfigError(f"cannot read ledger {redact_url(url)}: {exc}") from None
        finally:
            pg.close()
    path = Path(path)
    db = connect(path, readonly=True)
    try:
        fields, narrowed = _fields_for(where, _has_operation(db))
        if narrowed is None:
            return []
        check_rows(db, str(path))
        sql, args = _where(narrowed)
        query = f"SELECT {fields} FROM calls{sql} ORDER BY ts DESC, id DESC LIMIT ?"
        cursor = db.execute(query, [*args, _sql_limit(where.limit)])
        return [_row(r, str(path)) for r in cursor]
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"cannot read ledger {path}: {exc}") from None
    finally:
        db.close()


def _fields_for(where: CallFilter, has_operation: bool) -> tuple[str, CallFilter | None]:
    """The columns to select and the filter to apply; no filter: nothing can match."""
    if has_operation:
        return _FIELDS, where
    if where.operation not in (None, "", "chat"):
        return _FIELDS, None  # no embedding call was ever recorded in such a ledger
    return _FIELDS_BEFORE_M006, replace(where, operation=None)


def _has_operation(db: sqlite3.Connection) -> bool:
    return any(col[1] == "operation" for col in db.execute("PRAGMA table_info(calls)"))


def _row(r: Sequence[Any], where: str) -> CallRow:
    return CallRow(r[0], r[1], r[2], r[3], r[4], tags_of(r[5], where), *r[6:])
