"""Read-only views of bundles for `promptctl bundle show|diff`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BundleDiff", "PromptChange", "diff_bundles"]


@dataclass(frozen=True)
class PromptChange:
    id: str
    old_version: str
    new_version: str
    old_hash: str
    new_hash: str


@dataclass
class BundleDiff:
    added: list[tuple[str, str, str]] = field(default_factory=list)  # (id, version, hash)
    removed: list[tuple[str, str, str]] = field(default_factory=list)
    changed: list[PromptChange] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    providers_changed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.providers_changed)


def diff_bundles(old: Mapping[str, Any], new: Mapping[str, Any]) -> BundleDiff:
    """Prompts added, removed and changed (version or content hash) from `old` to `new`."""
    a = {p["id"]: p for p in old.get("prompts", ())}
    b = {p["id"]: p for p in new.get("prompts", ())}
    out = BundleDiff()
    for pid in sorted(a.keys() | b.keys()):
        if pid not in a:
            out.added.append((pid, b[pid]["version"], b[pid]["content_hash"]))
        elif pid not in b:
            out.removed.append((pid, a[pid]["version"], a[pid]["content_hash"]))
        elif (a[pid]["version"], a[pid]["content_hash"]) != (
            b[pid]["version"],
            b[pid]["content_hash"],
        ):
            out.changed.append(
                PromptChange(
                    pid,
                    a[pid]["version"],
                    b[pid]["version"],
                    a[pid]["content_hash"],
                    b[pid]["content_hash"],
                )
            )
        else:
            out.unchanged.append(pid)
    pa, pb = old.get("providers", {}), new.get("providers", {})
    out.providers_changed = sorted(n for n in pa.keys() | pb.keys() if pa.get(n) != pb.get(n))
    return out
