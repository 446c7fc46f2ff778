"""Append-only schema migrations for the ledger, recorded in `_migrations`.

Each migration is a small function applied once, in order, inside a transaction; never
edit one that has shipped: add `m00N_…` instead, and its PostgreSQL twin to
`PG_MIGRATIONS` under the same name (a test holds the two lists to the same names).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

__all__ = ["MIGRATIONS", "PG_MIGRATIONS", "apply_migrations"]


def m001_initial(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE calls (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            source TEXT NOT NULL,
            prompt_id TEXT,
            prompt_version TEXT,
            prompt_hash TEXT,
            test TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            provider TEXT NOT NULL,
            target TEXT NOT NULL,
            model_reported TEXT,
            fallback_from TEXT,
            outcome TEXT NOT NULL,
            error_kind TEXT,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            cached_input_tokens INTEGER NOT NULL DEFAULT 0,
            cache_write_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            reasoning_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL,
            cost_saved_usd REAL,
            latency_ms REAL,
            request_hash TEXT
        )
        """
    )
    db.execute("CREATE INDEX calls_ts ON calls (ts)")
    db.execute("CREATE INDEX calls_prompt ON calls (prompt_id, ts)")


def m002_cache_write_1h(db: sqlite3.Connection) -> None:
    """Anthropic's one-hour cache writes: a subset of `cache_write_tokens`, priced apart."""
    db.execute("ALTER TABLE calls ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0")


def m003_usage_known(db: sqlite3.Connection) -> None:
    """0 when a call's token usage is unknown: unreadable usage, or cancelled in flight.

    Says why a cost is unknown when the price is known (no price is the other reason).
    """
    db.execute("ALTER TABLE calls ADD COLUMN usage_known INTEGER NOT NULL DEFAULT 1")


def m004_context_degraded(db: sqlite3.Connection) -> None:
    """JSON `[[input, reason], ...]` of the context sources that degraded; NULL: none."""
    db.execute("ALTER TABLE calls ADD COLUMN context_degraded TEXT")


def m005_context_trimmed(db: sqlite3.Connection) -> None:
    """JSON `[{reason, messages_dropped, tokens_dropped}, ...]`: history this row's request
    left out (its budget, or to fit its target's window); NULL: none."""
    db.execute("ALTER TABLE calls ADD COLUMN context_trimmed TEXT")


def m006_operation(db: sqlite3.Connection) -> None:
    """`chat` or `embed`: embedding calls are rows too (tokens in, no tokens out)."""
    db.execute("ALTER TABLE calls ADD COLUMN operation TEXT NOT NULL DEFAULT 'chat'")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    m001_initial,
    m002_cache_write_1h,
    m003_usage_known,
    m004_context_degraded,
    m005_context_trimmed,
    m006_operation,
)


# The same schema in PostgreSQL (ledger/postgres.py applies it under an advisory lock).
PG_MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "m001_initial",
        (
            """
            CREATE TABLE calls (
                id BIGSERIAL PRIMARY KEY,
                ts DOUBLE PRECISION NOT NULL,
                source TEXT NOT NULL,
                prompt_id TEXT,
                prompt_version TEXT,
                prompt_hash TEXT,
                test TEXT,
                tags TEXT NOT NULL DEFAULT '[]',
                provider TEXT NOT NULL,
                target TEXT NOT NULL,
                model_reported TEXT,
                fallback_from TEXT,
                outcome TEXT NOT NULL,
                error_kind TEXT,
                input_tokens BIGINT NOT NULL DEFAULT 0,
                cached_input_tokens BIGINT NOT NULL DEFAULT 0,
                cache_write_tokens BIGINT NOT NULL DEFAULT 0,
                output_tokens BIGINT NOT NULL DEFAULT 0,
                reasoning_tokens BIGINT NOT NULL DEFAULT 0,
                cost_usd DOUBLE PRECISION,
                cost_saved_usd DOUBLE PRECISION,
                latency_ms DOUBLE PRECISION,
                request_hash TEXT
            )
            """,
            "CREATE INDEX calls_ts ON calls (ts)",
            "CREATE INDEX calls_prompt ON calls (prompt_id, ts)",
        ),
    ),
    (
        "m002_cache_write_1h",
        ("ALTER TABLE calls ADD COLUMN cache_write_1h_tokens BIGINT NOT NULL DEFAULT 0",),
    ),
    ("m003_usage_known", ("ALTER TABLE calls ADD COLUMN usage_known INTEGER NOT NULL DEFAULT 1",)),
    ("m004_context_degraded", ("ALTER TABLE calls ADD COLUMN context_degraded TEXT",)),
    ("m005_context_trimmed", ("ALTER TABLE calls ADD COLUMN context_trimmed TEXT",)),
    ("m006_operation", ("ALTER TABLE calls ADD COLUMN operation TEXT NOT NULL DEFAULT 'chat'",)),
)


def apply_migrations(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations not yet recorded; return their names. Safe to call again.

    Expects an autocommit connection (`isolation_level=None`): the check and the
    migrations run in one `BEGIN IMMEDIATE` transaction, so two processes opening a new
    ledger at once do not both try to create the tables.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL)"
        )
        done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
        applied = []
        for migration in MIGRATIONS:
            if migration.__name__ in done:
                continue
            migration(db)
            db.execute("INSERT INTO _migrations VALUES (?, ?)", (migration.__name__, time.time()))
            applied.append(migration.__name__)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return applied
