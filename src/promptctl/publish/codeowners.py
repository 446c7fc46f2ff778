"""Who approves a prompt: the CODEOWNERS entry that matches its file, when there is one.

GitHub/GitLab semantics, simplified: the file is looked up in `.github/`, the root, then
`docs/`; blank lines and `#` comments are skipped; the *last* matching pattern wins; a
pattern with a `/` other than at its end is anchored at the root, one without matches
at any depth; a trailing `/` matches a directory's whole subtree; `*` does not cross `/`,
`**` does. Sections (`[Name]`) and exclusions are not supported.
"""

from __future__ import annotations

import re
from pathlib import Path

from promptctl.promptfile.safe_io import read_file

__all__ = ["codeowners_file", "owners_for"]

_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


def codeowners_file(repo_root: Path) -> Path | None:
    for rel in _LOCATIONS:
        path = repo_root / rel
        if path.is_file():
            return path
    return None


def owners_for(repo_root: Path, path: Path) -> str | None:
    """Space-joined owners of `path` per CODEOWNERS; None without a file or a match."""
    source = codeowners_file(repo_root)
    if source is None:
        return None
    try:
        rel = path.resolve().relative_to(repo_root.resolve()).as_posix()
    except ValueError:
        return None
    found: str | None = None
    text = read_file(source, root=repo_root, what="CODEOWNERS").decode("utf-8", "replace")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "[")):
            continue
        pattern, *owners = line.split()
        if _pattern_regex(pattern).match(rel):
            found = " ".join(owners) or None
    return found


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    anchored = "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    out = []
    i = 0
    while i < len(body):
        if body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    prefix = "^" if anchored or pattern.startswith("/") else "^(?:.*/)?"
    return re.compile(prefix + "".join(out) + "(?:/.*)?$")
