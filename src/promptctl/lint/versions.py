"""Version rules: compare each prompt with the same id at a git base ref.

The interface decides the bump: a breaking change to the inputs or the output needs a
major bump, a compatible extension a minor one, anything else (template, model) a patch.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promptctl.errors import SourceLocation
from promptctl.promptfile.diagnostics import Diagnostic
from promptctl.promptfile.loader import FileLoad, LoadResult, load_prompts
from promptctl.promptfile.model import Project, Prompt
from promptctl.promptfile.rules import finding
from promptctl.promptfile.semver import Bump, at_least, bump_level, parse_semver

__all__ = ["check_versions", "required_bump"]

_DOC_KEYS = frozenset({"description", "title", "examples", "default", "$comment"})
_UPPER = ("maxLength", "maximum", "maxItems", "exclusiveMaximum", "maxProperties")
_LOWER = ("minLength", "minimum", "minItems", "exclusiveMinimum", "minProperties")


def _types(schema: Mapping[str, Any]) -> set[str]:
    value = schema.get("type")
    return set(value) if isinstance(value, list) else {value} if value else set()


def _widened_or_same(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """True when every value valid for `old` stays valid for `new` (a conservative test)."""
    old_c = {k: v for k, v in old.items() if k not in _DOC_KEYS}
    new_c = {k: v for k, v in new.items() if k not in _DOC_KEYS}
    for key, value in new_c.items():
        if key not in old_c:
            return False  # a new constraint narrows
        before = old_c[key]
        if value == before:
            continue
        if key == "type":
            if not _types(new) >= _types(old):
                return False
        elif key == "enum":
            if not (isinstance(value, list) and isinstance(before, list)) or not all(
                v in value for v in before
            ):
                return False
        elif key in _UPPER:
            if not value >= before:
                return False
        elif key in _LOWER:
            if not value <= before:
                return False
        else:
            return False
    return True


def required_bump(old: Prompt, new: Prompt) -> tuple[Bump, str]:
    """The smallest bump `old` -> `new` needs, and why."""
    if old.content_hash == new.content_hash:
        return "none", ""
    if old.output.format != new.output.format or old.output.schema != new.output.schema:
        return "major", "the output format or schema changed"
    old_req, new_req = set(old.required_inputs()), set(new.required_inputs())
    for name in old.inputs:
        if name not in new.inputs:
            return "major", f"input '{name}' was removed"
    for name in new.inputs:
        if name not in old.inputs and name in new_req:
            return "major", f"new required input '{name}'"
        if name in old.inputs and name in new_req and name not in old_req:
            return "major", f"input '{name}' became required"
        if name in old.inputs and not _widened_or_same(old.inputs[name], new.inputs[name]):
            return "major", f"input '{name}' was narrowed"
    if set(new.inputs) != set(old.inputs):
        return "minor", "a new optional input"
    if new_req != old_req:
        return "minor", "an input was made optional"
    if any(_constraints(old.inputs[n]) != _constraints(new.inputs[n]) for n in new.inputs):
        return "minor", "an input was widened"
    return "patch", "the template, model or an input's documentation changed"


def _constraints(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in _DOC_KEYS}


def check_versions(
    current: list[FileLoad], project: Project, repo_root: Path, ref: str
) -> list[Diagnostic]:
    """PC020/PC021/PC022 for prompts that also exist at `ref`."""
    from promptctl.promptfile.gitsource import GitTreeSource

    source = GitTreeSource(repo_root, ref)
    base: LoadResult = load_prompts(project, source=source)
    by_id = {p.id: p for f in base.files if (p := f.prompt) is not None}
    short = source.commit_sha[:10]
    out: list[Diagnostic] = []
    for loaded in current:
        prompt = loaded.prompt
        old = by_id.get(prompt.id) if prompt is not None else None
        if prompt is None or old is None:
            continue
        old_v, new_v = parse_semver(old.version), parse_semver(prompt.version)
        if old_v is None or new_v is None:
            continue
        loc = loaded.doc.locate("/version") if loaded.doc else SourceLocation(prompt.path)
        if new_v < old_v:
            out.append(
                finding(
                    "PC021",
                    f"version {prompt.version} is lower than {old.version} at {short}",
                    loc,
                    "versions only go up",
                )
            )
            continue
        need, why = required_bump(old, prompt)
        got = bump_level(old_v, new_v)
        if need == "none":
            continue
        if got == "none":
            out.append(
                finding(
                    "PC020",
                    f"content changed since {short} but version is still {prompt.version}",
                    loc,
                    f"{why}: bump at least the {need} version",
                )
            )
        elif not at_least(got, need):
            out.append(
                finding(
                    "PC022",
                    f"{old.version} -> {prompt.version} is a {got} bump, but {why}",
                    loc,
                    f"this change needs a {need} bump",
                )
            )
    return out
