"""Commands read promptctl.yaml through the project loader (`--project` or walking up)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fakes.results_factory import doc_from_outcomes
from promptctl.cli.main import app
from promptctl.errors import ConfigError, UsageError
from promptctl.ledger import Ledger
from promptctl.providers.cache import ResponseCache
from promptctl.providers.types import CallContext, CallRecord, ChatResponse, Usage

STABLE = {f"t{i}": "PPP" for i in range(40)}  # enough to judge a 10-point drop
WORSE = {**STABLE, "t0": "FFF", "t1": "FFF", "t2": "FFF"}  # 3 hard flips: p = 20**-3


def _results(tmp_path: Path) -> tuple[str, str]:
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    base.write_text(json.dumps(doc_from_outcomes({"p": STABLE})), encoding="utf-8")
    head.write_text(json.dumps(doc_from_outcomes({"p": WORSE})), encoding="utf-8")
    return str(base), str(head)


def test_diff_takes_the_gate_from_promptctl_yaml(tmp_path: Path) -> None:
    base, head = _results(tmp_path)
    project = tmp_path / "proj"
    project.mkdir()
    args = ["diff", "--base", base, "--head", head, "-f", "json", "--project", str(project)]
    runner = CliRunner()
    assert runner.invoke(app, args).exit_code == 1  # defaults: a hard regression fails
    (project / "promptctl.yaml").write_text(
        "gate: {fail_on_new_failures: false, max_pass_rate_drop: 0.5}\n"
    )
    lenient = runner.invoke(app, args)
    assert lenient.exit_code == 0, lenient.output
    (project / "promptctl.yaml").write_text("gate: {flaky_fail: true}\n")
    broken = runner.invoke(app, args)
    assert isinstance(broken.exception, ConfigError) and broken.exception.exit_code == 2
    assert "unknown key 'flaky_fail' in gate" in str(broken.exception)


def test_providers_lists_pricing_of_the_found_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n  local: {kind: openai-compatible, base_url: 'http://127.0.0.1:9/v1'}\n"
        "pricing:\n  local/tiny: {input: 0.25, output: 0.5}\n"
    )
    sub = tmp_path / "prompts" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)  # found by walking up, as git does
    result = CliRunner().invoke(app, ["providers", "--format", "json", "--match", "tiny"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert "local" in {p["name"] for p in data["providers"]}
    tiny = {p["model"]: p for p in data["prices"]}["local/tiny"]
    assert (tiny["input"], tiny["output"], tiny["source"]) == (0.25, 0.5, "promptctl.yaml")


def test_cache_stats_uses_the_project_root_from_a_subdirectory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "promptctl.yaml").write_text("prompts: prompts\n")
    cache = ResponseCache(tmp_path / ".promptctl" / "cache.sqlite")
    cache.put("a", ChatResponse(text="x", target="openai/gpt-4o-mini"))
    cache.close()
    sub = tmp_path / "prompts"
    sub.mkdir()
    monkeypatch.chdir(sub)
    runner = CliRunner()
    stats = runner.invoke(app, ["cache", "stats", "--format", "json"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.output)["entries"] == 1
    bad = runner.invoke(app, ["cache", "stats", "--format", "xml"])
    assert isinstance(bad.exception, UsageError) and bad.exception.exit_code == 2
    assert "unknown --format 'xml'" in str(bad.exception)


def test_costs_reads_ledger_and_pricing_keys_through_the_loader(tmp_path: Path) -> None:
    (tmp_path / "promptctl.yaml").write_text(
        "ledger: var/calls.sqlite\n"
        "pricing:\n  local/m: {input: 1.0, output: 2.0}\n"
        "budgets:\n  total: {daily: 0.5}\n"
    )
    record = CallRecord(
        timestamp=time.time(),
        context=CallContext(source="runtime", prompt_id="p"),
        target="local/m",
        model_reported="m",
        outcome="cached",
        usage=Usage(input_tokens=1_000_000, output_tokens=500_000),
        cost_usd=1.0,
    )
    with Ledger(tmp_path / "var" / "calls.sqlite") as ledger:
        ledger.record(record)
    runner = CliRunner()
    out = runner.invoke(app, ["costs", "--format", "json", "--project", str(tmp_path)])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["total"]["calls"] == 1
    # a response-cache hit saves input x 1.0 + output x 2.0 per million at `pricing:`
    assert doc["total"]["saved_usd"] == pytest.approx(2.0)
    check = runner.invoke(app, ["costs", "--check", "--project", str(tmp_path)])
    assert check.exit_code == 1 and "budget exceeded: total daily" in check.output
