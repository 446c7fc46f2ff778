"""Targeted text edits of a prompt file that keep its formatting and comments.

`promptctl compare --write` changes two or three values; re-dumping the YAML would lose
comments, quoting and key order, so the edits replace the value tokens in place, found
by the loader's recorded positions. Each function re-parses the text it is given, so
calls can be chained.
"""

from __future__ import annotations

import re
from pathlib import Path

from promptctl.errors import PromptFileError
from promptctl.promptfile.yaml_loader import LocatedYaml, load_yaml

__all__ = ["set_scalar", "switch_model"]

_PLAIN_END = re.compile(r"\s+#|[,\]}]|\s*$")


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _token_span(line: str, start: int) -> tuple[int, int]:
    """[start, end) of the scalar token beginning at `start` (quoted or plain)."""
    quote = line[start] if start < len(line) else ""
    if quote in ("'", '"'):
        end = start + 1
        while end < len(line):
            if line[end] == "\\" and quote == '"':
                end += 2
                continue
            if line[end] == quote:
                if quote == "'" and line[end + 1 : end + 2] == "'":
                    end += 2
                    continue
                return start, end + 1
            end += 1
        raise PromptFileError("a quoted value spans lines; edit it by hand")
    match = _PLAIN_END.search(line, start)
    end = match.start() if match else len(line.rstrip("\r\n"))
    return start, end


def _pos(doc: LocatedYaml, ptr: str) -> tuple[int, int]:
    if ptr not in doc.values:
        raise PromptFileError(f"{ptr} not found", location=doc.locate(ptr))
    line, col = doc.values[ptr]
    return line - 1, col - 1


def set_scalar(text: str, path: Path, ptr: str, value: str) -> str:
    """Replace the scalar at JSON pointer `ptr`, keeping its quote style."""
    doc = load_yaml(text, path)
    row, col = _pos(doc, ptr)
    lines = _lines(text)
    line = lines[row]
    start, end = _token_span(line, col)
    quote = line[start] if line[start] in ("'", '"') else ""
    lines[row] = line[:start] + f"{quote}{value}{quote}" + line[end:]
    return "".join(lines)


def switch_model(text: str, path: Path, new_use: str) -> str:
    """`model.use: new_use`, the old use first among the fallbacks (the new one removed)."""
    doc = load_yaml(text, path)
    model = doc.data.get("model", {}) if isinstance(doc.data, dict) else {}
    old_use = str(model.get("use", ""))
    if old_use == new_use:
        return text
    fallbacks = model.get("fallbacks") or []
    text = _drop_fallback(text, path, new_use, fallbacks)
    text = set_scalar(text, path, "/model/use", new_use)
    return _prepend_fallback(text, path, old_use)


def _drop_fallback(text: str, path: Path, use: str, fallbacks: list[object]) -> str:
    """Remove a plain `use` entry from the fallbacks (flow or block list)."""
    if use not in fallbacks:
        return text
    index = fallbacks.index(use)
    doc = load_yaml(text, path)
    row, col = _pos(doc, f"/model/fallbacks/{index}")
    lines = _lines(text)
    line = lines[row]
    start, end = _token_span(line, col)
    if line[:start].rstrip().endswith("-") and not line[:start].strip("- \t"):
        del lines[row]  # a block item on its own line
        return "".join(lines)
    before, after = line[:start], line[end:]
    if after.lstrip().startswith(","):
        after = after.lstrip()[1:].lstrip()
    elif before.rstrip().endswith(","):
        before = before.rstrip()[:-1]
    lines[row] = before + after
    return "".join(lines)


def _prepend_fallback(text: str, path: Path, use: str) -> str:
    doc = load_yaml(text, path)
    lines = _lines(text)
    if "/model/fallbacks" in doc.values and (doc.data["model"].get("fallbacks") or []):
        row, col = _pos(doc, "/model/fallbacks/0")
        line = lines[row]
        if line[:col].strip("- \t"):  # flow list: `[a, b]`
            lines[row] = line[:col] + f"{use}, " + line[col:]
        else:  # block list: a new `- use` line above the first item
            lines.insert(row, line[:col] + use + "\n")
        return "".join(lines)
    if "/model/fallbacks" in doc.values:  # `fallbacks: []` or null
        row, col = _pos(doc, "/model/fallbacks")
        line = lines[row]
        start, end = _token_span(line, col)
        if line[start:].startswith("[]"):
            end = start + 2
        lines[row] = line[:start] + f"[{use}]" + line[end:]
        return "".join(lines)
    key_row, key_col = doc.keys["/model/use"]
    row, col = _pos(doc, "/model/use")
    line = lines[row]
    if not lines[key_row - 1][: key_col - 1].strip():  # block mapping: a sibling line
        eol = "\r\n" if line.endswith("\r\n") else "\n"
        lines.insert(row + 1, " " * (key_col - 1) + f"fallbacks: [{use}]" + eol)
    else:  # flow mapping `model: {use: x, ...}`
        _, end = _token_span(line, col)
        lines[row] = line[:end] + f", fallbacks: [{use}]" + line[end:]
    return "".join(lines)
