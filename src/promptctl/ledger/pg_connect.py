"""Opening the PostgreSQL ledger: URLs, connections (password never shown) and the
schema, migrated once for the fleet under an advisory lock."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptctl.errors import ConfigError
from promptctl.ledger.migrations import PG_MIGRATIONS
from promptctl.promptfile.project import PG_SCHEMES
from promptctl.providers.shared_state import redact_url

if TYPE_CHECKING:
    from promptctl.promptfile.model import Project

__all__ = ["apply_pg_migrations", "is_pg_url", "ledger_location", "pg_connect", "scrub"]

_LOCK_KEY = 0x70726F6D  # "prom": the advisory lock that serialises migrations
_PROGRESS_TABLE = (
    "CREATE TABLE IF NOT EXISTS _ledger_spools"
    " (spool TEXT PRIMARY KEY, drained BIGINT NOT NULL, updated_at DOUBLE PRECISION)"
)


def is_pg_url(value: object) -> bool:
    """A value already checked where it was read (`is_ledger_url`): the fleet's ledger?"""
    return isinstance(value, str) and value.startswith(PG_SCHEMES)


def ledger_location(option: str | None, project: Callable[[], Project]) -> Path | str:
    """A command's `--ledger`, else promptctl.yaml's `ledger:`: a file or a postgresql:// URL.

    `project` is only called (the project found and read) without `--ledger`.
    """
    if option:
        from promptctl.promptfile.project import is_ledger_url

        return option if is_ledger_url(option) else Path(option)
    found = project()
    return found.ledger_url or found.ledger_file


def scrub(url: str, text: str) -> str:
    from urllib.parse import unquote, urlsplit

    password = urlsplit(url).password
    for secret in filter(None, (password, password and unquote(password))):
        text = text.replace(secret, "***")
    return text


def pg_connect(url: str, *, migrate: bool = True, timeout_s: float = 5.0) -> Any:
    """An autocommit psycopg connection (migrated unless `migrate=False`); ConfigError if not."""
    try:
        import psycopg
    except ImportError:
        raise ConfigError(
            "a postgresql:// ledger needs psycopg, which is not installed",
            hint="install promptctl with its postgres extra (docs/install.md), "
            "or pip install 'psycopg[binary]'",
        ) from None
    try:
        db = psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(timeout_s)))
    except (psycopg.Error, ValueError) as exc:
        msg = scrub(url, str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
        raise ConfigError(
            f"cannot open ledger {redact_url(url)}: {msg}",
            hint="check the URL; the password comes from PGPASSWORD or ~/.pgpass",
        ) from None
    if migrate:
        apply_pg_migrations(db)
    return db


def apply_pg_migrations(db: Any) -> list[str]:
    """Apply the migrations not yet recorded, once for the fleet (advisory lock)."""
    applied: list[str] = []
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        db.execute(
            "CREATE TABLE IF NOT EXISTS _migrations"
            " (name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION)"
        )
        db.execute(_PROGRESS_TABLE)  # the spools' bookkeeping, like _migrations: not a migration
        done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
        for name, statements in PG_MIGRATIONS:
            if name in done:
                continue
            for sql in statements:
                db.execute(sql)
            db.execute("INSERT INTO _migrations VALUES (%s, %s)", (name, time.time()))
            applied.append(name)
    return applied
