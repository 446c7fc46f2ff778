import json
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from fakes.cli import invoke
from promptctl.ledger import Ledger
from promptctl.providers.types import CallContext, CallRecord, Usage


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return invoke(*args, cwd=cwd)


def _record(prompt: str, cost: float | None, ts: float) -> CallRecord:
    return CallRecord(
        timestamp=ts,
        context=CallContext(source="runtime", prompt_id=prompt, tags=("support",)),
        target="openai/gpt-4o-mini",
        model_reported="gpt-4o-mini",
        outcome="ok",
        usage=Usage(input_tokens=100, output_tokens=10),
        cost_usd=cost,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    now = time.time()
    with Ledger(tmp_path / ".promptctl" / "ledger.sqlite") as ledger:
        ledger.record(_record("support/triage", 0.75, now - 60))
        ledger.record(_record("support/triage", 0.50, now - 30))
        ledger.record(_record("faq", None, now - 10))
        ledger.record(_record("old", 9.0, now - 30 * 86_400))
    return tmp_path


def test_json_report_with_since(project: Path) -> None:
    out = run_cli(project, "costs", "--since", "7d", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert {g["key"]: g["calls"] for g in doc["groups"]} == {"support/triage": 2, "faq": 1}
    assert doc["total"]["cost_usd"] == pytest.approx(1.25)
    assert doc["total"]["unknown_cost_calls"] == 1


def test_table_shows_unknown_cost_apart(project: Path) -> None:
    out = run_cli(project, "costs", "--by", "prompt")
    assert out.returncode == 0, out.stderr
    assert "support/triage" in out.stdout and "$1.25" in out.stdout
    assert (
        "1 call(s) of unknown cost are not in the totals; no price for openai/gpt-4o-mini: "
        "add it under `pricing:` in promptctl.yaml" in out.stdout
    )


def test_failed_calls_are_errors_not_unknown_cost(tmp_path: Path) -> None:
    """A local model failing with 503 (no price, nothing spent) then a tiny priced answer."""
    now = time.time()
    failed = CallRecord(
        timestamp=now - 20,
        context=CallContext(source="eval", prompt_id="support/triage"),
        target="local/llama3",
        model_reported="",
        outcome="error",
        usage=Usage(),
        cost_usd=None,
        error_kind="overloaded",
    )
    cached = replace(failed, outcome="cached", error_kind=None, usage=Usage(input_tokens=50))
    with Ledger(tmp_path / ".promptctl" / "ledger.sqlite") as ledger:
        ledger.record(failed)
        ledger.record(cached)  # a response-cache hit: no price, so its saving is unknown
        ledger.record(_record("support/triage", 3.5e-05, now - 10))
    out = run_cli(tmp_path, "costs", "--by", "model")
    assert out.returncode == 0, out.stderr
    local = next(line for line in out.stdout.splitlines() if "local/llama3" in line)
    cells = [c.strip() for c in local.split("│")[1:-1]]
    # model, calls, errors, cost, unknown ... saved
    assert cells[:5] == ["local/llama3", "2", "1", "$0.00", ""]
    assert cells[-1] == "unknown"
    assert "$0.000035" in out.stdout
    assert "unknown cost" not in out.stdout and "pricing:" not in out.stdout
    assert "cache savings unknown for 1 call(s)" in out.stdout


def test_csv_by_tag(project: Path) -> None:
    out = run_cli(project, "costs", "--by", "tag", "--format", "csv", "--since", "7d")
    assert out.stdout.splitlines()[1].startswith("support,3,0,1.25000000,1,")


def test_budget_check_exit_codes(project: Path) -> None:
    (project / "promptctl.yaml").write_text(
        "budgets:\n  total: {daily: 100}\n  prompt: {support/triage: {daily: 1.0}}\n"
    )
    out = run_cli(project, "costs", "--check")
    assert out.returncode == 1
    assert out.stdout.splitlines()[0].startswith(
        "budget exceeded: prompt support/triage daily: $1.25 spent of $1.00"
    )
    (project / "promptctl.yaml").write_text("budgets:\n  total: {daily: 100}\n")
    out = run_cli(project, "costs", "--check")
    assert out.returncode == 0 and out.stdout.startswith("budget ok: total daily")


def test_bad_budget_and_bad_args_exit_2(project: Path) -> None:
    (project / "promptctl.yaml").write_text("budgets:\n  total: {hourly: 1}\n")
    out = run_cli(project, "costs", "--check")
    # promptctl.yaml is schema-checked on load: the mistake is named with its file:line.
    assert out.returncode == 2
    assert "promptctl.yaml:2:11: unknown key 'hourly' in budgets.total" in out.stderr
    assert "(allowed keys: daily, weekly, monthly)" in out.stderr
    (project / "promptctl.yaml").unlink()  # an invalid config stops every command
    out = run_cli(project, "costs", "--by", "team")
    assert out.returncode == 2 and "cannot group by 'team'" in out.stderr
    out = run_cli(project, "costs", "--ledger", str(project / "nope.sqlite"))
    assert out.returncode == 2 and "no ledger at" in out.stderr


def test_budget_check_without_budgets_says_so(project: Path) -> None:
    out = run_cli(project, "costs", "--check")
    assert out.returncode == 0
    assert out.stdout == "no budgets configured in promptctl.yaml (`budgets:`); nothing to check\n"
