import json
from pathlib import Path

import pytest

from fakes.results_factory import make_case, make_doc
from promptctl.errors import UsageError
from promptctl.evals.merge import merge_files
from promptctl.evals.results import CaseResult, RunInfo, to_document


def _write(path: Path, doc: dict[str, object]) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_merge_joins_cases_and_recomputes_summary(tmp_path: Path) -> None:
    shard1 = make_doc([make_case("p", "a", 0, "pass"), make_case("p", "b", 0, "fail")], run_id="s1")
    shard2 = make_doc(
        [make_case("p", "c", 0, "pass"), make_case("p", "d", 0, "error")], run_id="s2"
    )
    shard1["run"]["shard"] = "1/2"
    merged = merge_files([_write(tmp_path / "1.json", shard1), _write(tmp_path / "2.json", shard2)])
    assert [c["test"] for c in merged["cases"]] == ["a", "b", "c", "d"]
    (row,) = merged["summary"]
    assert (row["cases"], row["passed"], row["failed"], row["errors"]) == (4, 2, 1, 1)
    assert row["pass_rate"] == pytest.approx(2 / 3)  # errors excluded
    assert row["cost_usd"] == pytest.approx(0.004)
    assert merged["run"]["id"] == "s1+s2"
    assert merged["run"]["shard"] is None


def test_duplicate_case_key_names_both_files(tmp_path: Path) -> None:
    doc = make_doc([make_case("p", "a", 0, "pass")])
    first = _write(tmp_path / "first.json", doc)
    second = _write(tmp_path / "second.json", doc)
    with pytest.raises(UsageError) as err:
        merge_files([first, second])
    assert "p::openai/gpt-4o-mini::a::0" in str(err.value)
    assert str(first) in str(err.value) and str(second) in str(err.value)


def test_wrong_schema_is_usage_error(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.json", {"schema": "other@1", "cases": []})
    with pytest.raises(UsageError, match="unsupported schema 'other@1'"):
        merge_files([bad])


def test_merged_summary_is_what_one_run_writes(tmp_path: Path) -> None:
    cases = [
        make_case("p", "a", 0, "pass", latency=100.0),
        make_case("p", "a", 1, "fail", latency=300.0, cost=None),
        make_case("p", "b", 0, "error", latency=None, cost=None),
        make_case("p", "c", 0, "pass", latency=200.0, cached=True),
        make_case("q", "a", 0, "skipped"),
    ]
    single = to_document(RunInfo("one", "2026-11-27T10:00:00Z"), map(CaseResult.from_dict, cases))
    merged = merge_files(
        [
            _write(tmp_path / "1.json", make_doc(cases[:2], run_id="s1")),
            _write(tmp_path / "2.json", make_doc(cases[2:], run_id="s2")),
        ]
    )
    assert merged["summary"] == single["summary"]
    assert merged["summary"][0]["cost_unknown_cases"] == 1  # the failed answer without a price
