"""The results document: records, schema validation, atomic IO, summaries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from evalcore_builders import make_prompt

from promptctl.errors import UsageError
from promptctl.evals.aggregate import summarize
from promptctl.evals.assertions import AssertionResult
from promptctl.evals.cases import expand_cases
from promptctl.evals.results import (
    SCHEMA_ID,
    CaseError,
    CaseResult,
    CaseStatus,
    FallbackTried,
    RunInfo,
    load_case_results,
    read_results,
    results_json_schema,
    to_document,
    write_results,
)
from promptctl.evals.stats import wilson_interval
from promptctl.promptfile.model import TestCase
from promptctl.providers.types import Usage


def _result(
    status: CaseStatus,
    *,
    test: str = "t",
    repeat: int = 0,
    target: str = "openai/gpt-4o-mini",
    prompt: str = "support/triage",
    cost: float | None = 0.001,
    latency: float | None = 100.0,
    score: float | None = None,
    cached: bool = False,
) -> CaseResult:
    if score is None and status in ("pass", "fail"):
        score = 1.0 if status == "pass" else 0.0
    return CaseResult(
        key=f"{prompt}::{target}::{test}::{repeat}",
        prompt=prompt,
        version="1.0.0",
        content_hash="sha256:abc",
        target=target,
        test=test,
        repeat=repeat,
        status=status,
        score=score if status in ("pass", "fail") else None,
        cost_usd=cost if status != "skipped" else None,
        latency_ms=latency if status != "skipped" else None,
        usage=Usage(input_tokens=10, output_tokens=5) if status != "skipped" else Usage(),
        cached=cached,
    )


def _full_doc() -> dict[str, Any]:
    prompt = make_prompt(tests=(TestCase("refund", vars={"ticket": "charged twice"}),))
    case = expand_cases([prompt])[0]
    rich = CaseResult.for_case(
        case,
        status="fail",
        answered_by="anthropic/claude-3-5-haiku-latest",
        request_hash="f" * 64,
        score=0.5,
        output='{"category": "bug"}',
        assertions=(
            AssertionResult("is-json", True, 1.0, 1.0, "output is valid JSON"),
            AssertionResult(
                "json-path", False, 0.0, 1.0, "expected 'billing' at $.category, got 'bug'"
            ),
        ),
        usage=Usage(120, 8, 100, 0, 0),
        cost_usd=0.00012,
        latency_ms=420.5,
        ttft_ms=180.25,  # a streamed case
        fallbacks_tried=(FallbackTried("openai/gpt-4o-mini", "rate_limit"),),
    )
    errored = CaseResult.for_case(
        case, status="error", error=CaseError("timeout", "no answer after 3 attempts")
    )
    run = RunInfo.start(mode="replay", shard="1/2", git_commit="a" * 40)
    run.finish()
    return to_document(run, [rich, errored, _result("skipped", test="other")])


def test_generated_document_validates_against_shipped_schema() -> None:
    doc = _full_doc()
    jsonschema.Draft202012Validator.check_schema(results_json_schema())
    jsonschema.validate(doc, results_json_schema())
    case = doc["cases"][0]
    assert case["key"] == "support/triage::openai/gpt-4o-mini::refund::0"
    assert case["vars"] == {"ticket": "charged twice"}
    assert case["assertions"][1]["pass"] is False
    assert case["fallbacks_tried"] == [{"target": "openai/gpt-4o-mini", "reason": "rate_limit"}]
    assert doc["cases"][1]["error"] == {"kind": "timeout", "message": "no answer after 3 attempts"}
    assert doc["run"]["finished_at"] is not None and doc["run"]["interrupted"] is False
    # only a streamed case carries its time to first token; it reads back the same
    assert case["ttft_ms"] == 180.25 and "ttft_ms" not in doc["cases"][1]
    assert CaseResult.from_dict(case).ttft_ms == 180.25


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (("cases", 0, "status"), "passed"),
        (("cases", 0, "assertions", 0, "score"), 1.5),
        (("run", "mode"), "offline"),
        (("summary", 0, "pass_rate_ci95"), [0.1]),
        (("cases", 0, "ttft_ms"), -3.0),
    ],
)
def test_schema_rejects_contract_violations(path: tuple[Any, ...], bad: Any) -> None:
    doc = _full_doc()
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = bad
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, results_json_schema())


def test_write_read_round_trip_is_atomic(tmp_path: Path) -> None:
    doc = _full_doc()
    target = tmp_path / "runs" / "r.json"
    write_results(target, doc)
    assert read_results(target) == json.loads(json.dumps(doc))
    assert [p.name for p in target.parent.iterdir()] == ["r.json"]  # no temp file left
    records = load_case_results(read_results(target))
    assert [r.to_dict() for r in records] == doc["cases"]


def test_write_failure_keeps_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    write_results(target, {"schema": SCHEMA_ID, "n": 1})
    with pytest.raises(ValueError):
        write_results(target, {"schema": SCHEMA_ID, "bad": float("nan")})
    assert json.loads(target.read_text())["n"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_read_results_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="results file not found"):
        read_results(tmp_path / "missing.json")
    (tmp_path / "old.json").write_text('{"schema": "promptctl/results@0", "cases": []}')
    with pytest.raises(UsageError, match=r"schema 'promptctl/results@0'; expected"):
        read_results(tmp_path / "old.json")
    (tmp_path / "none.json").write_text("{}")
    with pytest.raises(UsageError, match="no schema field"):
        read_results(tmp_path / "none.json")
    (tmp_path / "junk.json").write_text("not json")
    with pytest.raises(UsageError, match="not a JSON results document") as junk:
        read_results(tmp_path / "junk.json")
    assert str(junk.value).startswith(f"{tmp_path / 'junk.json'}:1:1: ")
    (tmp_path / "lacks.json").write_text(json.dumps({"schema": SCHEMA_ID, "cases": [{"key": "k"}]}))
    with pytest.raises(UsageError, match=r"cases\[0\] lacks prompt, version, content_hash"):
        read_results(tmp_path / "lacks.json")
    case = {**_full_doc()["cases"][0], "status": "passed"}
    (tmp_path / "status.json").write_text(json.dumps({"schema": SCHEMA_ID, "cases": [case]}))
    with pytest.raises(UsageError, match="unknown status 'passed'"):
        read_results(tmp_path / "status.json")
    (tmp_path / "bad.json").write_text(json.dumps({**_full_doc(), "run": []}))
    with pytest.raises(UsageError, match="invalid results document at run: "):
        read_results(tmp_path / "bad.json")


def test_summary_per_prompt_and_target() -> None:
    results = [
        _result("pass", repeat=0, latency=100.0),
        _result("pass", repeat=1, latency=300.0),
        _result("fail", repeat=2, latency=200.0, score=0.4),
        _result("error", repeat=3, cost=None, latency=None),
        _result("skipped", repeat=4),
        _result("pass", target="anthropic/claude", latency=900.0, cached=True),
    ]
    first, second = summarize(results)
    assert (first.target, second.target) == ("openai/gpt-4o-mini", "anthropic/claude")
    assert (first.cases, first.passed, first.failed, first.errors, first.skipped) == (5, 2, 1, 1, 1)
    assert first.pass_rate == pytest.approx(2 / 3)
    assert first.pass_rate_ci95 == pytest.approx(wilson_interval(2, 3))
    assert first.mean_score == pytest.approx((1 + 1 + 0.4) / 3)
    assert first.input_tokens == 40 and first.output_tokens == 20
    assert first.cost_usd == pytest.approx(0.003)
    assert (first.latency_p50_ms, first.latency_p95_ms) == (200.0, 300.0)
    # a single case without repeats: no interval; a cached latency is not a measurement
    assert second.pass_rate == 1.0 and second.pass_rate_ci95 is None
    assert second.latency_p50_ms is None


def test_summary_cost_unknown_and_all_errors() -> None:
    (partial,) = summarize([_result("pass", cost=0.002), _result("fail", test="u", cost=None)])
    assert partial.cost_usd == pytest.approx(0.002) and partial.cost_unknown_cases == 1
    (unknown,) = summarize([_result("pass", cost=None)])
    assert unknown.cost_usd is None and unknown.cost_unknown_cases == 1
    (errors,) = summarize([_result("error", cost=None), _result("error", test="u", cost=None)])
    assert errors.pass_rate is None and errors.pass_rate_ci95 is None
    assert errors.mean_score is None and errors.cost_usd == 0.0


def test_run_info_interrupted() -> None:
    run = RunInfo.start()
    run.finish(interrupted=True)
    data = run.to_dict()
    assert data["interrupted"] is True and data["finished_at"] is None
    assert RunInfo.start().id != RunInfo.start().id


def test_written_layout_is_one_case_per_line(tmp_path: Path) -> None:
    doc = {"schema": SCHEMA_ID, "run": {"id": "r"}, "cases": [{"k": 1}, {"k": "é"}], "summary": []}
    target = tmp_path / "r.json"
    write_results(target, doc)
    expected = (
        '{"schema": "promptctl/results@1",\n'
        ' "run": {"id": "r"},\n'
        ' "cases": [\n'
        '  {"k": 1},\n'
        '  {"k": "é"}\n'
        " ],\n"
        ' "summary": []}\n'
    )
    assert target.read_text(encoding="utf-8") == expected


@pytest.mark.parametrize(
    ("where", "value", "field"),
    [
        ("score", "0.9", "cases/0/score"),
        ("usage", "ten tokens", "cases/0/usage"),
        ("assertions", [{"type": 1}], "cases/0/assertions/0"),
        ("vars", [1, 2], "cases/0/vars"),
        ("latency_ms", -5, "cases/0/latency_ms"),
        ("status", ["pass"], None),
    ],
)
def test_a_tampered_case_is_refused_naming_the_field(
    tmp_path: Path, where: str, value: Any, field: str | None
) -> None:
    """Results files come from CI artifacts and pull requests: every reader after
    `read_results` trusts the types, so a wrong one is an error naming its place (it
    used to crash the gate, `report` and `merge` deep inside)."""
    doc = _full_doc()
    doc["cases"][0][where] = value
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(UsageError) as caught:
        read_results(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    if field is not None:
        assert f"invalid results document at {field}:" in message
    else:
        assert "unknown status ['pass']" in message


def test_fields_a_newer_writer_adds_are_read(tmp_path: Path) -> None:
    doc = _full_doc()
    doc["cases"][0]["from_the_future"] = {"anything": [1, "x"]}
    doc["run"]["also_new"] = True
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(doc))
    assert read_results(path)["cases"][0]["from_the_future"] == {"anything": [1, "x"]}
