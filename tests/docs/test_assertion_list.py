"""The assertion types the evaluation guide lists are exactly the ones that exist."""

from __future__ import annotations

import re
from pathlib import Path

from promptctl.evals.assertions import ASSERTION_TYPES

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide-evaluation.md"


def test_the_guide_lists_every_assertion_type() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index("Each test's `assert:` list takes any of")
    paragraph = text[start : text.index("\n\n", start)]
    listed = set(re.findall(r"`([a-z]+(?:-[a-z]+)*)`", paragraph.split(", in a\nshort form")[0]))
    assert listed == set(ASSERTION_TYPES)
