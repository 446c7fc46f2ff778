"""Semantic versions: parsing and the ordering lint's version rules need."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Bump", "SemVer", "bump_level", "bumped", "parse_semver", "suggest_semver"]

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$"
)

Bump = Literal["none", "patch", "minor", "major"]
_LEVELS: tuple[Bump, ...] = ("none", "patch", "minor", "major")


@dataclass(frozen=True, order=True)
class SemVer:
    major: int
    minor: int
    patch: int
    release: bool  # a release sorts after its pre-releases
    prerelease: str

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return core if self.release else f"{core}-{self.prerelease}"


def parse_semver(text: str) -> SemVer | None:
    """A SemVer, or None when `text` is not MAJOR.MINOR.PATCH[-pre][+build]."""
    match = _SEMVER.match(text)
    if match is None:
        return None
    pre = match.group(4) or ""
    return SemVer(int(match[1]), int(match[2]), int(match[3]), not pre, pre)


def suggest_semver(raw: str) -> str | None:
    """The semver a near-miss meant (`01.2` -> `1.2.0`, `v2` -> `2.0.0`), else None.

    Works on the source text, since YAML has already turned `1.10` into the float 1.1.
    """
    text = raw.strip().strip("\"'").removeprefix("v").removeprefix("V")
    parts = text.split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() and p.isascii() for p in parts):
        return None
    return ".".join(str(int(p)) for p in parts + ["0"] * (3 - len(parts)))


def bump_level(old: SemVer, new: SemVer) -> Bump:
    """How big a step `old` -> `new` is (`none` when not higher)."""
    if new <= old:
        return "none"
    if new.major > old.major:
        return "major"
    if new.minor > old.minor:
        return "minor"
    return "patch"


def at_least(actual: Bump, required: Bump) -> bool:
    return _LEVELS.index(actual) >= _LEVELS.index(required)


def bumped(version: SemVer, level: Bump) -> SemVer:
    """The next version at `level` ("none" counts as a patch: the content changed).

    A pre-release's patch step is its release (1.2.0-rc.1 -> 1.2.0), as semver orders them.
    """
    if level == "major":
        return SemVer(version.major + 1, 0, 0, True, "")
    if level == "minor":
        return SemVer(version.major, version.minor + 1, 0, True, "")
    if not version.release:
        return SemVer(version.major, version.minor, version.patch, True, "")
    return SemVer(version.major, version.minor, version.patch + 1, True, "")
