"""The call ledger: every provider call appended to SQLite (WAL), durable before it is used.

Durability bound (docs/costs.md): a paid call (any row that is not a cache/replay hit) is
committed by `record()` before it returns, so before the gateway hands the answer to its
caller. With WAL and `synchronous = NORMAL` a commit is in the operating system's page
cache when `record()` returns: the row survives SIGKILL or a crash of the process up to
the last completed call. Only an OS crash or power loss can lose the last commits (the
WAL is fsynced at checkpoints, not per commit).

Commits are grouped: rows wait in one pending list and whoever commits writes all of
them, so threads recording at once share a transaction (group commit) instead of queuing
for one each. Cache hits (they cost nothing) are only appended to the list, committed by
the next paid call or by a background thread `flush_interval_s` later. `close()` (also
run at interpreter exit) writes the rest. Cost is stored as computed at call time, so a
later price change leaves old rows as they were billed.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import sqlite3
import threading
from pathlib import Path

from promptctl.errors import ConfigError
from promptctl.ledger.migrations import apply_migrations
from promptctl.providers.types import CallContext, CallRecord

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
    "usage_known",
    "context_degraded",
    "context_trimmed",
    "operation",
)
_CHECKPOINT_ROWS = 1000  # checkpoint after this many rows (SQLite's own default: 1000 pages)
_INSERT = f"INSERT INTO calls ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"

_Row = tuple[object, ...]


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
        raise ConfigError(
            f"cannot open ledger {path}: {exc}",
            hint="every paid call is recorded there before its answer is used: make it "
            "writable, or set `ledger:` in promptctl.yaml to a writable path",
        ) from exc


class Ledger:
    """Thread-safe, append-only writer of `CallRecord`s; paid calls are written through."""

    def __init__(
        self,
        path: Path = DEFAULT_LEDGER_PATH,
        *,
        batch_size: int = 200,
        flush_interval_s: float = 0.2,
        commit_full_batches: bool = False,
    ) -> None:
        """`commit_full_batches`: the caller that fills a batch of cache hits commits
        it, when that needs no waiting, instead of waking the writer thread. For a
        caller that records many hits in a row (an evaluation's event loop): one ~1 ms
        commit per `batch_size` hits, where the writer thread's commit, taking the GIL
        turn by turn from a busy caller (one `sqlite3_step` a row, each handing the GIL
        back), cost a cached 1,000-case run ~35 ms. An application keeps the default:
        no cache hit ever waits for a commit."""
        self.path = path
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.commit_full_batches = commit_full_batches
        self.dropped = 0  # rows lost to a write error (disk full, …); see last_error
        self.last_error: str | None = None
        self._db = connect(path)  # opened here so a bad path fails loudly
        # checkpoints (the WAL's fsync) run on the writer thread's own connection, never
        # inside a caller's commit: a paid call's record() stays a WAL append
        self._db.execute("PRAGMA wal_autocheckpoint = 0")
        self._pending: list[_Row] = []
        self._appended = 0  # rows ever appended to `_pending`
        self._written = 0  # rows ever taken from it (committed, or dropped on error)
        self._pending_lock = threading.Lock()  # `_pending`, `_appended`, `_closed`
        self._write_lock = threading.Lock()  # the connection, `_written`
        self._closed = False
        self._nowait: sqlite3.Connection | None = None  # `try_record_many`'s (busy timeout 0)
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="promptctl-ledger", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def record(self, record: CallRecord, *, cost_saved_usd: float | None = None) -> None:
        """Append one call; a paid one (not a cache hit) is committed before this returns.

        `cost_saved_usd`: what caching saved, if known (defaults to the record's own
        `cost_saved_usd`, set by the gateway on cache hits).
        """
        saved = cost_saved_usd if cost_saved_usd is not None else record.cost_saved_usd
        self._append([_row(record, saved)], paid=record.outcome != "cached")

    def record_many(self, records: list[CallRecord]) -> None:
        """`record` each of `records` (their own `cost_saved_usd`), in one commit if any is
        paid: the gateway hands over the answers that arrived together (group commit)."""
        rows = [_row(r, r.cost_saved_usd) for r in records]
        self._append(rows, paid=any(r.outcome != "cached" for r in records))

    def try_record_many(self, records: list[CallRecord]) -> bool:
        """`record_many`, only if that needs no waiting: True once the rows are committed;
        False, with nothing recorded, when another thread is writing or the database is
        locked (another process). An event loop calls this itself, and `record_many` on a
        worker thread only when it returns False: one commit of ~20-50 µs (a WAL append,
        no fsync) is cheaper than the hop to a thread and back."""
        return self._commit_now([_row(r, r.cost_saved_usd) for r in records])

    def _commit_now(self, rows: list[_Row]) -> bool:
        """Commit the pending rows and `rows` here, if no other writer holds the ledger:
        True once committed; False, with `rows` not recorded, when one does (or the
        ledger is closed)."""
        if not self._write_lock.acquire(blocking=False):
            return False
        try:
            with self._pending_lock:  # held while writing: nobody appends meanwhile
                if self._closed:
                    return False
                batch = self._pending + rows
                if batch and not self._write_now(batch):
                    return False
                self._pending = []
                self._appended += len(rows)
                self._written = self._appended
            return True
        finally:
            self._write_lock.release()

    def _write_now(self, batch: list[_Row]) -> bool:
        """Commit `batch` on the connection that never waits for a lock; False if it would."""
        db = self._nowait
        try:
            if db is None:
                db = self._nowait = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False, timeout=0
                )
                db.execute("PRAGMA synchronous = NORMAL")
                db.execute("PRAGMA wal_autocheckpoint = 0")  # as `_db`: the writer thread's
            db.execute("BEGIN IMMEDIATE")
            db.executemany(_INSERT, batch)
            db.execute("COMMIT")
            return True
        except Exception:  # busy, or a row SQLite refuses: `record_many` commits (or counts
            # the loss, row by row); the transaction must not stay open holding the lock
            if db is not None and db.in_transaction:
                db.execute("ROLLBACK")
            return False

    def _append(self, rows: list[_Row], *, paid: bool) -> None:
        with self._pending_lock:  # nothing may slip in behind close()
            if self._closed:
                self.dropped += len(rows)
                self.last_error = "record() after close()"
                return
            self._pending.extend(rows)
            self._appended += len(rows)
            seq, waiting = self._appended, len(self._pending)
        if paid:
            self._commit(seq)
        elif waiting >= self.batch_size and not (self.commit_full_batches and self._commit_now([])):
            self._wake.set()

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Commit every row recorded so far (`timeout` is kept for compatibility)."""
        with self._pending_lock:
            seq = self._appended
        self._commit(seq)
        return True

    def close(self) -> None:
        """Write what is pending and stop the writer; idempotent."""
        with self._pending_lock:
            if self._closed:
                return
            self._closed = True
            seq = self._appended
        self._wake.set()
        self._thread.join()
        self._commit(seq)
        with self._write_lock:
            self._db.close()
            if self._nowait is not None:
                self._nowait.close()
        atexit.unregister(self.close)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        """Commit cache-hit rows left pending: every `flush_interval_s`, or at batch size;
        and checkpoint the WAL into the database now and then (PASSIVE: writers go on)."""
        checkpointer = sqlite3.connect(self.path, isolation_level=None, timeout=5.0)
        checkpointed = 0
        try:
            while True:
                self._wake.wait(self.flush_interval_s)
                self._wake.clear()
                with self._pending_lock:
                    closed, seq = self._closed, self._appended
                self._commit(seq)
                if self._written - checkpointed >= _CHECKPOINT_ROWS or (closed and seq):
                    checkpointed = self._written
                    # busy readers: the next round (or the next open) does it
                    with contextlib.suppress(sqlite3.Error):
                        checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
                if closed:
                    return
        finally:
            checkpointer.close()

    def _commit(self, seq: int) -> None:
        """Make rows up to number `seq` durable; one commit takes every row pending."""
        with self._write_lock:
            if self._written >= seq:
                return  # another thread's commit already took it (group commit)
            with self._pending_lock:
                batch, self._pending = self._pending, []
                self._written = self._appended
            self._write(batch)

    def _write(self, batch: list[_Row]) -> None:
        if not batch:
            return
        try:
            self._db.execute("BEGIN")
            self._db.executemany(_INSERT, batch)
            self._db.execute("COMMIT")
        except Exception as exc:  # a bad batch (disk full, …) must not break the caller
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            if len(batch) > 1:  # a group commit: one row SQLite refuses loses only itself
                for row in batch:
                    self._write([row])
                return
            self.dropped += 1
            self.last_error = str(exc)


def _row(rec: CallRecord, cost_saved_usd: float | None) -> _Row:
    ctx, usage = rec.context, rec.usage
    return (
        rec.timestamp,
        ctx.source,
        ctx.prompt_id,
        ctx.prompt_version,
        ctx.prompt_hash,
        ctx.test,
        _tags_json(tuple(ctx.tags)),
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
        int(rec.usage_known),
        json.dumps([list(d) for d in ctx.context_degraded]) if ctx.context_degraded else None,
        _trimmed(ctx, rec.target),
        ctx.operation,
    )


@functools.lru_cache(maxsize=256)
def _tags_json(tags: tuple[str, ...]) -> str:
    """A prompt's tags as stored (JSON list): the same few tuples on every row."""
    return json.dumps(list(tags))


def _trimmed(ctx: CallContext, target: str) -> str | None:
    """JSON of the history this row's request left out (`Trim` without its target)."""
    trims = [t for t in ctx.context_trimmed if t.target == target]
    if not trims:
        return None
    keys = ("reason", "messages_dropped", "tokens_dropped")
    return json.dumps([{k: getattr(t, k) for k in keys} for t in trims])


# the PostgreSQL ledger (ledger/postgres.py) writes exactly these rows
COLUMNS = _COLUMNS
Row = _Row
to_row = _row
