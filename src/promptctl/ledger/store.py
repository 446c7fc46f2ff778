"""The call ledger: every provider call appended to SQLite (WAL), off the request path.

`Ledger.record` only enqueues; one background thread writes rows in batches (when
`batch_size` rows are waiting or `flush_interval_s` after the first of them), so a call
never waits on the disk. `flush()` waits until everything enqueued so far is written;
`close()` (also run at interpreter exit) writes the rest: nothing is lost on a clean
shutdown. Cost is stored as computed at call time, so a later price change leaves old
rows as they were billed.
"""

from __future__ import annotations

import atexit
import json
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from promptctl.errors import ConfigError
from promptctl.ledger.migrations import apply_migrations
from promptctl.providers.types import CallRecord

__all__ = ["DEFAULT_LEDGER_PATH", "Ledger", "connect"]

DEFAULT_LEDGER_PATH = Path(".promptctl") / "ledger.sqlite"

_COLUMNS = (
    "ts",
    "source",
    "prompt_id",
    "prompt_version",
    "prompt_hash",
    "test",
    "tags",
    "provider",
    "target",
    "model_reported",
    "fallback_from",
    "outcome",
    "error_kind",
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cost_usd",
    "cost_saved_usd",
    "latency_ms",
    "request_hash",
    "cache_write_1h_tokens",
)
_INSERT = f"INSERT INTO calls ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"

_Row = tuple[object, ...]


@dataclass
class _Flush:
    done: threading.Event


class _Stop:
    pass


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open (and migrate) a ledger; autocommit mode, WAL, a busy timeout for concurrency."""
    try:
        if readonly:
            if not path.exists():
                raise ConfigError(f"no ledger at {path}", hint="nothing has been recorded yet?")
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            db.execute("PRAGMA busy_timeout = 5000")
            return db
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        apply_migrations(db)
        return db
    except (sqlite3.Error, OSError) as exc:
        raise ConfigError(f"cannot open ledger {path}: {exc}") from exc


class Ledger:
    """Thread-safe, append-only, batched writer of `CallRecord`s."""

    def __init__(
        self,
        path: Path = DEFAULT_LEDGER_PATH,
        *,
        batch_size: int = 200,
        flush_interval_s: float = 0.2,
    ) -> None:
        self.path = path
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.dropped = 0  # rows lost to a write error (disk full, …); see last_error
        self.last_error: str | None = None
        self._db = connect(path)  # opened here so a bad path fails loudly, used by the writer
        self._queue: queue.SimpleQueue[_Row | _Flush | _Stop] = queue.SimpleQueue()
        self._closed = False
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="promptctl-ledger", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def record(self, record: CallRecord, *, cost_saved_usd: float | None = None) -> None:
        """Enqueue one call; returns at once. `cost_saved_usd`: what caching saved, if known
        (defaults to the record's own `cost_saved_usd`, set by the gateway on cache hits)."""
        saved = cost_saved_usd if cost_saved_usd is not None else record.cost_saved_usd
        row = _row(record, saved)
        with self._close_lock:  # nothing may slip in behind the stop marker
            if not self._closed:
                self._queue.put(row)
                return
            self.dropped += 1
        self.last_error = "record() after close()"

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every row enqueued before this call is written; False on timeout."""
        if self._closed:
            return True
        done = threading.Event()
        self._queue.put(_Flush(done))
        return done.wait(timeout)

    def close(self) -> None:
        """Write what is pending and stop the writer; idempotent."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_Stop())
        self._thread.join()
        self._db.close()
        atexit.unregister(self.close)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        pending: list[_Row] = []
        deadline = 0.0
        while True:
            timeout = max(0.0, deadline - time.monotonic()) if pending else None
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                self._write(pending)
                continue
            if isinstance(item, tuple):
                if not pending:
                    deadline = time.monotonic() + self.flush_interval_s
                pending.append(item)
                if len(pending) >= self.batch_size:
                    self._write(pending)
            elif isinstance(item, _Flush):
                self._write(pending)
                item.done.set()
            else:
                self._write(pending)
                return

    def _write(self, pending: list[_Row]) -> None:
        if not pending:
            return
        try:
            self._db.execute("BEGIN")
            self._db.executemany(_INSERT, pending)
            self._db.execute("COMMIT")
        except Exception as exc:  # the writer must outlive any bad batch
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self.dropped += len(pending)
            self.last_error = str(exc)
        pending.clear()


def _row(rec: CallRecord, cost_saved_usd: float | None) -> _Row:
    ctx, usage = rec.context, rec.usage
    return (
        rec.timestamp,
        ctx.source,
        ctx.prompt_id,
        ctx.prompt_version,
        ctx.prompt_hash,
        ctx.test,
        json.dumps(list(ctx.tags)),
        rec.target.split("/", 1)[0],
        rec.target,
        rec.model_reported or None,
        rec.fallback_from,
        rec.outcome,
        rec.error_kind,
        usage.input_tokens,
        usage.cached_input_tokens,
        usage.cache_write_tokens,
        usage.output_tokens,
        usage.reasoning_tokens,
        rec.cost_usd,
        cost_saved_usd,
        rec.latency_ms,
        rec.request_hash,
        usage.cache_write_1h_tokens,
    )
