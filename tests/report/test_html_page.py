"""The HTML page as text: safe embedding, the CSP, determinism, size, and its data."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from html_builders import HOSTILE, TARGETS, diff_comparison, run_doc

from promptctl.errors import UsageError
from promptctl.report.diff_report import verdict_line
from promptctl.report.html import render_diff, render_run, write_html
from promptctl.report.html.page import embed_json
from promptctl.report.html.payload import history_points, target_points
from promptctl.report.html.words import word_diff


def _data(page: str) -> dict[str, object]:
    block = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert block is not None
    data: dict[str, object] = json.loads(block.group(1))
    return data


def test_untrusted_text_cannot_close_the_data_block() -> None:
    text = embed_json({"o": HOSTILE + "</script><!--"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"o": HOSTILE + "</script><!--"}


def test_page_holds_the_hostile_output_only_inside_the_json_block() -> None:
    page = render_run(run_doc())
    assert page.count("<script") == 2  # the data block and the inlined script
    assert "window.__pwned" in page and "<img" not in page
    outputs = [c["output"] for c in _data(page)["cases"]]  # type: ignore[index]
    assert HOSTILE in outputs


def test_csp_allows_exactly_the_inlined_script_and_style() -> None:
    page = render_run(run_doc())
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = csp.group(1)
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    script = re.findall(r"<script>(.*?)</script>", page, re.S)
    style = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(script) == 1 and len(style) == 1

    def digest(text: str) -> str:
        return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert f"script-src 'sha256-{digest(script[0])}'" in policy
    assert f"style-src 'sha256-{digest(style[0])}'" in policy
    code = (script[0] + style[0]).replace('"http://www.w3.org/2000/svg"', "")  # a namespace
    assert not re.search(r"https?://|url\(|@import|fetch\(|XMLHttpRequest", code)


def test_same_document_same_bytes() -> None:
    doc = run_doc()
    assert render_run(doc) == render_run(doc)


def test_a_thousand_cases_with_outputs_stay_under_two_megabytes() -> None:
    doc = run_doc(n_tests=250, output_chars=500)  # 2 prompts x 250 x 2 targets + 2
    assert len(doc["cases"]) >= 1000
    assert len(render_run(doc).encode()) <= 2_000_000


def test_nan_in_a_document_is_a_usage_error() -> None:
    doc = run_doc(n_tests=1)
    doc["cases"][0]["score"] = float("nan")
    with pytest.raises(UsageError, match="NaN"):
        render_run(doc)


def test_target_points_pool_prompts_per_target() -> None:
    doc = run_doc()
    points = {p["target"]: p for p in target_points(doc["summary"])}
    cases = [c for c in doc["cases"] if c["target"] == TARGETS[1]]
    passed = sum(c["status"] == "pass" for c in cases)
    judged = sum(c["status"] in ("pass", "fail") for c in cases)
    assert points[TARGETS[1]]["pass_rate"] == pytest.approx(passed / judged)
    assert points[TARGETS[1]]["cost_per_case"] == pytest.approx(0.0003)
    assert points[TARGETS[0]]["pass_rate"] == 1.0


def test_history_reads_the_last_runs_and_skips_junk(tmp_path: Path) -> None:
    for i, rate in enumerate((0.5, 1.0)):
        passed = int(rate * 4)
        doc = {
            "run": {"id": f"2026010{i}T000000Z-aaaaaa"},
            "summary": [{"prompt": "a/b", "passed": passed, "failed": 4 - passed}],
        }
        (tmp_path / f"2026010{i}T000000Z-aaaaaa.json").write_text(json.dumps(doc))
    (tmp_path / "20260109T000000Z-broken.json").write_text("{not json")
    points = history_points(tmp_path)
    assert [p["pass_rate"]["a/b"] for p in points] == [0.5, 1.0]
    # the limit counts files: the last two are a good run and the broken one
    assert [p["run"] for p in history_points(tmp_path, limit=2)] == ["20260101T000000Z-aaaaaa"]
    assert history_points(tmp_path / "missing") == []


@pytest.mark.parametrize(
    ("base", "head"),
    [
        ("the cat sat on the mat", "the dog sat on the mat!"),
        ("", "new text"),
        ("line one\nline two\n", "line one\nline 2\n"),
        ("a " * 5000, "b " * 5000),  # long: falls back to lines
    ],
)
def test_word_diff_rebuilds_both_sides(base: str, head: str) -> None:
    segments = word_diff(base, head)
    assert "".join(t for op, t in segments if op != "+") == base
    assert "".join(t for op, t in segments if op != "-") == head


def test_word_diff_marks_only_the_changed_word() -> None:
    assert word_diff("the cat sat", "the dog sat") == [
        ("=", "the "),
        ("-", "cat"),
        ("+", "dog"),
        ("=", " sat"),
    ]


def test_diff_page_carries_the_verdict_and_word_diffs() -> None:
    comparison, _, _ = diff_comparison()
    data = _data(render_diff(comparison))
    assert data["kind"] == "diff" and data["verdict"] == comparison.verdict
    assert data["verdict_line"] == verdict_line(comparison)
    assert data["reasons"] == list(comparison.reasons) and data["reasons"]
    tests = {t["test"]: t for t in data["groups"][0]["tests"]}  # type: ignore[index]
    assert ["-", "billing"] in tests["refund"]["words"] and ["+", "other"] in tests["refund"][
        "words"
    ]
    assert "words" not in tests["login"]  # same output on both sides


def test_write_html_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot write HTML report"):
        write_html(tmp_path, "<p>")


def test_diff_page_with_the_documents_shows_whole_outputs_of_every_test() -> None:
    comparison, base_doc, head_doc = diff_comparison()
    long = "word " * 200  # the comparison keeps 400-character excerpts
    for c in head_doc["cases"]:
        if c["test"] == "refund":
            c["output"] = long
    data = _data(render_diff(comparison, base_doc=base_doc, head_doc=head_doc))
    tests = {t["test"]: t for t in data["groups"][0]["tests"]}  # type: ignore[index]
    assert tests["refund"]["head_output"] == long
    assert tests["refund"]["base_output"] == "category: billing, urgency: high (refund)"
    assert tests["login"]["base_output"] == tests["login"]["head_output"] is not None
    assert "words" not in tests["login"]
    assert tests["vat"]["head_output"] == "category: billing, urgency: high (vat)"  # fixed
