"""YAML -> plain data plus the line:column of every key and value.

PyYAML silently keeps the last of two equal keys and forgets where things were; this
loader walks the composed node tree itself so that it can refuse duplicate keys and
map a JSON-pointer path (``/tests/0/vars``) back to the line a user must edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptctl.errors import PromptFileError, SourceLocation
from promptctl.promptfile import parse_cache
from promptctl.promptfile.safe_io import MAX_DEPTH, MAX_FILE_BYTES, nesting_depth

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "LocatedYaml",
    "decode_text",
    "load_yaml",
    "nesting_depth",
    "pointer",
]


def pointer(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """JSON pointer of a path: ``("tests", 0, "vars")`` -> ``/tests/0/vars``."""
    return "".join("/" + _escape(str(p)) for p in parts)


@dataclass
class LocatedYaml:
    """Parsed YAML with 1-based (line, column) per JSON pointer.

    `values` holds where each value starts; `keys` where each mapping key starts.
    `duplicates` lists pointers of keys that appeared twice in one mapping, with the
    line of the first occurrence. `block_scalars` holds pointers of `|`/`>` strings,
    whose text starts on the line after the value's own location.
    """

    path: Path
    data: Any
    values: dict[str, tuple[int, int]] = field(default_factory=dict)
    keys: dict[str, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[tuple[str, tuple[int, int], int]] = field(default_factory=list)
    block_scalars: set[str] = field(default_factory=set)

    def locate(self, ptr: str, *, key: bool = False) -> SourceLocation:
        """Location of `ptr`, or of its nearest ancestor that has one."""
        if not key:  # the common case: a value the walk recorded (4 per test at load)
            found = self.values.get(ptr)
            if found is not None:
                return SourceLocation(self.path, found[0], found[1])
        probe = ptr
        while True:
            table = self.keys if key and probe in self.keys else self.values
            if probe in table:
                line, col = table[probe]
                return SourceLocation(self.path, line, col)
            if not probe:
                return SourceLocation(self.path, 1, 1)
            probe = probe.rsplit("/", 1)[0]
            key = False


def decode_text(raw: bytes, path: Path, *, limit: int = MAX_FILE_BYTES) -> str:
    """Bytes -> str, refusing binary, non-UTF-8 and oversized files with a clear error."""
    if len(raw) > limit:
        raise PromptFileError(
            f"file is {len(raw):,} bytes, over the {limit:,}-byte limit",
            location=SourceLocation(path),
            hint="split it, or move large test data into a dataset file",
        )
    if b"\x00" in raw[:8192]:
        raise PromptFileError(
            "file looks binary (contains NUL bytes)", location=SourceLocation(path)
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PromptFileError(
            f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            location=SourceLocation(path, line),
            hint="save the file as UTF-8",
        ) from None
    return text.removeprefix("\ufeff")


def load_yaml(
    text: str,
    path: Path,
    *,
    require_mapping: bool = True,
    empty_hint: str = "add at least `version:`",
    cache: bool = False,
) -> LocatedYaml:
    """Parse one YAML document, keeping locations; raises PromptFileError. `empty_hint`
    says what the file should hold (a prompt file's default). `cache`: the text is a
    project's prompt file or config, which the parse cache may keep (never a `--var`'s
    value or a `--vars` file, which can hold a user's data)."""
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise PromptFileError("file is empty", location=SourceLocation(path, 1, 1), hint=empty_hint)
    stored = parse_cache.load(text) if cache else None
    if stored is not None:
        result = LocatedYaml(path, *stored)
    else:
        from promptctl.promptfile.yaml_parse import parse  # PyYAML: only on a miss

        result = parse(text, path)
        if cache:
            parse_cache.store(
                text,
                (result.data, result.values, result.keys, result.duplicates, result.block_scalars),
            )
    if require_mapping and not isinstance(result.data, dict):
        names = {"str": "a string", "list": "a list", "int": "a number", "float": "a number"}
        kind = names.get(type(result.data).__name__, "null" if result.data is None else "a value")
        raise PromptFileError(
            f"top level must be a mapping of keys, got {kind}",
            location=result.locate(""),
            hint="start the file with `version: 1.0.0`",
        )
    return result


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1") if ("~" in part or "/" in part) else part
