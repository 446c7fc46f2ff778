"""A content-addressed response cache in SQLite (`.promptctl/cache.sqlite`).

Keyed by `ChatRequest.cache_key(repeat=…)`. WAL mode and a busy timeout make it safe
for several processes (parallel CI jobs) and threads writing at once; a write is one
`INSERT OR REPLACE`, so a race between two writers of the same key is harmless.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from promptctl.errors import ProviderError
from promptctl.promptfile.json_text import loads_clean
from promptctl.providers.codec import response_from_data, response_to_data
from promptctl.providers.types import ChatResponse

__all__ = ["CacheDamaged", "CacheStats", "ResponseCache"]

log = logging.getLogger(__name__)


class CacheDamaged(Exception):
    """The cache file is not a readable SQLite database (`stats` says so; `clear` removes it)."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class CacheStats:
    path: Path
    entries: int
    size_bytes: int
    by_target: dict[str, int]


_SORTED_JSON = json.JSONEncoder(
    sort_keys=True
)  # once: json.dumps(..., sort_keys) makes one per call
_SELECT = "SELECT response FROM responses WHERE key = ?"

# an answer held for the next batch: the response, its redaction, when it was stored
_Held = tuple[ChatResponse, "Callable[[str], str] | None", float]


def _row(key: str, held: _Held) -> tuple[str, str, str, float]:
    """The table row of a held answer: its stored form (JSON), redacted."""
    response, redact, created_at = held
    payload = _SORTED_JSON.encode(response_to_data(response))
    if redact is not None:
        payload = redact(payload)
    return key, response.target, payload, created_at


_KEYS = "SELECT key FROM responses LIMIT ?"
_INSERT = "INSERT OR REPLACE INTO responses (key, target, response, created_at) VALUES (?, ?, ?, ?)"


