from __future__ import annotations

import importlib

import pytest

MODULES = [
    "promptctl.evals.cases",
    "promptctl.evals.assertions",
    "promptctl.evals.judge",
    "promptctl.evals.scoring",
    "promptctl.evals.budget",
    "promptctl.evals.results",
    "promptctl.evals.aggregate",
    "promptctl.report.junit",
    "promptctl.report.summary",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__, name
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert missing == []


def test_assertions_public_names() -> None:
    from promptctl.evals import assertions

    assert set(assertions.__all__) == {
        "ASSERTION_TYPES", "REGISTRY", "AssertionContext", "AssertionResult", "Check",
        "InvalidSpec", "JsonPath", "JsonPathError", "ParsedJson", "TestOutcome",
        "compile_path", "evaluate_test", "grade_rubric", "register", "run_assertion",
        "spec_problem",
    }  # fmt: skip
