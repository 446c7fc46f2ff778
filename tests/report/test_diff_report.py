import json

from fakes.results_factory import doc_from_outcomes, make_case, make_doc
from promptctl.evals.compare import compare
from promptctl.evals.comparison import comparison_from_dict
from promptctl.promptfile.model import GateConfig
from promptctl.report.diff_report import MARKER, render_json, render_markdown, verdict_line
from promptctl.report.diff_terminal import render_terminal_text

GATE = GateConfig(bootstrap_resamples=0)
STABLE = {f"t{i}": "PPP" for i in range(40)}  # enough tests to judge a 10-point drop


def test_pass_verdict_first_line_and_marker() -> None:
    doc = doc_from_outcomes({"support/triage": STABLE})
    md = render_markdown(compare(doc, doc, GATE))
    lines = md.splitlines()
    assert lines[0] == "✅ promptctl: no regressions"
    assert MARKER in md
    assert "| support/triage | openai/gpt-4o-mini | ✅ pass | 100.0% → 100.0%" in md


def test_fail_names_the_regressions_and_shows_expected_vs_actual() -> None:
    base = make_doc(
        [
            make_case("support/triage", t, r, "pass", output="billing")
            for t in "abc"
            for r in range(3)
        ]
    )
    head = make_doc(
        [
            *(make_case("support/triage", "a", r, "fail", output="other | x") for r in range(3)),
            *(
                make_case("support/triage", t, r, "fail", output="other")
                for t in "bc"
                for r in range(3)
            ),
        ]
    )
    md = render_markdown(compare(base, head, GATE))
    # 3 of 3 tests 3/3 -> 0/3: each split has chance 1/20, all three 1/8000
    assert (
        md.splitlines()[0] == "❌ promptctl: 3 regressions in support/triage (openai/gpt-4o-mini)"
    )
    assert "### Regressed tests (3)" in md
    assert "hard flips 3 of 3 possible, p=0.000125" in md
    assert "expected (base output):\n```text\nbilling\n```" in md
    assert "actual (head output):\n```text\nother | x\n```" in md
    assert "- equals: expected 'billing', got 'other'" in md
    assert "<details>" in md and "</details>" in md


def test_inconclusive_and_error_lines() -> None:
    single = doc_from_outcomes({"p": {"t0": "P", "t1": "P"}})
    assert verdict_line(compare(single, single, GATE)).startswith("⚠️ promptctl: inconclusive")
    errored = doc_from_outcomes({"p": {"t0": "EE", "t1": "EE", "t2": "PP"}})
    stable = doc_from_outcomes({"p": {"t0": "PP", "t1": "PP", "t2": "PP"}})
    assert verdict_line(compare(stable, errored, GATE)).startswith("🛑 promptctl: too many errors")


def test_markdown_is_capped_with_a_note() -> None:
    # 300 regressions of ~0.75 KB each (name, reasons, both outputs): ~4x the cap
    many = {f"test-{i}-" + "x" * 60: "PP" for i in range(300)}
    broken = {name: "FF" for name in many}
    base = make_doc(
        [make_case("p", name, r, "pass", output="y" * 400) for name in many for r in (0, 1)]
    )
    head = doc_from_outcomes({"p": broken})
    md = render_markdown(compare(base, head, GATE))
    assert len(md) <= 60_000
    assert md.splitlines()[0] == "❌ promptctl: 300 regressions in p (openai/gpt-4o-mini)"
    assert MARKER in md
    assert "report truncated" in md.splitlines()[-1]
    assert md.count("<details>") == md.count("</details>")


def test_table_cells_escape_pipes_and_html() -> None:
    doc = doc_from_outcomes({"a|b<script>": STABLE})
    md = render_markdown(compare(doc, doc, GATE))
    assert "| a\\|b&lt;script&gt; |" in md
    assert "<script>" not in md


def test_json_report_round_trips() -> None:
    base = doc_from_outcomes({"p": STABLE})
    head = doc_from_outcomes({"p": {**STABLE, "t0": "FFF", "t1": "FFF", "t2": "FFF"}})
    comparison = compare(base, head, GATE)
    data = json.loads(render_json(comparison))
    assert data["verdict"] == "fail"
    assert data["groups"][0]["tests"][0]["status"] == "regressed"
    assert comparison_from_dict(data) == comparison


def test_terminal_text_shows_verdict_and_tests() -> None:
    small = dict(list(STABLE.items())[:5])
    base = doc_from_outcomes({"p": {**small, "t1": "PFP"}})
    head = doc_from_outcomes({"p": {**small, "t0": "FFF", "t1": "PPF"}})
    text = render_terminal_text(compare(base, head, GATE), width=160)
    # one hard flip among 5 tests is p = 1/20 on its own: too few tests to tell
    assert text.splitlines()[0].startswith("⚠️ promptctl: inconclusive")
    assert "regressed p (openai/gpt-4o-mini) :: t0  100% → 0%" in text
    assert "flaky     p (openai/gpt-4o-mini) :: t1  67% → 67%" in text
    assert "INCONCLUSIVE" in text
    # t0: P(k | 3 passes in all) = C(3,k) C(3,3-k) / 20 = 1, 9, 9, 1 / 20 for k = 0..3;
    # t1: P(k | 4 in all) = 3, 9, 3 / 15 for k = 1..3. Observed k = 0 and 2:
    # P(sum <= 2) = 1/20 * 12/15 + 9/20 * 3/15 = 0.04 + 0.09 = 0.13
    assert "paired tests 5: 1 worse, 0 better; exact one-sided p=0.13" in text
    assert "hard flips 1 of 1 possible, p=0.05" in text


