"""spec_problem: what lint reports about an assertion before any call."""

from __future__ import annotations

from pathlib import Path

import pytest
from evalcore_builders import make_prompt, spec

from promptctl.evals.assertions import spec_problem
from promptctl.promptfile.model import AssertionSpec


@pytest.mark.parametrize(
    "good",
    [
        spec("contains", "refund"),
        spec("not-regex", r"^\d+$"),
        spec("json-path", path="$.a[0]", equals=1),
        spec("length", max=10),
        spec("cost", max=0.01),
        spec("latency", 500),
        spec("llm-rubric", "polite"),
        spec("is-json"),
        spec("equals", {"a": 1}),
    ],
)
def test_usable_specs_have_no_problem(good: AssertionSpec) -> None:
    # the dummy output fails most of these; only the spec itself is judged
    assert spec_problem(good) is None


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (spec("containz", "x"), "unknown assertion type 'containz'"),
        (spec("contains"), "contains needs a value"),
        (spec("regex", "(open"), "bad regex"),
        (spec("json-path", path="$..a", equals=1), "unsupported JSONPath"),
        (spec("json-schema", {"type": 3}), "invalid JSON Schema"),
        (spec("json-schema"), "needs a schema"),
        (spec("length", unit="lines", max=3), "unit must be chars or words"),
        (spec("llm-rubric"), "needs a rubric"),
        (spec("python"), "python needs a value"),
        (spec("cost"), "cost needs a numeric max"),
        (spec("latency", max="fast"), "latency: max must be a number, got 'fast'"),
        (spec("length", min=True), "length: min must be a number, got true"),
    ],
)
def test_broken_specs_are_described(bad: AssertionSpec, message: str) -> None:
    problem = spec_problem(bad)
    assert problem is not None and message in problem


def test_json_schema_uses_prompt_schema_and_python_is_loaded_not_called(tmp_path: Path) -> None:
    prompt = make_prompt(schema={"type": "object"})
    assert spec_problem(spec("json-schema"), prompt=prompt) is None
    (tmp_path / "checks.py").write_text("def f(o, c):\n    raise SystemExit('called')\n")
    assert spec_problem(spec("python", "checks.py:f"), project_root=tmp_path) is None
    missing = spec_problem(spec("python", "checks.py:g"), project_root=tmp_path)
    assert missing is not None and "no function 'g'" in missing
