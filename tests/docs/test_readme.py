"""Keep the docs honest: commands, flags and links shown in them must exist.

Every `promptctl <command> [<subcommand>]` in README.md (code blocks and inline code)
must be a real command, every `--flag` shown with it must appear in that command's
`--help`, and every relative link in README.md and docs/*.md must resolve (README's
`#anchors` to one of its headings). Failures name the README line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from fakes.cli import invoke

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))

# `promptctl` used as a command: at a line start, after a shell prompt (with optional
# VAR=value prefixes), `run:`, `&&`, `||`, a pipe or a backtick; not inside a quoted
# string or a path such as `promptctl/results@1`.
_INVOCATION = re.compile(
    r"(?:^|\$ (?:[A-Z_]+=\S+ )*|run: |&& |\|\| |\| |`)promptctl ([a-z][a-z_-]*)"
    r"(?: ([a-z][a-z_-]*))?"
)
_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")
# Where the flags of one invocation end on its line.
_END = re.compile(r" \| | #|&&|\|\||`|;")
_FENCE = re.compile(r"^(`{3,})(\w*)")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


@dataclass
class Usage:
    """One documented invocation: where it is and what it shows."""

    line: int
    text: str
    command: str
    subcommand: str | None
    flags: list[str] = field(default_factory=list)


@dataclass
class Help:
    """What `promptctl ... --help` lists."""

    commands: set[str]
    options: set[str]


def _parse_help(output: str) -> Help:
    """Click's plain help: `Options:` / `Commands:` sections of two-space indented rows."""
    commands: set[str] = set()
    options: set[str] = set()
    section = ""
    for raw in output.splitlines():
        if raw and not raw.startswith(" "):
            section = raw.rstrip(":").strip()
            continue
        if not raw.startswith("  ") or raw.startswith("   "):
            continue  # a blank line or a wrapped help line
        first = re.split(r"\s{2,}", raw.strip())[0]
        if section == "Commands":
            commands.add(first)
        elif section == "Options":
            options.update(p for p in re.split(r"[,/ ]+", first) if p.startswith("-"))
    return Help(commands, options)


@cache
def _help(*args: str) -> Help:
    result = invoke(*args, "--help", env={**os.environ, "COLUMNS": "250"})
    assert result.returncode == 0, f"promptctl {' '.join(args)} --help failed:\n{result.stderr}"
    return _parse_help(result.stdout)


def _flags(text: str) -> list[str]:
    return _FLAG.findall(_END.split(text, maxsplit=1)[0])


def _usages(lines: list[str]) -> list[Usage]:
    """Invocations in fenced code blocks (with indented continuation lines) and inline code."""
    found: list[Usage] = []
    fence = ""
    current: Usage | None = None
    for number, line in enumerate(lines, start=1):
        opener = _FENCE.match(line.strip())
        if opener and (not fence or opener.group(1) == fence):
            fence = "" if fence else opener.group(1)
            current = None
            continue
        if fence:
            if current is not None and line.startswith(" "):
                current.flags += _flags(line)  # a usage synopsis continued on this line
            else:
                current = None
            for match in _INVOCATION.finditer(line):
                usage = Usage(number, line.strip(), match.group(1), match.group(2))
                usage.flags = _flags(line[match.end(1) :])
                found.append(usage)
                if line.startswith("promptctl ") and current is None:
                    current = usage
            continue
        for span in _INLINE_CODE.findall(line):
            match = _INVOCATION.match(f"`{span}")
            if match:
                usage = Usage(number, span, match.group(1), match.group(2))
                usage.flags = _flags(span[match.end(1) - 1 :])
                found.append(usage)
    return found


README_LINES = README.read_text(encoding="utf-8").splitlines()
USAGES = _usages(README_LINES)
DOC_USAGES = [
    (doc.name, usage) for doc in DOCS for usage in _usages(doc.read_text("utf-8").splitlines())
]


def test_the_readme_shows_commands() -> None:
    # Guards the parser: the README walks through every command.
    shown = {usage.command for usage in USAGES}
    assert shown >= _help().commands, f"README never shows: {_help().commands - shown}"


