"""Targeted edits keep everything but the changed values."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptctl.errors import PromptFileError
from promptctl.promptfile.edit import set_scalar, switch_model

P = Path("p.yaml")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "model:\n  use: a/x   # note\n  params: {t: 0}\n",
            "model:\n  use: b/y   # note\n  fallbacks: [a/x]\n  params: {t: 0}\n",
        ),
        (
            "model:\n  use: 'a/x'\n  fallbacks: [b/y, c/z]\n",
            "model:\n  use: 'b/y'\n  fallbacks: [a/x, c/z]\n",
        ),
        (
            "model:\n  use: a/x\n  fallbacks:\n    - c/z\n    - b/y\n",
            "model:\n  use: b/y\n  fallbacks:\n    - a/x\n    - c/z\n",
        ),
        (
            "model:\n  use: a/x\n  fallbacks: []\n",
            "model:\n  use: b/y\n  fallbacks: [a/x]\n",
        ),
        ("model: {use: a/x, params: {}}\n", "model: {use: b/y, fallbacks: [a/x], params: {}}\n"),
        (
            "model:\r\n  use: a/x\r\n  params: {}\r\n",
            "model:\r\n  use: b/y\r\n  fallbacks: [a/x]\r\n  params: {}\r\n",
        ),
    ],
)
def test_switch_model(before: str, after: str) -> None:
    assert switch_model(before, P, "b/y") == after


def test_set_scalar_keeps_quotes_and_comments() -> None:
    text = 'id: a\nversion: "1.2.0"  # semver\n'
    assert set_scalar(text, P, "/version", "1.2.1") == 'id: a\nversion: "1.2.1"  # semver\n'
    with pytest.raises(PromptFileError):
        set_scalar(text, P, "/missing", "x")
