"""The call ledger in PostgreSQL: one table for a whole fleet of processes.

Same table and columns as the SQLite ledger (store.py), the same append-only migrations
(migrations.PG_MIGRATIONS, recorded in `_migrations`, applied under a transaction-level
advisory lock so processes starting at once migrate exactly once), and the same
durability rule: a paid call (any row that is not a cache hit) is committed by
`record()` before it returns; cache hits are queued and written by a background thread
every `flush_interval_s` or at `batch_size`. Rows are written with COPY, and every
commit takes all pending rows (group commit), so many threads share one round trip.

When PostgreSQL cannot be reached (a restart, a network cut), `record()` does not fail
the call: the rows stay queued (at most `max_pending`; beyond that the oldest cache hits
are dropped first and counted in `dropped`), the writer reconnects every
`flush_interval_s`, and the queue is written in order once it is back. What a crash can
lose is therefore bounded by what was queued during an outage (docs/deployment.md);
`close()` (also run at exit) waits up to `close_timeout_s` for the queue.

Credentials come from the URL's environment (PROMPTCTL_LEDGER) or libpq's own variables
(PGPASSWORD, PGPASSFILE, …); the password never appears in a message.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptctl.errors import ConfigError
from promptctl.ledger.migrations import PG_MIGRATIONS
from promptctl.ledger.store import COLUMNS, Row, to_row
from promptctl.providers.shared_state import redact_url
from promptctl.providers.types import CallRecord

if TYPE_CHECKING:
    from promptctl.promptfile.model import Project

__all__ = ["PgLedger", "is_pg_url", "ledger_location", "pg_connect", "redact_url"]

log = logging.getLogger("promptctl.ledger")
_LOCK_KEY = 0x70726F6D  # "prom": the advisory lock that serialises migrations
_COPY = f"COPY calls ({', '.join(COLUMNS)}) FROM STDIN"


def is_pg_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


def ledger_location(option: str | None, project: Callable[[], Project]) -> Path | str:
    """A command's `--ledger`, else promptctl.yaml's `ledger:`: a file or a postgresql:// URL.

    `project` is only called (the project found and read) without `--ledger`.
    """
    if option:
        return option if is_pg_url(option) else Path(option)
    found = project()
    return found.ledger_url or found.ledger_file


def _scrub(url: str, text: str) -> str:
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
            hint="pip install 'promptctl[postgres]'",
        ) from None
    try:
        db = psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(timeout_s)))
    except (psycopg.Error, ValueError) as exc:
        msg = _scrub(url, str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
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
        done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
        for name, statements in PG_MIGRATIONS:
            if name in done:
                continue
            for sql in statements:
                db.execute(sql)
            db.execute("INSERT INTO _migrations VALUES (%s, %s)", (name, time.time()))
            applied.append(name)
    return applied


class PgLedger:
    """Thread-safe, append-only writer of `CallRecord`s to PostgreSQL (see module doc)."""

    def __init__(
        self,
        url: str,
        *,
        batch_size: int = 1000,
        flush_interval_s: float = 0.2,
        max_pending: int = 100_000,
        close_timeout_s: float = 10.0,
    ) -> None:
        self.url = url
        self.path = redact_url(url)  # what messages show
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_pending = max_pending
        self.close_timeout_s = close_timeout_s
        self.dropped = 0
        self.last_error: str | None = None
        self._db: Any = pg_connect(url)  # a bad URL or a down server fails loudly at start
        self._pending: list[Row] = []
        self._appended = 0
        self._written = 0
        self._pending_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        self._down_since: float | None = None
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="promptctl-pg-ledger", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def record(self, record: CallRecord, *, cost_saved_usd: float | None = None) -> None:
        """Append one call; a paid one is committed before this returns (if the DB is up)."""
        saved = cost_saved_usd if cost_saved_usd is not None else record.cost_saved_usd
        row = to_row(record, saved)
        with self._pending_lock:
            if self._closed:
                self.dropped += 1
                self.last_error = "record() after close()"
                return
            self._pending.append(row)
            self._appended += 1
            seq, waiting = self._appended, len(self._pending)
            if waiting > self.max_pending:
                self._shed()
        if record.outcome != "cached" and self._down_since is None:
            self._commit(seq)
        elif waiting >= self.batch_size:
            self._wake.set()

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Commit every row recorded so far; False if PostgreSQL could not take them."""
        with self._pending_lock:
            seq = self._appended
        return self._commit(seq)

    def close(self) -> None:
        """Write what is pending (waiting up to `close_timeout_s` for the server); idempotent."""
        with self._pending_lock:
            if self._closed:
                return
            self._closed = True
            seq = self._appended
        self._wake.set()
        self._thread.join()
        deadline = time.monotonic() + self.close_timeout_s
        while not self._commit(seq) and time.monotonic() < deadline:
            time.sleep(min(0.2, self.flush_interval_s))
        with self._pending_lock:
            if self._pending:
                self.dropped += len(self._pending)
                log.error(
                    "ledger %s: %d rows not written at close (%s)",
                    self.path,
                    len(self._pending),
                    self.last_error,
                )
                self._pending = []
        with self._write_lock:
            self._db.close()
        atexit.unregister(self.close)

    def __enter__(self) -> PgLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writer -----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            with self._pending_lock:
                closed, seq = self._closed, self._appended
            self._commit(seq)
            if closed:
                return

    def _commit(self, seq: int) -> bool:
        """Make rows up to number `seq` durable; True when they are."""
        with self._write_lock:
            if self._written >= seq:
                return True
            with self._pending_lock:
                batch, self._pending = self._pending, []
                upto = self._appended
            if self._write(batch):
                self._written = upto
                return True
            with self._pending_lock:  # keep them, in order, ahead of newer rows
                self._pending[:0] = batch
            return False

    def _write(self, batch: list[Row]) -> bool:
        if not batch:
            return True
        try:
            if self._db.closed or self._db.broken:
                self._db.close()
                self._db = pg_connect(self.url, migrate=False)
            with self._db.transaction(), self._db.cursor() as cur, cur.copy(_COPY) as copy:
                for row in batch:
                    copy.write_row(row)
        except Exception as exc:  # down: keep the rows, never fail the caller
            self.last_error = _scrub(self.url, str(exc).strip().splitlines()[0] if str(exc) else "")
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.warning(
                    "ledger %s unreachable (%s): rows are queued and written when it is back",
                    self.path,
                    self.last_error,
                )
            return False
        if self._down_since is not None:
            self._down_since = None
            log.warning("ledger %s is reachable again: queued rows written", self.path)
        return True

    def _shed(self) -> None:
        """Over `max_pending` while down: drop the oldest free rows first, then the oldest."""
        excess = len(self._pending) - self.max_pending
        outcome_at = COLUMNS.index("outcome")
        keep: list[Row] = []
        for row in self._pending:
            if excess and row[outcome_at] == "cached":
                excess -= 1
                continue
            keep.append(row)
        if excess:
            keep = keep[excess:]
        self.dropped += len(self._pending) - len(keep)
        self.last_error = "ledger queue full while the database was unreachable"
        self._pending = keep
