"""The terminal summary at 80, 100, 120 and 160 columns: numbers are never cut."""

from __future__ import annotations

from typing import Any

import pytest
from html_builders import run_doc
from rich.console import Console

from promptctl.report.summary import summary_renderables, summary_rows
from promptctl.report.summary_table import choose_layout

LONG_PROMPT = "customer-support-team/very-long-prompt-name-for-refunds"


def _doc(long_ids: bool) -> dict[str, Any]:
    doc = run_doc()
    if long_ids:
        for s in doc["summary"]:
            s["prompt"] = LONG_PROMPT
            s["cost_unknown_cases"] = 3  # "(+3 unpriced)" after the cost
    return doc


def _render(doc: dict[str, Any], width: int) -> str:
    console = Console(width=width, record=True, force_terminal=False, color_system=None)
    for renderable in summary_renderables(doc, width=width):
        console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize("long_ids", [False, True])
@pytest.mark.parametrize("width", [80, 100, 120, 160])
def test_numbers_are_never_cut(width: int, long_ids: bool) -> None:
    doc = _doc(long_ids)
    text = _render(doc, width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    table = text.split("FAIL", 1)[0]
    assert "…" not in table
    for row in summary_rows(doc, interval=False):
        for cell in row[2:]:  # pass rate (without interval), score, tokens, cost, p50, p95
            for number in cell.split(" (+"):  # "(+3 unpriced)" may sit under the cost
                assert any(number in line for line in lines), (width, number)


def test_the_interval_goes_first_and_is_said_to() -> None:
    doc = _doc(False)
    ci = "[67.6%–100.0%]"
    assert f"100.0% (8/8) {ci}" in _render(doc, 160)  # inline
    wide = _render(doc, 120)
    assert ci in wide and f"(8/8) {ci}" not in wide  # on its own line
    narrow = _render(doc, 80)
    assert ci not in narrow and "95% intervals left out" in narrow
    assert [choose_layout(doc, w)[0].name for w in (160, 120, 80)] == [
        "inline",
        "wrapped",
        "compact",
    ]


def test_ids_break_at_slashes_before_they_are_folded() -> None:
    text = _render(_doc(True), 100)
    lines = [line.split("  ")[0].strip() for line in text.splitlines()]  # the ids column
    assert "customer-support-team/" in lines  # broken after the slash, not in a word
    assert "anthropic/claude-haiku-4-5" in lines  # a target that fits stays whole
