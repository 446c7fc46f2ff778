"""The release directory: published bundles, `index.json`, and a `latest` pointer.

Every file is written atomically (temp file in the same directory, fsync, os.replace),
so a reader never sees half a bundle. A publish holds an exclusive `fcntl.flock` on
`releases/.lock` from reading the newest release and the index to writing `latest`, so
two publishes that race are serialized: each builds on the other's release (its
prompts and its sequence, see `history`) and the immutability check sees its result.
Published `id@version` are immutable: the same version with another content hash is
refused.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptctl.bundle.history import (
    bundle_file_name,
    name_sequence,
    read_bundle_file,
    read_latest_name,
    release_files,
)
from promptctl.bundle.signing import VerifiedBundle, verify_bundle
from promptctl.bundle.validate import bundle_sequence
from promptctl.errors import BundleError, PublishError

__all__ = [
    "INDEX_SCHEMA",
    "ReleaseDir",
    "ReleaseHead",
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
    sequence: int = 0


@dataclass(frozen=True)
class ReleaseHead:
    """The release a publish builds on: the newest bundle in the directory, verified."""

    path: Path
    bundle: VerifiedBundle
    data: bytes
    next_sequence: int  # one more than any sequence the directory (or its index) names

    @property
    def sequence(self) -> int:
        return self.bundle.sequence


# compose(head) -> (document, file bytes): called under the lock, see ReleaseDir.publish
Compose = Callable[[ReleaseHead | None], tuple[Mapping[str, Any], bytes]]


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

    def head(self) -> ReleaseHead | None:
        """The newest release (highest sequence; `latest` among pre-sequence bundles).

        It must pass the same verification as the runtime's (integrity; the caller
        checks the signature against its key): a publish carries its prompts over.
        """
        files = release_files(self.path) if self.path.is_dir() else []
        if not files:
            return None
        top = files[0][0]
        if top > 0:
            names = [name for seq, name in files if seq == top]
            if len(names) > 1:
                raise PublishError(
                    [
                        f"{len(names)} bundles in {self.path} claim release {top}: "
                        f"{', '.join(names)}; remove the one that is not yours"
                    ]
                )
            path = self.path / names[0]
        elif not self.latest_path.exists():
            return None
        else:
            path = self.latest_path  # named in an error until the pointer is read
        try:
            if top == 0:
                path = self.path / read_latest_name(self.path)
            data = read_bundle_file(path)
            verified = verify_bundle(data, public_key=None)
            if top and verified.sequence != top:
                raise BundleError(
                    f"its file name says release {top}, its manifest {verified.sequence}"
                )
        except (OSError, BundleError) as exc:
            why = exc.message if isinstance(exc, BundleError) else exc.strerror
            raise PublishError(
                [
                    f"the newest release {path} does not verify ({why}); restore it or remove "
                    "it before publishing, so that its prompts are not lost"
                ]
            ) from None
        return ReleaseHead(path, verified, data, max(self.next_sequence(), verified.sequence + 1))

    def next_sequence(self) -> int:
        """One more than any release number the directory's files or its index name.

        A release deleted from the directory still holds its number (index.json
        remembers its name): a runtime that served it must see a higher one.
        """
        names = [name for _, name in release_files(self.path)] if self.path.is_dir() else []
        names += [str(n) for n in self.read_index().get("bundles") or ()]
        return max([0, *(s for n in names if (s := name_sequence(n)) is not None)]) + 1

    def publish(self, compose: Compose) -> ReleaseResult:
        """Write one release under the lock; refuse if it would change a published version.

        `compose(head)` builds the document on the newest release read under the lock
        (its prompts, its sequence + 1), so racing publishes never lose each other's
        prompts nor reuse a sequence. The immutability check is repeated here because
        the caller's earlier check may have raced with another publish.
        """
        with self.lock():
            head = self.head()
            doc, data = compose(head)
            digest = str(doc["manifest"]["digest"])
            sequence = bundle_sequence(doc)
            same = head is not None and head.bundle.digest == digest
            if head is not None and not same and sequence <= head.sequence:
                raise BundleError(
                    f"release {sequence} is not newer than release {head.sequence} "
                    f"({head.path.name}); a publish must increase the sequence"
                )
            entries = [(p["id"], p["version"], p["content_hash"]) for p in doc["prompts"]]
            name = bundle_file_name(digest, sequence)
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
        return ReleaseResult(target, digest, new, present, sequence)


def _fsync_dir(path: Path) -> None:
    """Make the rename itself durable (POSIX: the directory entry lives in the dir)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