def test_fail_without_regressed_tests_names_the_reason() -> None:
    base = doc_from_outcomes({"p": STABLE}, cost=0.001)
    head = doc_from_outcomes({"p": STABLE}, cost=0.002)
    line = verdict_line(compare(base, head, GATE))
    assert (
        line
        == "❌ promptctl: gate failed in p (openai/gpt-4o-mini): cost per case up 100.0% (> 10%)"
    )


def _priced(cost: float | None) -> dict[str, object]:
    return make_doc(
        [make_case("p", f"t{i}", r, "pass", cost=cost) for i in range(4) for r in (0, 1)]
    )


def test_small_costs_keep_their_digits_in_markdown_and_terminal() -> None:
    comparison = compare(_priced(3.5e-05), _priced(7e-05), GATE)
    md = render_markdown(comparison)
    assert "| $0.000035 → $0.00007 | $0.00028 → $0.00056 |" in md
    text = render_terminal_text(comparison)
    cost_row = next(line for line in text.splitlines() if "cost / case" in line)
    assert "$0.000035" in cost_row and "$0.00007" in cost_row and "+100.0%" in cost_row
    assert "$0.0000 " not in md + text


def _cells(text: str, label: str) -> list[str]:
    row = next(line for line in text.splitlines() if label in line)
    return [c.strip() for c in row.split("│")[1:-1]]


def test_unknown_costs_say_unknown_not_zero_and_the_gate_says_it_skipped() -> None:
    local = "local/llama3"
    base = make_doc([make_case("p", f"t{i}", 0, "pass", cost=None, target=local) for i in range(4)])
    head = make_doc(
        [make_case("p", f"t{i}", 0, "pass", cost=0.001, target=local) for i in range(4)]
    )
    comparison = compare(base, head, GATE)
    note = "cost gate skipped: cost unknown on base: no price for local/llama3"
    md = render_markdown(comparison)
    assert "| unknown → $0.001 | unknown → $0.004 |" in md
    assert f"- p (local/llama3): {note}" in md
    assert "$0.00 " not in md
    text = render_terminal_text(comparison)
    assert _cells(text, "cost / case") == ["cost / case", "unknown", "$0.001", "—"]
    assert _cells(text, "total cost") == ["total cost", "unknown", "$0.004", "—"]
    assert f"  {note}" in text.splitlines()
    data = json.loads(render_json(comparison))
    assert data["groups"][0]["base"]["cost_per_case"] is None
    assert data["groups"][0]["base"]["cost_unknown_cases"] == 4
    assert data["groups"][0]["cost_note"] == note
    assert comparison_from_dict(data) == comparison


def test_partial_unknown_costs_show_the_unpriced_count_and_the_tests_compared() -> None:
    base = _priced(0.001)
    head = make_doc(
        [
            make_case("p", f"t{i}", r, "pass", cost=0.0015 if i < 2 else None)
            for i in range(4)
            for r in (0, 1)
        ]
    )
    comparison = compare(base, head, GATE)
    assert comparison.verdict == "fail"  # +50% over t0, t1, priced on both sides
    text = render_terminal_text(comparison)
    assert _cells(text, "cost / case") == [
        "cost / case",
        "$0.001",
        "$0.0015 (4 unpriced)",
        "+50.0%",
    ]
    note = (
        "cost per case compared over the 2 of 4 tests priced on both sides "
        "(unpriced answers: base 0, head 4)"
    )
    assert f"  {note}" in text.splitlines()
    md = render_markdown(comparison)
    assert "| $0.001 → $0.0015 (4 unpriced) | $0.008 → $0.006 (4 unpriced) |" in md
    assert f"- p (openai/gpt-4o-mini): {note}" in md


def test_errors_and_cache_hits_in_the_rendered_cost() -> None:
    base = _priced(0.002)
    head = make_doc(
        [make_case("p", f"t{i}", 0, "pass", cost=0.002, cached=True) for i in range(4)]
        + [make_case("p", f"t{i}", 1, "pass", cost=0.002) for i in range(3)]
        + [make_case("p", "t3", 1, "error", cost=0.0)]
    )
    comparison = compare(base, head, GateConfig(bootstrap_resamples=0, max_error_rate=0.5))
    text = render_terminal_text(comparison)
    # the error's $0 is left out; cached answers count at their recorded $0.002
    assert _cells(text, "cost / case") == ["cost / case", "$0.002", "$0.002", "+0.0%"]
    assert _cells(text, "total cost") == ["total cost", "$0.016", "$0.014", "-12.5%"]
    assert "| $0.002 → $0.002 | $0.016 → $0.014 |" in render_markdown(comparison)


def test_nothing_to_compare_is_said_plainly() -> None:
    empty = make_doc([])
    line = verdict_line(compare(empty, empty, GATE))
    assert line == "⚠️ promptctl: nothing to compare: neither side has results"


def test_a_group_whose_cases_all_errored_keeps_its_line_whole() -> None:
    """Its table is all dashes, narrower than "<prompt> (<target>): error": as the table's
    title that line was wrapped, the verdict alone on the next line."""
    prompt = "support/a-rather-long-prompt-id"
    stable = doc_from_outcomes({prompt: {"t0": "PP", "t1": "PP"}})
    errored = doc_from_outcomes({prompt: {"t0": "EE", "t1": "EE"}})
    text = render_terminal_text(compare(stable, errored, GATE), width=160)
    assert f"{prompt} (openai/gpt-4o-mini): error\n" in text
    markup = doc_from_outcomes({"[bold]x[/]": {"t0": "P"}})
    assert "[bold]x[/] (openai/gpt-4o-mini): " in render_terminal_text(
        compare(markup, markup, GATE)
    )
