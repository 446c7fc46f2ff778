"""The worked example of docs/gating.md, recomputed: the numbers there were done by hand."""

from pathlib import Path

import pytest

from fakes.results_factory import doc_from_outcomes
from promptctl.evals.compare import compare
from promptctl.promptfile.model import GateConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "gating.md"


def _tests(worse: int, better: int, stable: int) -> tuple[dict[str, str], dict[str, str]]:
    base = {f"w{i}": "PPP" for i in range(worse)}
    head = {f"w{i}": "PPF" for i in range(worse)}
    base |= {f"b{i}": "PPF" for i in range(better)}
    head |= {f"b{i}": "PPP" for i in range(better)}
    base |= {f"s{i}": "PPP" for i in range(stable)}
    head |= {f"s{i}": "PPP" for i in range(stable)}
    return base, head


def test_worked_example() -> None:
    triage_base, triage_head = _tests(9, 1, 30)
    summary_base, summary_head = _tests(6, 4, 20)
    result = compare(
        doc_from_outcomes({"support/triage": triage_base, "billing/summary": summary_base}),
        doc_from_outcomes({"support/triage": triage_head, "billing/summary": summary_head}),
        GateConfig(bootstrap_resamples=0),
    )
    triage, summary = result.groups
    assert triage.p_value == pytest.approx(11 / 1024)  # 0.0107
    assert summary.p_value == pytest.approx(386 / 1024)  # 0.377
    assert triage.p_adjusted == pytest.approx(22 / 1024)  # 0.0215
    assert summary.p_adjusted == pytest.approx(386 / 1024)
    assert triage.pass_rate_change == pytest.approx(-8 / 120)  # -6.7 points
    assert triage.hard_p_value is None and summary.hard_p_value is None  # nothing could flip
    assert triage.verdict == "fail"
    assert summary.verdict == "inconclusive"
    assert summary.required_tests == 55
    assert result.verdict == "fail"
    text = DOC.read_text(encoding="utf-8")
    for figure in ("0.0107", "0.377", "0.0215", "6.7", "54.2", "**55**"):
        assert figure in text
