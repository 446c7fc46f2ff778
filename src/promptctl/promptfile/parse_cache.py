"""Parsed YAML kept between processes, keyed by the file's text: a re-run skips parsing.

Parsing is most of what loading a large suite costs (PyYAML's composer and the walk that
records every position: ~40 ms per 1,000 tests). What the walk returns is plain data, so
it is stored with `marshal` after the first parse and read back when the same text is
loaded again — by any project, since the key is the text, not the path. Only prompt
files and `promptctl.yaml` are kept (`load_yaml(cache=True)`): not a `--var` or a
`--vars` file, which can hold a user's data, nor a dataset. A run whose files all hit
does not import PyYAML.

Why this is safe with untrusted prompt files:

- the cache lives in the user's cache directory (`$PROMPTCTL_CACHE_DIR`, else
  `$XDG_CACHE_HOME/promptctl`, else `~/.cache/promptctl`), never in the project, so a
  pull request cannot ship entries; a directory another user owns is not used;
- an entry's name is the SHA-256 of the text it was parsed from (with this build's
  parser, promptctl and Python versions): a file parses to what its own text parses to;
- each entry carries a BLAKE2 digest of its payload, checked before `marshal` reads it:
  a torn or damaged entry is a miss, parsed again and rewritten;
- only data `marshal` writes exactly is stored (a file with a date is parsed each time);
  failures to read or write are misses, never errors: the cache only ever saves time.

`PROMPTCTL_CACHE_DIR=off` (or `0`, `false`, `no`) turns it off; empty is unset.
Whenever an entry is written, its shard folder (one of 256) loses the entries not
rewritten for `MAX_AGE_DAYS`, then the oldest ones while it holds more than
`SHARD_BYTES` (the newest always stays): the cache stays under ~256 MiB however often
files are edited.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import marshal
import os
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["CACHE_ENV", "MAX_AGE_DAYS", "SHARD_BYTES", "cache_dir", "load", "store"]

CACHE_ENV = "PROMPTCTL_CACHE_DIR"
MAX_AGE_DAYS = 30
SHARD_BYTES = 1 << 20
_FORMAT = b"promptctl-parsed 1\n"
_DIGEST = 16
# the modules whose code decides what a parse holds: an entry of another build of any
# of them is never read (a changed walker must not be answered by the old one's output)
_PARSER_FILES = ("yaml_loader.py", "yaml_parse.py", "yaml_events.py", "parse_cache.py")
_state: dict[str, Any] = {}


def cache_dir() -> Path | None:
    """Where parsed files are kept, or None when the cache is off or unusable."""
    if "dir" not in _state:
        _state["dir"] = _usable_dir()
    found: Path | None = _state["dir"]
    return found


def _usable_dir() -> Path | None:
    configured = os.environ.get(CACHE_ENV, "").strip()
    if configured.lower() in ("off", "0", "false", "no"):
        return None
    if configured:
        base = Path(configured)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        try:  # a relative XDG path is to be ignored (XDG Base Directory spec)
            base = (
                Path(xdg) / "promptctl"
                if os.path.isabs(xdg)
                else Path.home() / ".cache" / "promptctl"
            )
        except RuntimeError:  # no home directory
            return None
    folder = base / f"parsed-py{sys.version_info[0]}{sys.version_info[1]}"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = folder.stat()
    except OSError:
        return None
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        return None  # someone else's folder could hold entries of their making
    return folder


def _salt() -> bytes:
    """What else decides a parse: this build's walker and the installed YAML library,
    named by their files (a hit must not need to import PyYAML to know its version)."""
    salt: bytes | None = _state.get("salt")
    if salt is None:
        from promptctl import __version__

        spec = importlib.util.find_spec("yaml")
        here = Path(__file__)
        built = [_stamp(here.with_name(name)) for name in _PARSER_FILES]
        built.append(_stamp(Path(spec.origin)) if spec and spec.origin else "-")
        salt = _FORMAT + f"{__version__}|{'|'.join(built)}|{sys.version_info[:3]}\n".encode()
        _state["salt"] = salt
    return salt


def _stamp(path: Path) -> str:
    try:
        info = path.stat()
    except OSError:
        return "?"
    return f"{path}:{info.st_mtime_ns}:{info.st_size}"


def _entry(text: str) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    name = hashlib.sha256(_salt() + text.encode("utf-8", "surrogatepass")).hexdigest()
    return folder / name[:2] / name


def load(text: str) -> tuple[Any, ...] | None:
    """The stored parse of `text`, or None (not stored, damaged, or the cache is off)."""
    entry = _entry(text)
    if entry is None:
        return None
    try:
        with open(entry, "rb") as fh:
            blob = fh.read()
    except OSError:
        return None
    head = len(_FORMAT)
    digest, payload = blob[head : head + _DIGEST], blob[head + _DIGEST :]
    if blob[:head] != _FORMAT or hashlib.blake2b(payload, digest_size=_DIGEST).digest() != digest:
        return None
    try:
        value = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None
    return value if type(value) is tuple else None


def store(text: str, parsed: tuple[Any, ...]) -> None:
    """Keep `parsed` for `text`; silently does nothing when it cannot."""
    entry = _entry(text)
    if entry is None:
        return
    try:
        payload = marshal.dumps(parsed)
    except ValueError:  # a date, bytes or another value marshal does not write
        return
    blob = _FORMAT + hashlib.blake2b(payload, digest_size=_DIGEST).digest() + payload
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    try:
        entry.parent.mkdir(exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:  # writes it all (os.write may stop short)
            fh.write(blob)
        os.replace(tmp, entry)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return
    _prune(entry.parent, keep=entry.name)


def _prune(shard: Path, *, keep: str) -> None:
    """Drop the shard's entries (and stray temporary files) older than MAX_AGE_DAYS, then
    the oldest while the rest is over SHARD_BYTES; `keep`, just written, stays."""
    oldest = time.time() - MAX_AGE_DAYS * 86400
    kept: list[tuple[float, int, str]] = []
    try:
        with os.scandir(shard) as found:
            for item in found:
                with contextlib.suppress(OSError):
                    info = item.stat(follow_symlinks=False)
                    if info.st_mtime < oldest:
                        os.unlink(item.path)
                    elif item.name != keep:
                        kept.append((info.st_mtime, info.st_size, item.path))
    except OSError:
        return
    total = sum(size for _, size, _ in kept)
    for _, size, path in sorted(kept):
        if total <= SHARD_BYTES:
            break
        with contextlib.suppress(OSError):
            os.unlink(path)
        total -= size
