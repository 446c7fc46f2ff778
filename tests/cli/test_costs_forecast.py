"""`promptctl costs --forecast` and `--check --check-forecast` on a synthetic ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fakes.cli import run
from promptctl.ledger import Ledger
from promptctl.providers.types import CallContext, CallRecord, Usage

TODAY = datetime(2026, 3, 15, tzinfo=UTC)


def _record(prompt: str, day: datetime, cost: float, tokens: int = 100) -> CallRecord:
    return CallRecord(
        timestamp=(day + timedelta(hours=12)).timestamp(),
        context=CallContext(source="runtime", prompt_id=prompt, tags=("support",)),
        target="openai/gpt-4o-mini",
        model_reported="gpt-4o-mini",
        outcome="ok",
        usage=Usage(input_tokens=tokens, output_tokens=0),
        cost_usd=cost,
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """support/triage grows by $0.10 a day; faq/answer is flat at $0.50."""
    (tmp_path / "promptctl.yaml").write_text(
        "budgets:\n  total: {monthly: 100}\n  prompt: {faq/answer: {monthly: 20}}\n"
    )
    start = TODAY - timedelta(days=28)
    with Ledger(tmp_path / ".promptctl" / "ledger.sqlite") as ledger:
        for i in range(28):
            day = start + timedelta(days=i)
            ledger.record(_record("support/triage", day, 0.5 + 0.1 * i))
            ledger.record(_record("faq/answer", day, 0.5))
    monkeypatch.setenv("PROMPTCTL_TODAY", "2026-03-15")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_forecast_per_group_with_budgets_and_drivers(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["costs", "--forecast", "--format", "json"], monkeypatch, capsys)
    assert code == 0, err
    doc = json.loads(out)
    groups = {g["key"]: g for g in doc["groups"]}
    triage, faq = groups["support/triage"], groups["faq/answer"]
    # triage: Mar 1..14 = days 14..27 -> 14 * 0.5 + 0.1 * 287 = 35.7; rest 17 * 0.5 + 0.1 * 612
    assert triage["actual_usd"] == pytest.approx(35.7)
    assert triage["projected_usd"] == pytest.approx(69.7)
    assert triage["trend_usd_per_day"] == pytest.approx(0.1)
    assert faq["total_usd"] == pytest.approx(0.5 * 31)
    assert doc["total"]["total_usd"] == pytest.approx(35.7 + 69.7 + 15.5)
    budgets = {b["budget"]: b for b in doc["budgets"]}
    assert budgets["total monthly"]["breach"] is True
    assert budgets["prompt faq/answer monthly"]["breach"] is False
    # week over week only triage moved: 7 days x $0.70 more, all from dearer calls
    (driver,) = doc["drivers"]
    assert driver["prompt"] == "support/triage"
    assert driver["change_usd"] == pytest.approx(4.9)
    assert driver["calls_effect"] == pytest.approx(0.0)
    assert driver["price_effect"] == pytest.approx(4.9)
    code, out, _ = run(["costs", "--forecast", "--by", "model"], monkeypatch, capsys)
    assert code == 0
    assert "month-end forecast by model (2026-03-15 -> 2026-03-31" in out
    assert "budget forecast breach: total monthly: forecast $120.90" in out
    assert "drivers of change" in out


def test_check_forecast_fails_before_the_budget_is_spent(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["costs", "--check"], monkeypatch, capsys)
    assert code == 0  # nothing is exceeded yet
    code, out, _ = run(["costs", "--check", "--check-forecast"], monkeypatch, capsys)
    assert code == 1
    assert "budget forecast breach: total monthly: forecast $120.90" in out
    assert "exceeded on 2026-03-" in out
    assert "budget forecast ok: prompt faq/answer monthly" in out


def test_check_forecast_alone_is_a_usage_error(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["costs", "--check-forecast"], monkeypatch, capsys)
    assert code == 2 and "--check-forecast needs --check" in err
