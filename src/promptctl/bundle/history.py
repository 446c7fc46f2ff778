"""Release sequences: which bundle in a release directory is the newest, and rollbacks.

Every bundle publish writes carries `manifest.sequence`, one more than the highest in
the directory, under the signature. Its file name repeats it
(`bundle-000042-<12 hex of digest>.bundle.json`) so the newest release is found from a
directory listing, without reading every bundle; the name is only a hint, the signed
number decides. A bundle from before sequences (`bundle-<12 hex>.bundle.json`, no
`manifest.sequence`) counts as sequence 0: it still loads, but is older than any
sequenced release.

`resolve_latest` is what `Runtime.load(release_dir)` and `bundle verify DIR` use: the
bundle `latest` names must verify, and no bundle with a higher signed sequence may
verify in the same directory, else `latest` was rolled back (or a publish died
between writing the bundle and moving `latest`) and the load is refused.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

from promptctl.bundle.signing import VerifiedBundle, verify_bundle
from promptctl.errors import BundleError
from promptctl.promptfile.safe_io import MAX_BUNDLE_BYTES, UnsafeFileError, read_file

__all__ = [
    "bundle_file_name",
    "name_sequence",
    "open_bundle",
    "read_bundle_file",
    "read_latest_name",
    "release_files",
    "resolve_latest",
]

_SEQUENCED = re.compile(r"^bundle-(\d{1,12})-([0-9a-f]{12})\.bundle\.json$")
_LEGACY = re.compile(r"^bundle-([0-9a-f]{12})\.bundle\.json$")
_POINTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.bundle\.json$")
_log = logging.getLogger("promptctl.bundle")
# A bundle of 1,000 prompts is ~1.5 MB; far above any real one, far below harm.
_POINTER_BYTES = 256


def bundle_file_name(digest: str, sequence: int = 0) -> str:
    """Deterministic from sequence and digest: the same release always lands in one file."""
    hexdigest = digest.removeprefix("sha256:")[:12]
    if sequence <= 0:
        return f"bundle-{hexdigest}.bundle.json"
    return f"bundle-{sequence:06d}-{hexdigest}.bundle.json"


def name_sequence(name: str) -> int | None:
    """The sequence a bundle file name claims (0 for the old naming); None: not a bundle."""
    match = _SEQUENCED.match(name)
    if match:
        return int(match[1])
    return 0 if _LEGACY.match(name) else None


def release_files(directory: Path) -> list[tuple[int, str]]:
    """`(claimed sequence, file name)` of every bundle in `directory`, newest first."""
    try:
        names = [entry.name for entry in directory.iterdir()]
    except OSError as exc:
        raise BundleError(f"cannot list release directory {directory}: {exc.strerror}") from exc
    found = [(seq, name) for name in names if (seq := name_sequence(name)) is not None]
    return sorted(found, reverse=True)


def read_latest_name(directory: Path) -> str:
    """The file name the `latest` pointer holds, checked to be a plain name in `directory`.

    Read through `safe_io`: a FIFO or device named `latest` is refused, not opened.
    """
    pointer = directory / "latest"
    try:
        raw = read_file(pointer, root=None, limit=_POINTER_BYTES, what="`latest` pointer")
    except UnsafeFileError as exc:
        if "limit" not in exc.message:
            raise BundleError(
                f"{pointer}: {exc.message}",
                hint="it should hold one file name, as written by `promptctl publish`",
            ) from None
        raw = b""  # a big file: not a name; reported (unquoted) below
    except OSError as exc:
        raise BundleError(
            f"{directory} is a directory without a readable `latest` pointer: {exc.strerror}",
            hint="pass a *.bundle.json file or a release directory written by publish",
        ) from exc
    name = raw.decode("utf-8", "replace").strip()
    if not _POINTER_NAME.match(name):
        # not quoted: `latest` may be a link to any file (a key, /proc/self/environ)
        size = f"{len(raw)}" if raw else f"{_POINTER_BYTES}+"
        raise BundleError(
            f"{pointer} does not name a bundle file in {directory}: it holds {size} bytes "
            "that are not a `*.bundle.json` file name (not shown)",
            hint="it should hold one file name, as written by `promptctl publish`",
        )
    return name


def read_bundle_file(path: Path) -> bytes:
    """A bundle file's bytes: a regular file (a FIFO or device in a release directory
    would hang or flood the reader) of at most MAX_BUNDLE_BYTES (see `safe_io`)."""
    try:
        return read_file(path, root=None, limit=MAX_BUNDLE_BYTES, what="bundle")
    except UnsafeFileError as exc:
        raise BundleError(exc.message, hint="a bundle is a plain JSON file") from None
    except OSError as exc:
        raise BundleError(f"cannot read bundle {path}: {exc.strerror}") from exc


def open_bundle(
    source: Path, *, public_key: bytes | str | Path | None
) -> tuple[Path, VerifiedBundle]:
    """Verify what `source` names: a bundle file (as it is: an explicit pin) or a release
    directory (its `latest`, with the rollback check). `Runtime.load` and `promptctl
    bundle verify` both call this, so they accept and refuse exactly the same bundles.
    Errors name the file.
    """

    def verify(path: Path) -> VerifiedBundle:
        data = read_bundle_file(path)
        try:
            return verify_bundle(data, public_key=public_key)
        except BundleError as exc:
            raise BundleError(f"{path}: {exc.message}", hint=exc.hint) from None

    if source.is_dir():
        return resolve_latest(source, verify)
    return source, verify(source)


def resolve_latest(
    directory: Path, verify: Callable[[Path], VerifiedBundle], *, wait_s: float = 5.0
) -> tuple[Path, VerifiedBundle]:
    """The bundle `latest` names, verified, and proof that no newer valid release exists.

    `verify(path)` is the caller's verifier (its public key); it raises BundleError.
    Bundles with a higher claimed sequence that do not verify are skipped with a
    warning: a stray or forged file cannot stop a service, only a valid newer release.
    A publish writes the new bundle before it moves `latest`, holding `.lock`; a newer
    release seen while that lock is held is waited for (up to `wait_s`), not refused.
    """
    name = read_latest_name(directory)
    path = directory / name
    verified = verify(path)
    claimed = name_sequence(name)
    if claimed and claimed != verified.sequence:
        raise BundleError(
            f"{path}: the file name says release {claimed} but its signed manifest says "
            f"{verified.sequence}; the file was renamed",
            hint="point `latest` at the file publish wrote for the newest release",
        )
    for seq, other in release_files(directory):
        if seq <= verified.sequence:
            break
        try:
            newer = verify(directory / other)
        except BundleError as exc:
            _log.warning("ignoring %s in %s: %s", other, directory, exc.message)
            continue
        if newer.sequence > verified.sequence:
            if wait_s > 0 and _waited_for_publish(directory, wait_s):
                return resolve_latest(directory, verify, wait_s=0)
            raise BundleError(
                f"{directory}/latest names release {verified.sequence} ({name}) but the "
                f"directory holds the newer valid release {newer.sequence} ({other}): "
                "`latest` was rolled back or a publish did not finish; refusing to serve "
                "an older release",
                hint=f"point `latest` at {other}, or pin the older release explicitly: "
                f"Runtime.load('{path}')",
            )
    return path, verified


def _waited_for_publish(directory: Path, timeout_s: float) -> bool:
    """True when a publish held the release lock and finished within `timeout_s`.

    A shared flock on `.lock` (a read-only descriptor is enough) is granted only once
    the publisher's exclusive lock is released. No lock file, or no publish holding
    it: False at once.
    """
    import fcntl
    import time

    try:
        fd = os.open(directory / ".lock", os.O_RDONLY)
    except OSError:
        return False
    try:
        deadline = time.monotonic() + timeout_s
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                waited = True
                time.sleep(0.02)
                continue
            fcntl.flock(fd, fcntl.LOCK_UN)
            return waited
    finally:
        os.close(fd)
