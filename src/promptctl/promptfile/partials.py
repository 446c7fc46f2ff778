"""Static `{% include %}` handling: safe names, cycle detection, inlining.

A published bundle carries templates with partials inlined, so the runtime renders
with no loader; the content hash is computed over the inlined form, so a change to a
partial changes the hash of every prompt that includes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from promptctl.errors import RenderError
from promptctl.promptfile.safe_io import read_file

__all__ = ["INCLUDE_RE", "inline_partials", "read_partials_dir", "safe_partial_name"]

INCLUDE_RE = re.compile(
    r"""\{%(?P<ls>-?)\s*include\s+(?P<q>["'])(?P<name>[^"']+)(?P=q)"""
    r"""(?P<opts>(?:\s+ignore\s+missing)?(?:\s+(?:with|without)\s+context)?)\s*(?P<rs>-?)%\}"""
)
_ANY_INCLUDE = re.compile(r"\{%-?\s*include\b")


def safe_partial_name(name: str) -> str:
    """Normalise an include name; refuse anything that could leave the partials folder."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or name.startswith("~") or ":" in name:
        raise RenderError(
            f"include {name!r} leaves the partials folder",
            hint="partials are included by their path inside prompts/_partials/",
        )
    return pure.as_posix()


def read_partials_dir(directory: Path) -> dict[str, str]:
    """All files under `directory` as {posix relative name: text}.

    Each must be a regular file inside `directory` (see `safe_io`); the loader's
    `load_partials` is the project-wide variant, confined to the project root.
    """
    if not directory.is_dir():
        return {}
    return {
        p.relative_to(directory).as_posix(): read_file(p, root=directory, what="partial").decode(
            "utf-8", "replace"
        )
        for p in sorted(directory.rglob("*"))
        if not p.is_dir()
    }


def inline_partials(template: str, partials: Mapping[str, str] | Path) -> str:
    """Replace every static include with the partial's text, recursively.

    Matches Jinja's semantics: a template's single trailing newline is dropped.
    Raises RenderError on a missing partial, a path escape, a dynamic include
    (which cannot be inlined) or an include cycle.
    """
    table = read_partials_dir(partials) if isinstance(partials, Path) else partials
    return _inline(template, table, ())


def _inline(template: str, table: Mapping[str, str], chain: tuple[str, ...]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = safe_partial_name(match["name"])
        if name in chain:
            cycle = " -> ".join((*chain, name))
            raise RenderError(f"include cycle: {cycle}", hint="remove one of the includes")
        if name not in table:
            if "ignore missing" in match["opts"]:
                return ""
            known = ", ".join(sorted(table)) or "none"
            raise RenderError(
                f"partial {name!r} not found in prompts/_partials/", hint=f"known: {known}"
            )
        body = table[name]
        body = body[:-1] if body.endswith("\n") else body
        inner = _inline(body, table, (*chain, name))
        if match["ls"] or match["rs"]:
            # keep the include tag's whitespace control around the inlined text
            return f"{{%{match['ls']} if true %}}{inner}{{% endif {match['rs']}%}}"
        return inner

    out = INCLUDE_RE.sub(replace, template)
    if _ANY_INCLUDE.search(out):
        raise RenderError(
            'only static includes are supported: {% include "name.j2" %}',
            hint="the partial's name must be a quoted string",
        )
    return out
