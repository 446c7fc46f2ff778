"""The PostgreSQL ledger's local spool: an append-only, fsync'd file of rows on their way.

`record()` only queues a row; a writer thread appends each batch to this file as one
frame, durably (one synchronous write per batch), and a drainer ships the file's bytes to
PostgreSQL. The file holds rows already in COPY's text format, so draining is a plain
`COPY ... FROM STDIN` of the file's bytes: no row is parsed in Python twice.

Layout: a header line `promptctl-ledger-spool 1 <col>,<col>,...\\n` (the columns, so a
spool written by an older version still drains into the right ones), then frames
`#<body bytes> <crc32 hex>\\n<body>`. A frame torn by a crash fails its length or its
checksum; reading stops there (what was after it was never fsynced).

Each live spool is held by its process with an exclusive `flock`; a file whose lock can
be taken belongs to a process that died, and any process on the same ledger may claim
it and drain it (exactly once: the drained offset is committed with the rows).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import uuid
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SPOOL_ENV", "Spool", "encode_rows", "spool_dir_for"]

SPOOL_ENV = "PROMPTCTL_LEDGER_SPOOL"
_MAGIC = b"promptctl-ledger-spool 1 "
_DSYNC = getattr(os, "O_DSYNC", 0)  # each write returns once on disk (else: an fsync)
_SUFFIX = ".spool"
# COPY text format: backslash, tab, newline and carriage return are escaped; PostgreSQL
# text cannot hold NUL, so it becomes U+FFFD rather than failing the whole batch.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\ufffd"})


def spool_dir_for(url_shown: str, base: str | Path | None) -> Path:
    """The directory of one ledger's spools: `base`, else $PROMPTCTL_LEDGER_SPOOL, else
    the user's state directory ($XDG_STATE_HOME, else ~/.local/state)/promptctl/
    ledger-spool — not the working directory, which is the application's — then a
    digest of the password-free URL, so a spool is never drained into another database."""
    root = base or os.environ.get(SPOOL_ENV)
    if not root:
        state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
        root = Path(state) / "promptctl" / "ledger-spool"
    return Path(root) / hashlib.sha256(url_shown.encode()).hexdigest()[:16]


def _field(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, float):
        return repr(value)  # 'inf'/'nan' are valid double precision input
    return str(value)


def encode_rows(rows: Iterable[Sequence[object]]) -> bytes:
    """Rows as COPY text: one line each, fields tab-separated, NULL as \\N."""
    return "".join("\t".join(map(_field, row)) + "\n" for row in rows).encode()


@dataclass
class Frames:
    """What `Spool.read` found: the COPY bytes, the offset after them, their row count,
    and whether reading stopped at a torn or corrupt frame."""

    body: bytes
    end: int
    rows: int
    torn: bool


class Spool:
    """One spool file, open and `flock`ed by this process."""

    def __init__(self, path: Path, fd: int, columns: tuple[str, ...], data_start: int) -> None:
        self.path = path
        self.name = path.stem
        self.columns = columns
        self.data_start = data_start
        self._fd = fd
        self.end = os.fstat(fd).st_size  # after the last frame written (and fsynced)

    @classmethod
    def create(cls, directory: Path, columns: Sequence[str]) -> Spool:
        """A new, locked spool; it gets its final name only once locked, so no other
        process can take it for an orphan."""
        directory.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        tmp = directory / f"{name}.tmp"
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | _DSYNC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            header = _MAGIC + ",".join(columns).encode() + b"\n"
            os.write(fd, header)
            os.fsync(fd)
            final = directory / f"{name}{_SUFFIX}"
            os.replace(tmp, final)
            _fsync_dir(directory)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return cls(final, fd, tuple(columns), len(header))

    @classmethod
    def claim(cls, path: Path) -> Spool | None:
        """Take a spool whose process died, or None (alive, gone, or not a spool)."""
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | _DSYNC)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(path).st_ino != os.fstat(fd).st_ino:
                raise OSError("removed by the process that drained it")
            head = os.pread(fd, 65536, 0).split(b"\n", 1)[0]
            if not head.startswith(_MAGIC):
                raise OSError("not a ledger spool")
        except OSError:
            os.close(fd)
            return None
        columns = tuple(head[len(_MAGIC) :].decode().split(","))
        return cls(path, fd, columns, len(head) + 1)

    @staticmethod
    def orphans(directory: Path, *, besides: str) -> list[Path]:
        """Spool files in `directory` other than `besides` (oldest first); some may be alive."""
        try:
            found = [p for p in directory.glob(f"*{_SUFFIX}") if p.stem != besides]
        except OSError:
            return []
        return sorted(found, key=_mtime)

    def append(self, body: bytes) -> int:
        """Write one frame, durably (the file is O_DSYNC: the write is the fsync); the new
        end. On error the file is cut back to the last whole frame (so later frames stay
        readable) and the error raised."""
        frame = b"#%d %08x\n" % (len(body), zlib.crc32(body)) + body
        try:
            written = os.write(self._fd, frame)
            if written != len(frame):
                raise OSError(f"short write to the ledger spool {self.path}")
            if not _DSYNC:
                os.fsync(self._fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self.end)
            raise
        self.end += len(frame)
        return self.end

    def read(self, start: int, end: int, max_bytes: int = 16 << 20) -> Frames:
        """The whole frames in [start, end), up to about `max_bytes` of rows."""
        bodies: list[bytes] = []
        size, rows, offset = 0, 0, start
        while offset < end and size < max_bytes:
            head = os.pread(self._fd, 32, offset)
            line, sep, _ = head.partition(b"\n")
            parts = line[1:].split() if sep and line[:1] == b"#" else []
            try:
                length, crc = int(parts[0]), int(parts[1], 16)
            except (IndexError, ValueError):
                return Frames(b"".join(bodies), offset, rows, True)
            body_at = offset + len(line) + 1
            body = os.pread(self._fd, length, body_at)
            if len(body) != length or zlib.crc32(body) != crc or body_at + length > end:
                return Frames(b"".join(bodies), offset, rows, True)
            bodies.append(body)
            size += length
            rows += body.count(b"\n")
            offset = body_at + length
        return Frames(b"".join(bodies), offset, rows, False)

    def remove(self) -> None:
        """Delete the file (drained) and let it go."""
        with contextlib.suppress(OSError):
            self.path.unlink()
        self.release()

    def release(self) -> None:
        """Let the file go (unlocked) for the next process to drain."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mtime(path: Path) -> float:
    """When `path` was last written; 0.0 if it is gone (another process that drained it
    removed it between the listing and this look: `exists()` then `stat()` raced)."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