def _retry_locked(step: Callable[[], object], timeout_s: float) -> None:
    """Run `step`, retrying while another connection holds the lock.

    SQLite's busy handler does not cover every lock: switching to WAL and the first
    schema write can fail at once with "database is locked" while another process is
    doing the same, so those two steps are retried here.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


_CHECKPOINT_ROWS = 1000  # a batched writer checkpoints after this many rows (~1 per case)


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    """A file that is not a database, or a damaged one; not a lock held too long (an
    OperationalError, which callers raise as before)."""
    return not isinstance(exc, sqlite3.OperationalError) or "malformed" in str(exc)


def _checkpoint(path: Path, timeout_s: float) -> None:
    conn = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:
        pass  # busy readers or writers: the next one (or the last close) does it
    finally:
        conn.close()


_SNAPSHOT_MAX = 20_000  # keys read at once by `key_snapshot` (~3 MB); a larger cache: none
_RECHECK_S = 1.0  # how often a snapshot asks whether another process wrote meanwhile


class ResponseCache:
    """`write_batch` > 1 holds written answers in memory and inserts them that many at a
    time, in one transaction (`flush()`, and `close()`, write the rest): an evaluation
    stores one answer per case, and one commit each was ~5% of its CPU. Reads see the
    held answers; another process sees them only once flushed.

    `key_snapshot` (an evaluation's): the cache's keys are read once, at the first
    lookup (up to `_SNAPSHOT_MAX` of them), and a key not among them nor written since is
    a miss without a query: a case the cache cannot answer (every case of a first run)
    cost a SELECT, ~20 µs of its CPU. An answer another process (a parallel job) stores
    meanwhile is found within `_RECHECK_S`: the keys are read again once SQLite's
    `data_version` says another connection wrote."""

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_s: float = 30.0,
        write_batch: int = 1,
        key_snapshot: bool = False,
    ) -> None:
        self.path = path
        self._key_snapshot = key_snapshot
        self._known: set[str] | None = None  # the snapshot, and every key written since
        self._version = -1  # `PRAGMA data_version` when the snapshot was read
        self._recheck_at = 0.0
        self._timeout = busy_timeout_s
        self._local = threading.local()
        self._write_batch = write_batch
        # key -> an answer not yet written: encoded when its batch is (`_row`), the 64 of a
        # batch one after the other while the encoder's code is in the CPU's caches
        self._held: dict[str, _Held] = {}
        self._held_lock = threading.Lock()
        self._unchecked = 0  # rows written since the last checkpoint was started
        self._checkpoint: threading.Thread | None = None
        self._damage: str | None = None  # why the file cannot be used, once seen
        self._bad_entries = 0  # entries read that were not answers (each a miss)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
            try:
                conn.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
                _retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"), self._timeout)
                conn.execute("PRAGMA synchronous=NORMAL")
                if self._write_batch > 1:  # checkpoints (copy + fsync) off the caller's loop
                    conn.execute("PRAGMA wal_autocheckpoint=0")
                _retry_locked(lambda: conn.execute(_SCHEMA), self._timeout)
            except BaseException:
                conn.close()
                raise
            self._local.conn = conn
        return conn

    def get(self, key: str) -> ChatResponse | None:
        """The answer stored under `key`, marked `cached`; None if there is none."""
        held = self._held.get(key) if self._held else None
        if held is not None:
            return response_from_data(loads_clean(_row(key, held)[2]), cached=True)
        if self._damage is not None or not self._may_hold(key):
            return None
        try:
            # fetchall, not fetchone: a statement stepped to its end is reset at once and
            # reused; one left open was prepared again (~3x the lookup, 20 µs in a run)
            rows = self._conn().execute(_SELECT, (key,)).fetchall()
        except sqlite3.DatabaseError as exc:
            self._damaged(exc)
            return None
        if not rows:
            return None
        try:
            return response_from_data(loads_clean(rows[0][0]), cached=True)
        except (ValueError, TypeError, RecursionError, ProviderError) as exc:
            self.note_bad_entry(exc)  # a miss: the live answer replaces the entry
            return None

    def _may_hold(self, key: str) -> bool:
        """False when `key` is certainly not stored (`key_snapshot`); True otherwise."""
        if not self._key_snapshot:
            return True
        known = self._known
        if known is None or time.monotonic() >= self._recheck_at:
            try:
                known = self._read_keys(known)
            except sqlite3.DatabaseError as exc:
                self._damaged(exc)
                return False
            if known is None:
                return True
        return key in known

    def _read_keys(self, known: set[str] | None) -> set[str] | None:
        """The snapshot, read again if another connection has written since (SQLite's
        `data_version`, asked at most every `_RECHECK_S`); None when the cache holds
        too many keys for one (then each lookup queries). A cache nobody has written yet
        holds nothing: its file is made with its first answer, not before the first
        lookup (~2 ms of a fresh run's start, a CI machine's every run)."""
        if getattr(self._local, "conn", None) is None and not os.path.exists(self.path):
            self._recheck_at = time.monotonic() + _RECHECK_S
            self._known = fresh = {*(known or ()), *self._held}
            return fresh  # (`_version` unchanged: the keys are read once there is a file)
        conn = self._conn()
        self._recheck_at = time.monotonic() + _RECHECK_S
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if known is not None and version == self._version:
            return known
        rows = conn.execute(_KEYS, (_SNAPSHOT_MAX + 1,)).fetchall()
        if len(rows) > _SNAPSHOT_MAX:
            self._key_snapshot = False
            self._known = None
            return None
        self._version = version
        fresh = {row[0] for row in rows}
        if self._held:
            fresh.update(self._held)
        self._known = fresh
        return fresh

    def note_bad_entry(self, exc: Exception) -> None:
        """An entry that does not read back as an answer (a damaged or edited file) is a
        miss; the run says so once."""
        if not self._bad_entries:
            log.warning(
                "the response cache %s holds an entry that is not a readable answer (%s): "
                "it is read as a miss and replaced; `promptctl cache clear` removes them all",
                self.path,
                str(exc)[:200],
            )
        self._bad_entries += 1

    def has(self, key: str) -> bool:
        """Whether `key` is cached, without loading (or parsing) the response."""
        if self._held and key in self._held:
            return True
        if self._damage is not None or not self._may_hold(key):
            return False
        try:
            rows = self._conn().execute("SELECT 1 FROM responses WHERE key = ?", (key,)).fetchall()
        except sqlite3.DatabaseError as exc:
            self._damaged(exc)
            return False
        return bool(rows)

    def put(
        self, key: str, response: ChatResponse, *, redact: Callable[[str], str] | None = None
    ) -> None:
        if self._damage is not None:
            return
        held = (response, redact, time.time())
        if self._known is not None:
            self._known.add(key)
        if self._write_batch <= 1:
            try:
                self._conn().execute(_INSERT, _row(key, held))
            except sqlite3.DatabaseError as exc:
                self._damaged(exc)
            return
        with self._held_lock:
            self._held[key] = held
            full = len(self._held) >= self._write_batch
        if full:
            self.flush()

    def flush(self) -> None:
        """Write the held answers (one transaction)."""
        with self._held_lock:
            held, self._held = self._held, {}
        rows = [_row(key, answer) for key, answer in held.items()]
        if not rows or self._damage is not None:
            return
        try:
            conn = self._conn()
            conn.execute("BEGIN")
            try:
                conn.executemany(_INSERT, rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._damaged(exc)
            return
        self._unchecked += len(rows)
        if self._unchecked >= _CHECKPOINT_ROWS:
            self._start_checkpoint()

    def _damaged(self, exc: sqlite3.DatabaseError) -> None:
        """A file that is not a database (or a damaged one) is no cache: this run goes on
        without it, saying so once. A lock held too long is not damage: it raises."""
        if not _is_damage(exc):
            raise exc
        if self._damage is None:
            self._damage = str(exc)
            log.warning(
                "the response cache %s is damaged (%s): this run neither reads nor writes "
                "it; `promptctl cache clear` removes it",
                self.path,
                exc,
            )

    def _start_checkpoint(self) -> None:
        """Copy the WAL into the database on a thread of its own (PASSIVE: writers go
        on). A batched writer turned SQLite's automatic checkpoints off: run inside a
        commit, on the evaluation's event loop, each stalled it for up to ~80 ms (the
        copy and an fsync)."""
        running = self._checkpoint
        if running is not None and running.is_alive():
            return  # the next flush starts another
        self._unchecked = 0
        self._checkpoint = threading.Thread(
            target=_checkpoint, args=(self.path, self._timeout), daemon=True
        )
        self._checkpoint.start()

    def stats(self) -> CacheStats:
        """Entries and size; CacheDamaged when the file is not a readable database."""
        self.flush()
        if not self.path.exists():
            return CacheStats(self.path, 0, 0, {})
        try:
            rows = (
                self._conn()
                .execute("SELECT target, COUNT(*) FROM responses GROUP BY target ORDER BY target")
                .fetchall()
            )
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):
                raise
            raise CacheDamaged(str(exc)) from None
        by_target = {str(t): int(n) for t, n in rows}
        return CacheStats(self.path, sum(by_target.values()), self._size(), by_target)

    def _size(self) -> int:
        return sum(
            p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file()
        )

    def clear(self) -> int | None:
        """Delete every entry; returns how many there were. A damaged file is removed
        whole (with its WAL), and None says so: its entries cannot be counted."""
        self.flush()
        if not self.path.exists():
            return 0
        try:
            conn = self._conn()
            count = int(conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
            conn.execute("DELETE FROM responses")
            self._known = None  # read again (empty) by the next lookup
            conn.execute("VACUUM")
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):
                raise
            self.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return None
        return count

    def close(self) -> None:
        """Write the held answers, then close this thread's connection."""
        self.flush()
        self._known = None
        running = self._checkpoint
        if running is not None:
            running.join()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
