"""Word-level diff of two outputs, for the side-by-side view of a diff report.

Tokens are runs of word characters, runs of whitespace and single punctuation marks, so
a changed number or word is marked alone and the whitespace between words is kept. Long
outputs fall back to lines: difflib is quadratic in the worst case, and a report must
stay fast to write.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

__all__ = ["MAX_WORD_TOKENS", "Segment", "word_diff"]

MAX_WORD_TOKENS = 3_000
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")

Segment = tuple[str, str]  # ("=" | "-" | "+", text)


def _tokens(text: str, by_line: bool) -> list[str]:
    return text.splitlines(keepends=True) if by_line else _TOKEN.findall(text)


def word_diff(base: str, head: str) -> list[Segment]:
    """Segments that rebuild `base` from "=" and "-" and `head` from "=" and "+"."""
    by_line = max(len(base), len(head)) // 2 > MAX_WORD_TOKENS
    a, b = _tokens(base, by_line), _tokens(head, by_line)
    if not by_line and max(len(a), len(b)) > MAX_WORD_TOKENS:
        a, b = _tokens(base, True), _tokens(head, True)
    out: list[Segment] = []

    def add(op: str, parts: list[str]) -> None:
        text = "".join(parts)
        if not text:
            return
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))

    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            add("=", a[i1:i2])
        else:
            add("-", a[i1:i2])
            add("+", b[j1:j2])
    return out
