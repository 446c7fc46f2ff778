"""The call ledger in PostgreSQL: one table for a whole fleet of processes.

Same table and columns as the SQLite ledger (store.py), the same append-only migrations
(migrations.PG_MIGRATIONS, recorded in `_migrations`, applied under a transaction-level
advisory lock so processes starting at once migrate exactly once).

Writing goes through a local spool (spool.py) so `record()` is an enqueue (~1 µs): a
writer thread appends each batch of rows to the spool file with one synchronous write
(O_DSYNC: the write is the fsync), `sync_interval_s` (5 ms) after the batch's first row;
a drainer thread ships the spool to PostgreSQL with COPY every `drain_interval_s`
(50 ms), committing in the same transaction how far the spool is drained
(`_ledger_spools`), so a row reaches the table exactly once whoever drains it.
Durability (docs/deployment.md): a clean shutdown loses nothing, even with the database
down (the spool stays on disk, and a process that finds a spool whose owner died drains
it at start); a crash of the process or of the machine loses only the rows not yet on
disk: those of the last batch window, ~5-30 ms while the writer gets the CPU, and never
more than `batch_size` queued rows (record() waits for the writer beyond that).

When PostgreSQL cannot be reached, `record()` does not fail the call: rows go on into
the spool (up to `max_spool_bytes`, 1 GiB; beyond that new rows are dropped and counted
in `dropped`), the drainer retries every `retry_interval_s` and writes the backlog, in
order, once it is back.

Credentials come from the URL's environment (PROMPTCTL_LEDGER) or libpq's own variables
(PGPASSWORD, PGPASSFILE, …); the password never appears in a message.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from pathlib import Path
from typing import Any

from promptctl.errors import ConfigError
from promptctl.ledger.pg_connect import (
    apply_pg_migrations,
    is_pg_url,
    ledger_location,
    pg_connect,
    scrub,
)
from promptctl.ledger.spool import SPOOL_ENV, Spool, encode_rows, spool_dir_for
from promptctl.ledger.store import COLUMNS, to_row
from promptctl.providers.shared_state import redact_url
from promptctl.providers.types import CallRecord

__all__ = [
    "PgLedger",
    "apply_pg_migrations",
    "is_pg_url",
    "ledger_location",
    "pg_connect",
    "redact_url",
]

log = logging.getLogger("promptctl.ledger")
_ORPHAN_SCAN_S = 60.0  # how often a live process looks for spools left by dead ones
_SET_PROGRESS = (
    "INSERT INTO _ledger_spools VALUES (%s, %s, %s)"
    " ON CONFLICT (spool) DO UPDATE"
    " SET drained = EXCLUDED.drained, updated_at = EXCLUDED.updated_at"
)


class PgLedger:
    """Thread-safe, append-only writer of `CallRecord`s to PostgreSQL (see module doc)."""

    def __init__(
        self,
        url: str,
        *,
        spool_dir: str | Path | None = None,
        sync_interval_s: float = 0.005,
        batch_size: int = 20_000,
        drain_interval_s: float = 0.05,
        retry_interval_s: float = 0.2,
        max_spool_bytes: int = 1 << 30,
        rotate_bytes: int = 64 << 20,
        close_timeout_s: float = 10.0,
    ) -> None:
        self.url = url
        self.path = redact_url(url)  # what messages show
        self.sync_interval_s = sync_interval_s
        self.batch_size = batch_size
        self.drain_interval_s = drain_interval_s
        self.retry_interval_s = retry_interval_s
        self.max_spool_bytes = max_spool_bytes
        self.rotate_bytes = rotate_bytes
        self.close_timeout_s = close_timeout_s
        self.dropped = 0  # rows lost: spool full or unwritable, bad data, record() after close
        self.last_error: str | None = None
        self._db: Any = pg_connect(url)  # a bad URL or a down server fails loudly at start
        self.spool_dir = spool_dir_for(self.path, spool_dir)
        try:
            self._spool = Spool.create(self.spool_dir, COLUMNS)
        except OSError as exc:
            self._db.close()
            raise ConfigError(
                f"cannot create the ledger spool in {self.spool_dir}: {exc.strerror or exc}",
                hint=f"set {SPOOL_ENV} to a writable directory (docs/deployment.md)",
            ) from None
        self._drained = self._spool.data_start  # own spool: offset committed in PostgreSQL
        self._pending: list[tuple[CallRecord, float | None]] = []
        self._appended = 0
        self._lock = threading.Lock()  # _pending, _appended, _closed, _urgent
        self._file_lock = threading.Lock()  # which spool is ours (writer appends, drainer rotates)
        self._progress = threading.Condition()  # the counters flush() waits on
        self._synced_seq = 0  # rows taken by the writer (fsynced, or dropped)
        self._synced_bytes = 0  # bytes ever fsynced into our spools
        self._drained_bytes = 0  # of those, bytes committed to PostgreSQL
        self._unsure: set[str] = set()  # spools whose last commit may or may not have landed
        self._closed = self._closing = self._urgent = False
        self._close_deadline = 0.0
        self._down_since: float | None = None
        self._full_logged = False
        self._wake_writer = threading.Event()
        self._hurry = threading.Event()  # flush() or close(): cut the batch window short
        self._wake_drainer = threading.Event()
        self._drain_now = threading.Event()  # flush() or close(): no waiting for rows to gather
        self._writer = threading.Thread(target=self._write_loop, name="promptctl-pg-spool")
        self._drainer = threading.Thread(target=self._drain_loop, name="promptctl-pg-ledger")
        self._writer.daemon = self._drainer.daemon = True
        self._writer.start()
        self._drainer.start()
        atexit.register(self.close)

    def record(self, record: CallRecord, *, cost_saved_usd: float | None = None) -> None:
        """Queue one call (the writer fsyncs it to the spool within `sync_interval_s`)."""
        with self._lock:
            if self._closed:
                self.dropped += 1
                self.last_error = "record() after close()"
                return
            self._pending.append((record, cost_saved_usd))
            self._appended += 1
            seq, waiting = self._appended, len(self._pending)
        if waiting == 1:
            self._wake_writer.set()
        elif waiting >= self.batch_size:  # the writer fell behind: wait for it (bounded loss)
            self._hurry.set()
            self._wake_writer.set()
            with self._progress:
                self._progress.wait_for(lambda: self._synced_seq >= seq - self.batch_size, 5.0)

    def record_many(self, records: list[CallRecord]) -> None:
        """`record` each of `records` (the gateway hands over answers in batches)."""
        for record in records:
            self.record(record)

    def try_record_many(self, records: list[CallRecord]) -> bool:
        """Never on the caller's thread: `record` may wait for the spool writer."""
        return False

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every row recorded so far is in PostgreSQL; False after `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            seq, self._urgent = self._appended, True
        self._hurry.set()
        self._wake_writer.set()
        with self._progress:
            if not self._progress.wait_for(lambda: self._synced_seq >= seq, _left(deadline)):
                return False
            target = self._synced_bytes
            self._drain_now.set()
            self._wake_drainer.set()
            return self._progress.wait_for(lambda: self._drained_bytes >= target, _left(deadline))

    def close(self) -> None:
        """Fsync what is queued, drain the spool (waiting up to `close_timeout_s` for the
        database) and stop; a spool left undrained is kept for the next process. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._hurry.set()
        self._wake_writer.set()
        self._writer.join()
        self._close_deadline = time.monotonic() + self.close_timeout_s
        self._closing = True
        self._drain_now.set()
        self._wake_drainer.set()
        self._drainer.join()
        spool = self._spool
        if self._drained >= spool.end:
            spool.remove()
            self._forget(spool.name)
        else:
            spool.release()
            log.error(
                "ledger %s unreachable at exit (%s): %d bytes of rows kept in %s; the next "
                "process using this ledger writes them",
                self.path,
                self.last_error,
                spool.end - self._drained,
                spool.path,
            )
        self._db.close()
        atexit.unregister(self.close)

    def __enter__(self) -> PgLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writer: queue -> spool ---------------------------------------------------------

    def _write_loop(self) -> None:
        # Each blocking call here gives up the GIL, and getting it back from a busy
        # application thread takes up to one switch interval (5 ms): so one wait per
        # batch while rows keep coming, and the write is the fsync (O_DSYNC).
        batch: list[tuple[CallRecord, float | None]] = []
        while True:
            if not batch:  # idle: sleep until a row comes
                self._wake_writer.wait()
                self._wake_writer.clear()
            if not (self._urgent or self._closed):  # gather a batch: one fsync for all of it
                self._hurry.wait(self.sync_interval_s)
            self._hurry.clear()
            with self._lock:
                batch, self._pending = self._pending, []
                seq, closed, self._urgent = self._appended, self._closed, False
            try:
                added = self._append(batch) if batch else 0
            except Exception as exc:  # a row that cannot be encoded: never stop the writer
                added = self._drop(len(batch), f"cannot encode rows: {exc!r}")
            with self._progress:
                self._synced_seq = seq
                self._synced_bytes += added
                self._progress.notify_all()
            if added:
                self._wake_drainer.set()
            if closed:
                return

    def _append(self, batch: list[tuple[CallRecord, float | None]]) -> int:
        body = encode_rows(
            to_row(rec, saved if saved is not None else rec.cost_saved_usd) for rec, saved in batch
        )
        with self._file_lock:
            spool = self._spool
            if spool.end - self._drained > self.max_spool_bytes:
                return self._drop(len(batch), f"spool over {self.max_spool_bytes} bytes")
            before = spool.end
            try:
                return spool.append(body) - before
            except OSError as exc:
                return self._drop(len(batch), f"cannot write the spool: {exc.strerror or exc}")

    def _drop(self, rows: int, why: str) -> int:
        self.dropped += rows
        self.last_error = why
        if not self._full_logged:
            self._full_logged = True
            log.error("ledger %s: %s; rows are being dropped", self.path, why)
        return 0

    # ---- drainer: spool -> PostgreSQL -----------------------------------------------------

    def _drain_loop(self) -> None:
        scanned = self._scan_orphans()
        while True:
            down = self._down_since is not None
            self._wake_drainer.wait(self.retry_interval_s if down else _ORPHAN_SCAN_S)
            self._wake_drainer.clear()
            if not down:  # let rows gather: fewer round trips, fewer GIL hand-overs
                self._drain_now.wait(self.drain_interval_s)
            self._drain_now.clear()
            closing = self._closing
            ok = self._drain_own()
            if ok and (not scanned or time.monotonic() - scanned > _ORPHAN_SCAN_S):
                scanned = self._scan_orphans()
            if closing and (ok or time.monotonic() > self._close_deadline):
                return

    def _drain_own(self) -> bool:
        with self._file_lock:
            spool, end = self._spool, self._spool.end
        drained = self._drain(spool, self._drained, end)
        if drained is None:
            return False
        with self._progress:
            self._drained_bytes += drained - self._drained
            self._drained = drained
            self._progress.notify_all()
        if drained >= self.rotate_bytes:
            self._rotate()
        return True

    def _rotate(self) -> None:
        """A drained spool past `rotate_bytes` is replaced by a new one (files stay small)."""
        with self._file_lock:
            old = self._spool
            if old.end != self._drained:
                return  # rows arrived meanwhile: next time
            try:
                self._spool = Spool.create(self.spool_dir, COLUMNS)
            except OSError:
                return
            self._drained = self._spool.data_start
        old.remove()
        self._forget(old.name)

    def _scan_orphans(self) -> float:
        """`_drain_orphans`, which must never stop this thread: a failure there (a race
        with another process on the same spool, a bug) is logged, and this process's own
        rows go on being written; the next scan tries the other spools again."""
        try:
            return self._drain_orphans()
        except Exception as exc:
            log.warning("ledger %s: reading other processes' spools failed: %s", self.path, exc)
            return time.monotonic()

    def _drain_orphans(self) -> float:
        """Drain spools left by processes that died; the time of the scan, 0.0 if down."""
        for path in Spool.orphans(self.spool_dir, besides=self._spool.name):
            spool = Spool.claim(path)
            if spool is None:
                continue  # alive, or already drained by another process
            try:
                if not set(spool.columns) <= set(COLUMNS):
                    log.error("ledger spool %s has unknown columns: left as it is", path)
                    continue
                self._unsure.add(spool.name)  # where did the dead process get to?
                if self._drain(spool, spool.data_start, spool.end) is None:
                    return 0.0
                log.warning(
                    "ledger %s: rows left by a stopped process written (%s)", self.path, path
                )
                spool.remove()
                self._forget(spool.name)
            finally:
                spool.release()
        return time.monotonic()

    def _drain(self, spool: Spool, start: int, end: int) -> int | None:
        """Ship `spool`'s frames in [start, end) to PostgreSQL; how far it got, None if down."""
        import psycopg

        offset, max_bytes = start, 16 << 20
        frames = None
        while offset < end:
            try:
                if self._db.closed or self._db.broken:
                    self._db.close()
                    self._db = pg_connect(self.url, migrate=False)
                if spool.name in self._unsure:
                    row = self._db.execute(
                        "SELECT drained FROM _ledger_spools WHERE spool = %s", (spool.name,)
                    ).fetchone()
                    offset = max(offset, int(row[0]) if row else 0)
                    self._unsure.discard(spool.name)
                    if offset >= end:
                        break
                frames = spool.read(offset, end, max_bytes)
                if frames.torn:
                    log.error(
                        "ledger spool %s: a torn frame at byte %d (a crash mid-write); the "
                        "%d bytes after it are skipped",
                        spool.path,
                        frames.end,
                        end - frames.end,
                    )
                done = end if frames.torn else frames.end
                self._unsure.add(spool.name)
                with self._db.transaction(), self._db.cursor() as cur:
                    if frames.body:
                        columns = ", ".join(spool.columns)
                        with cur.copy(f"COPY calls ({columns}) FROM STDIN") as copy:
                            copy.write(frames.body)
                    cur.execute(_SET_PROGRESS, (spool.name, done, time.time()))
                self._unsure.discard(spool.name)
            except (psycopg.DataError, psycopg.IntegrityError) as exc:
                self._unsure.discard(spool.name)  # rolled back, and the connection is fine
                if max_bytes > 1:  # find the bad frame: one frame at a time from here
                    max_bytes = 1
                    continue
                assert frames is not None  # only COPY raises these
                self.dropped += frames.rows
                self.last_error = scrub(self.url, str(exc).strip().splitlines()[0])
                log.error(
                    "ledger %s: %d rows refused (%s)", self.path, frames.rows, self.last_error
                )
                done = frames.end
                try:
                    self._db.execute(_SET_PROGRESS, (spool.name, done, time.time()))
                except psycopg.Error:
                    self._unsure.add(spool.name)
                    self._down()
                    return None
            except Exception as exc:  # down: the spool keeps the rows, the caller never fails
                self.last_error = scrub(
                    self.url, str(exc).strip().splitlines()[0] if str(exc) else ""
                )
                self._down()
                return None
            offset = done
            if self._down_since is not None:
                self._down_since = None
                log.warning("ledger %s is reachable again: spooled rows written", self.path)
        return max(offset, start)

    def _down(self) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning(
                "ledger %s unreachable (%s): rows are kept in the spool, written when it is back",
                self.path,
                self.last_error,
            )

    def _forget(self, name: str) -> None:
        """Drop a removed spool's progress row (a leftover is harmless: its file is gone)."""
        try:
            self._db.execute("DELETE FROM _ledger_spools WHERE spool = %s", (name,))
        except Exception:  # best effort: the database may be down at exit
            return


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())