@pytest.mark.parametrize(
    ("name", "usage"),
    [("README.md", usage) for usage in USAGES] + DOC_USAGES,
    ids=lambda x: x if isinstance(x, str) else f"{x.line}",
)
def test_documented_invocation_exists(name: str, usage: Usage) -> None:
    where = f"{name}:{usage.line}: {usage.text!r}"
    root = _help()
    assert usage.command in root.commands, f"{where}: no command 'promptctl {usage.command}'"
    path = [usage.command]
    group = _help(usage.command)
    if group.commands:
        assert usage.subcommand in group.commands, (
            f"{where}: 'promptctl {usage.command}' has no subcommand {usage.subcommand!r} "
            f"(it has {sorted(group.commands)})"
        )
        path.append(usage.subcommand)
    options = _help(*path).options
    unknown = [flag for flag in usage.flags if flag not in options]
    assert not unknown, (
        f"{where}: 'promptctl {' '.join(path)} --help' does not list {unknown} "
        f"(it lists {sorted(options)})"
    )


def _section_flags(lines: list[str]) -> list[Usage]:
    """Inline `--flag ...` spans in prose under a heading that names `promptctl X`."""
    found: list[Usage] = []
    command: str | None = None
    fence = False
    for number, line in enumerate(lines, start=1):
        if line.startswith("```"):
            fence = not fence
        elif not fence and re.match(r"#{1,6} ", line):
            named = re.search(r"`promptctl ([a-z][a-z_-]*)", line)
            command = named.group(1) if named else None
        elif not fence and command is not None:
            for span in _INLINE_CODE.findall(line):
                if span.startswith("--"):
                    found.append(Usage(number, span, command, None, [span.split()[0]]))
    return found


SECTION_FLAGS = [("README.md", u) for u in _section_flags(README_LINES)] + [
    (doc.name, u) for doc in DOCS for u in _section_flags(doc.read_text("utf-8").splitlines())
]


@pytest.mark.parametrize(
    ("name", "usage"), SECTION_FLAGS, ids=lambda x: x if isinstance(x, str) else f"{x.line}"
)
def test_flags_in_a_command_section_exist(name: str, usage: Usage) -> None:
    # The guides in docs/ hold what were the README's command sections.
    options = _help(usage.command).options
    assert usage.flags[0] in options, (
        f"{name}:{usage.line}: {usage.text!r} is under the 'promptctl {usage.command}' "
        f"heading but 'promptctl {usage.command} --help' does not list {usage.flags[0]}"
    )


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(lines: list[str]) -> set[str]:
    anchors: set[str] = set()
    fence = False
    for line in lines:
        if line.startswith("```"):
            fence = not fence
        elif not fence and re.match(r"#{1,6} ", line):
            base = _slug(line.lstrip("#"))
            slug, n = base, 0
            while slug in anchors:
                n += 1
                slug = f"{base}-{n}"
            anchors.add(slug)
    return anchors


def _file_anchors(path: Path) -> set[str]:
    return _anchors(path.read_text(encoding="utf-8").splitlines())


def _links(path: Path) -> list[tuple[int, str]]:
    links: list[tuple[int, str]] = []
    fence = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.lstrip().startswith("```"):
            fence = not fence
        elif not fence:
            links += [(number, target) for target in _LINK.findall(line)]
    return links


@pytest.mark.parametrize("doc", [README, *DOCS], ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path) -> None:
    anchors = _anchors(doc.read_text(encoding="utf-8").splitlines())
    broken: list[str] = []
    for number, target in _links(doc):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        file_part, _, anchor = target.partition("#")
        if file_part:
            linked = doc.parent / file_part
            if not linked.exists():
                broken.append(f"{doc.name}:{number}: link to missing file {target!r}")
            elif anchor and linked.suffix == ".md" and anchor not in _file_anchors(linked):
                broken.append(f"{doc.name}:{number}: link to missing heading {target!r}")
        elif anchor not in anchors:
            broken.append(f"{doc.name}:{number}: link to missing heading {target!r}")
    assert not broken, "\n".join(broken)


def test_parser_finds_flags_and_continuations() -> None:
    lines = [
        "```console",
        "$ promptctl lint --format github   # comment --not-a-flag",
        "$ OPENAI_API_KEY=sk promptctl test --mode record | head -3",
        "```",
        "```text",
        "promptctl test [IDS...]",
        "  --repeat N    run every test N times (see `promptctl merge`)",
        "```",
        'Prose with `promptctl cache stats [--format json]` and "promptctl prompt file".',
    ]
    seen = [(u.line, u.command, u.subcommand, u.flags) for u in _usages(lines)]
    assert seen == [
        (2, "lint", None, ["--format"]),
        (3, "test", None, ["--mode"]),
        (6, "test", None, ["--repeat"]),
        (7, "merge", None, []),
        (9, "cache", "stats", ["--format"]),
    ]
    assert _slug("`promptctl schema [prompt|config]`") == "promptctl-schema-promptconfig"
