"""The HTML reports in a real headless Chromium: what a reviewer sees and can do."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from browser_page import Opened, open_report
from html_builders import HOSTILE, TARGETS, diff_comparison, run_doc

from promptctl.report.diff_report import verdict_line
from promptctl.report.html import render_diff, render_run
from promptctl.report.money import format_usd


def expect(locator: Any) -> Any:
    """Playwright's `expect`, imported here: every xdist worker collects this file."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: $PROMPTCTL_TEST_ARTIFACTS (CI keeps them), else the test's
    temporary directory."""
    folder = Path(os.environ.get("PROMPTCTL_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def doc() -> dict[str, Any]:
    return run_doc()


@pytest.fixture
def run_page(browser: Any, doc: dict[str, Any], tmp_path: Path) -> Opened:
    path = tmp_path / "run.html"
    path.write_text(
        render_run(doc, tags={"support/triage": ["support"], "content/summarize": ["content"]}),
        encoding="utf-8",
    )
    return open_report(browser, path)


def _count(opened: Opened) -> str:
    return str(opened.page.text_content("#count"))


def _visible_buttons(opened: Opened) -> list[str]:
    return [str(b.text_content()) for b in opened.page.query_selector_all("#matrix button")]


def test_loads_without_errors_or_network(
    run_page: Opened, doc: dict[str, Any], tmp_path: Path
) -> None:
    assert run_page.errors == []
    assert run_page.requests == [(tmp_path / "run.html").resolve().as_uri()]
    assert run_page.page.text_content("h1") == f"promptctl run {doc['run']['id']}"


def test_summary_numbers_equal_the_results_document(run_page: Opened, doc: dict[str, Any]) -> None:
    rows = run_page.page.eval_on_selector_all(
        "#summary tbody tr", "rows => rows.map(r => Array.from(r.cells, c => c.textContent))"
    )
    assert len(rows) == len(doc["summary"]) == 4
    for row, s in zip(rows, doc["summary"], strict=True):
        judged = s["passed"] + s["failed"]
        assert row[0] == f"{s['prompt']}@{s['version']}" and row[1] == s["target"]
        assert row[2].startswith(f"{s['passed'] / judged * 100:.1f}% ({s['passed']}/{judged})")
        lo, hi = s["pass_rate_ci95"]
        assert row[2].endswith(f"[{lo * 100:.1f}%–{hi * 100:.1f}%]")
        assert row[3] == f"{s['mean_score']:.2f}"
        assert row[4] == f"{s['input_tokens']}/{s['output_tokens']}"
        assert row[5] == format_usd(s["cost_usd"])
        assert (
            row[6] == f"{round(s['latency_p50_ms'])} ms"
            and row[7] == f"{round(s['latency_p95_ms'])} ms"
        )
        assert row[8] == str(s["errors"])


def test_filters_and_search_change_what_is_shown(run_page: Opened, doc: dict[str, Any]) -> None:
    page = run_page.page
    tests = {(c["prompt"], c["test"]) for c in doc["cases"]}
    assert _count(run_page).startswith(f"{len(tests)} of {len(tests)} tests shown")
    page.select_option("select[aria-label=status]", "fail")
    failing = {(c["prompt"], c["test"]) for c in doc["cases"] if c["status"] == "fail"}
    assert _count(run_page).startswith(f"{len(failing)} of {len(tests)} tests shown")
    lit = page.query_selector_all("#matrix button:not(.dim)")
    assert lit and all("fail" in str(b.text_content()) for b in lit)
    page.select_option("select[aria-label=status]", "")
    page.select_option("select[aria-label=target]", TARGETS[1])
    headers = page.eval_on_selector_all("#matrix thead th", "hs => hs.map(h => h.textContent)")
    assert headers == ["prompt › test", TARGETS[1]]
    page.select_option("select[aria-label=target]", "")
    page.select_option("select[aria-label=tag]", "content")
    names = page.eval_on_selector_all("#matrix td.name", "ds => ds.map(d => d.textContent)")
    assert names and all(n.startswith("content/summarize › ") for n in names)
    page.select_option("select[aria-label=tag]", "")
    page.fill("#search", "needle")
    expect(page.locator("#count")).to_have_text(re.compile(r"^1 of "))
    assert page.eval_on_selector_all("#matrix td.name", "ds => ds.map(d => d.textContent)") == [
        "support/triage › needle test"
    ]


def test_clicking_a_case_shows_its_output_and_assertions(
    run_page: Opened, doc: dict[str, Any]
) -> None:
    page = run_page.page
    page.select_option("select[aria-label=status]", "fail")
    page.click("#matrix button:not(.dim)")
    title = str(page.text_content("#detail-title"))
    prompt, test = title.split(" › ")
    case = next(
        c
        for c in doc["cases"]
        if c["prompt"] == prompt and c["test"] == test and c["status"] == "fail"
    )
    assert page.text_content("#detail pre.output") == case["output"]
    rows = page.eval_on_selector_all(
        "#assertions tbody tr", "rows => rows.map(r => Array.from(r.cells, c => c.textContent))"
    )
    assert rows == [
        [a["type"], "pass" if a["pass"] else "fail", f"{a['score']:.2f}", a["reason"]]
        for a in case["assertions"]
    ]
    assert format_usd(case["cost_usd"]) in str(page.text_content("#detail"))


def test_hostile_output_is_text_and_runs_nothing(run_page: Opened) -> None:
    page = run_page.page
    page.fill("#search", "pwned")
    expect(page.locator("#count")).to_have_text(re.compile(r"^1 of "))
    page.click("#matrix button:not(.dim)")
    assert page.text_content("#detail pre.output") == HOSTILE
    calls = page.eval_on_selector_all(
        "#tool-calls tbody tr", "rows => rows.map(r => Array.from(r.cells, c => c.textContent))"
    )
    assert calls == [
        [HOSTILE, json.dumps({"html": HOSTILE}, separators=(",", ":")), "yes"],
        ["lookup", "{}", f"no: arguments are not JSON: {HOSTILE}"],
    ]
    assert page.evaluate("window.__pwned") is None
    assert page.query_selector_all("img") == [] and page.query_selector_all("#detail b") == []
    assert page.evaluate("document.scripts.length") == 2  # the data block and the report's own
    assert run_page.errors == []


def test_keyboard_navigation(run_page: Opened) -> None:
    page = run_page.page
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search"
    page.keyboard.press("Tab")
    first = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert first.startswith("support/triage › test 0 on ")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    label = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert label == f"support/triage › test 1 on {sorted(TARGETS)[1]}: pass"  # columns sorted
    page.keyboard.press("Enter")
    assert page.text_content("#detail-title") == "support/triage › test 1"
    page.focus("#detail")
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == label


def test_cheapest_target_meeting_the_bar(run_page: Opened) -> None:
    page = run_page.page
    # the first target passes everything at $0.00004 per case: it is the cheapest at 100%
    assert TARGETS[0] in str(page.text_content("#cheapest"))
    assert page.get_attribute("#scatter circle.best", "data-target") == TARGETS[0]


def test_screenshots_light_dark_and_narrow(
    browser: Any, doc: dict[str, Any], tmp_path: Path, shots: Path
) -> None:
    path = tmp_path / "run.html"
    path.write_text(render_run(doc), encoding="utf-8")
    for scheme, width in (("light", 1280), ("dark", 1280), ("light", 420)):
        opened = open_report(browser, path, width=width, scheme=scheme)
        opened.page.click("#matrix button")
        shot = shots / f"report-run-{scheme}-{width}.png"
        opened.page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        bg = opened.page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert bg == ("rgb(13, 17, 23)" if scheme == "dark" else "rgb(255, 255, 255)")
        # nothing wider than the viewport but the scrollable tables
        assert opened.page.evaluate("document.documentElement.scrollWidth") <= width
        assert opened.errors == []


@pytest.fixture
def diff_page(browser: Any, tmp_path: Path) -> tuple[Opened, Any]:
    comparison, _, _ = diff_comparison()
    path = tmp_path / "diff.html"
    path.write_text(render_diff(comparison), encoding="utf-8")
    return open_report(browser, path), comparison


def test_diff_report_verdict_changes_and_word_diff(
    diff_page: tuple[Opened, Any], shots: Path
) -> None:
    opened, comparison = diff_page
    page = opened.page
    assert opened.errors == [] and len(opened.requests) == 1
    assert page.text_content("#verdict") == verdict_line(comparison)
    assert page.eval_on_selector_all("#reasons li", "ls => ls.map(l => l.textContent)") == list(
        comparison.reasons
    )
    shown = page.eval_on_selector_all("#tests details", "ds => ds.map(d => d.dataset.status)")
    assert shown == ["regressed", "fixed"]  # passing tests are hidden at first
    refund = page.query_selector("#tests details[data-status=regressed]")
    head_out = comparison.groups[0].tests[0].head_output
    assert refund.query_selector("pre.head").text_content() == head_out
    assert refund.query_selector_all("pre.words del")[0].text_content() == "billing"
    assert refund.query_selector_all("pre.words ins")[0].text_content() == "other"
    assert page.evaluate("window.__pwned") is None
    page.click("button[data-status=passing]")
    shown = page.eval_on_selector_all("#tests details", "ds => ds.map(d => d.dataset.status)")
    assert shown == ["regressed", "fixed", "passing"]
    page.click("button[data-status=regressed]")
    page.fill("#search", "vat")
    assert page.eval_on_selector_all("#tests details", "ds => ds.map(d => d.dataset.status)") == [
        "fixed"
    ]
    page.fill("#search", "")
    page.click("button[data-status=regressed]")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.screenshot(path=str(shots / f"report-diff-{scheme}.png"), full_page=True)
    assert (shots / "report-diff-dark.png").stat().st_size > 10_000


def test_history_chart_draws_one_line_per_prompt(
    browser: Any, doc: dict[str, Any], tmp_path: Path
) -> None:
    history = [
        {"run": "r1", "started_at": None, "pass_rate": {"a/one": 0.5, "b/two": 1.0}},
        {"run": "r2", "started_at": None, "pass_rate": {"a/one": 1.0}},
    ]
    path = tmp_path / "run.html"
    path.write_text(render_run(doc, history=history), encoding="utf-8")
    opened = open_report(browser, path)
    assert len(opened.page.query_selector_all("#history polyline")) == 2
    titles = opened.page.eval_on_selector_all(
        "#history circle title", "ts => ts.map(t => t.textContent)"
    )
    assert titles == ["a/one in r1: 50.0%", "a/one in r2: 100.0%", "b/two in r1: 100.0%"]
    assert opened.errors == []


def test_prompt_ids_named_like_object_members_filter_safely(browser: Any, tmp_path: Path) -> None:
    from html_builders import case

    from promptctl.evals.results import RunInfo, to_document

    doc = to_document(
        RunInfo.start(),
        [case(p, "t", TARGETS[0], "pass", "ok") for p in ("constructor", "__proto__", "a/b")],
    )
    path = tmp_path / "run.html"
    path.write_text(render_run(doc, tags={"a/b": ["x"]}), encoding="utf-8")
    opened = open_report(browser, path)
    opened.page.select_option("select[aria-label=tag]", "x")
    names = opened.page.eval_on_selector_all("#matrix td.name", "ds => ds.map(d => d.textContent)")
    assert names == ["a/b › t"]
    assert opened.errors == []


def test_answers_without_usage_show_unknown_tokens_as_the_terminal_does(
    browser: Any, tmp_path: Path
) -> None:
    """A server that sends no usage (llama-cpp-python's streams): "unknown", not 0/0; the
    page and `summary_rows` (terminal, markdown) apply one rule."""
    from dataclasses import replace

    from html_builders import case

    from promptctl.evals.results import RunInfo, to_document
    from promptctl.providers.types import Usage
    from promptctl.report.summary import summary_rows

    no_usage = [
        replace(case("a/p", f"t{i}", TARGETS[0], "pass", "ok"), usage=Usage()) for i in range(2)
    ]
    counted = [case("a/p", "t0", TARGETS[1], "pass", "ok")]
    errored = [case("a/p", "t0", "local/m", "error", None)]
    doc = to_document(RunInfo.start(), [*no_usage, *counted, *errored])
    path = tmp_path / "run.html"
    path.write_text(render_run(doc), encoding="utf-8")
    opened = open_report(browser, path)
    rows = opened.page.eval_on_selector_all(
        "#summary tbody tr", "rows => rows.map(r => r.cells[4].textContent)"
    )
    assert rows == [r[4] for r in summary_rows(doc)] == ["unknown", "200/20", "0/0"]
    assert opened.errors == []


def test_diff_report_keyboard(diff_page: tuple[Opened, Any]) -> None:
    opened, _ = diff_page
    page = opened.page
    page.focus("button[data-status=regressed]")
    page.keyboard.press("Space")  # hide the regressed tests
    shown = page.eval_on_selector_all("#tests details", "ds => ds.map(d => d.dataset.status)")
    assert shown == ["fixed"]
    page.keyboard.press("Tab")  # to the next chip: fixed
    page.keyboard.press("Enter")
    assert page.eval_on_selector_all("#tests details", "ds => ds.length") == 0
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search"
