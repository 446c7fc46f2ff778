"""Assertions: one registry from type name to checker, plus `evaluate_test`.

Importing this package registers every built-in type. `ASSERTION_TYPES` lists them all
and `spec_problem(spec)` let lint reject a broken assertion before a run.
"""

from __future__ import annotations

from promptctl.evals.assertions import metrics, python_check, structured, text, tools
from promptctl.evals.assertions.base import (
    REGISTRY,
    AssertionContext,
    AssertionResult,
    Check,
    InvalidSpec,
    ParsedJson,
    register,
    run_assertion,
)
from promptctl.evals.assertions.evaluate import TestOutcome, evaluate_test, grade_rubric
from promptctl.evals.assertions.jsonpath import JsonPath, JsonPathError, compile_path
from promptctl.evals.assertions.validate import spec_problem

__all__ = [
    "ASSERTION_TYPES",
    "REGISTRY",
    "AssertionContext",
    "AssertionResult",
    "Check",
    "InvalidSpec",
    "JsonPath",
    "JsonPathError",
    "ParsedJson",
    "TestOutcome",
    "compile_path",
    "evaluate_test",
    "grade_rubric",
    "register",
    "run_assertion",
    "spec_problem",
]

_ = (metrics, python_check, structured, text, tools)  # imported for their registrations

ASSERTION_TYPES: frozenset[str] = frozenset({*REGISTRY, "llm-rubric"})
