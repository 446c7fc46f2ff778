"""The release directory: published bundles, `index.json`, and a `latest` pointer.

Every file is written atomically (temp file in the same directory, fsync, os.replace),
so a reader never sees half a bundle. A publish holds an exclusive `fcntl.flock` on
`releases/.lock` from reading the index to writing it, so two publishes that race are
serialized and the immutability check sees the other's result. Published `id@version`
are immutable: the same version with another content hash is refused.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptctl.errors import BundleError, PublishError

__all__ = [
    "INDEX_SCHEMA",
    "ReleaseDir",
    "ReleaseResult",
    "atomic_write",
    "bundle_file_name",
    "immutability_refusals",
]

INDEX_SCHEMA = "promptctl/releases@1"


@dataclass(frozen=True)
class ReleaseResult:
    path: Path
    digest: str
    new_versions: tuple[str, ...]  # `id@version` published for the first time
    already_present: bool  # the very same bundle file was already there


def bundle_file_name(digest: str) -> str:
    """Deterministic from the digest: the same bundle always lands in the same file."""
    hexdigest = digest.removeprefix("sha256:")
    return f"bundle-{hexdigest[:12]}.bundle.json"


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def immutability_refusals(
    entries: Sequence[tuple[str, str, str]], published: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """One line per `(id, version, content_hash)` that would change a published version."""
    out = []
    for prompt_id, version, content_hash in entries:
        known = published.get(f"{prompt_id}@{version}")
        if known is not None and known.get("content_hash") != content_hash:
            out.append(
                f"{prompt_id}@{version} is already published with {known.get('content_hash')} "
                f"(in {known.get('bundle')}); bump the version"
            )
    return out


class ReleaseDir:
    """One release directory; `publish` is the only writer and holds the lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.index_path = path / "index.json"
        self.latest_path = path / "latest"

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive, blocking, released by the OS if the process dies."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".lock", "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def read_index(self) -> dict[str, Any]:
        if not self.index_path.exists():
            return {"schema": INDEX_SCHEMA, "published": {}, "bundles": []}
        try:
            index: dict[str, Any] = json.loads(self.index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BundleError(f"{self.index_path} is unreadable: {exc}") from exc
        if index.get("schema") != INDEX_SCHEMA:
            raise BundleError(f"{self.index_path}: unsupported schema {index.get('schema')!r}")
        return index

    def latest(self) -> Path | None:
        """The newest bundle, as named by the `latest` pointer."""
        if not self.latest_path.exists():
            return None
        return self.path / self.latest_path.read_text(encoding="utf-8").strip()

    def publish(self, doc: Mapping[str, Any], data: bytes) -> ReleaseResult:
        """Write one bundle under the lock; refuse if it would change a published version.

        The immutability check is repeated here, under the lock, because the caller's
        earlier check may have raced with another publish.
        """
        digest = str(doc["manifest"]["digest"])
        entries = [(p["id"], p["version"], p["content_hash"]) for p in doc["prompts"]]
        name = bundle_file_name(digest)
        with self.lock():
            index = self.read_index()
            published: dict[str, Any] = index["published"]
            refusals = immutability_refusals(entries, published)
            if refusals:
                raise PublishError(refusals)
            target = self.path / name
            present = target.exists() and target.read_bytes() == data
            if not present:
                atomic_write(target, data)
            new = tuple(f"{i}@{v}" for i, v, _ in entries if f"{i}@{v}" not in published)
            for prompt_id, version, content_hash in entries:
                published.setdefault(
                    f"{prompt_id}@{version}", {"content_hash": content_hash, "bundle": name}
                )
            if name not in index["bundles"]:
                index["bundles"].append(name)
            text = json.dumps(index, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
            atomic_write(self.index_path, text.encode("utf-8"))
            atomic_write(self.latest_path, f"{name}\n".encode())
        return ReleaseResult(target, digest, new, present)


def _fsync_dir(path: Path) -> None:
    """Make the rename itself durable (POSIX: the directory entry lives in the dir)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
