"""`- json-schema` alone validates against the prompt's output.schema (docs/results-format.md)."""

from __future__ import annotations

from pathlib import Path

from promptctl.evals.assertions import AssertionContext, run_assertion
from promptctl.lint import lint
from promptctl.promptfile.loader import load_prompts
from promptctl.promptfile.model import Project

PROMPT = """\
version: 1.0.0
description: d
model: {use: openai/gpt-4o-mini}
inputs: {ticket: {type: string}}
output:
  format: json
  schema: {type: object, required: [category], properties: {category: {enum: [bug, billing]}}}
messages:
  - user: "{{ ticket }}"
tests:
  - name: t
    vars: {ticket: x}
    assert:
      - json-schema
      - not-json-schema
"""


def test_bare_json_schema_is_accepted_and_uses_the_output_schema(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "p.yaml").write_text(PROMPT)
    project = Project(root=tmp_path, prompts_dir=tmp_path / "prompts", evals_dir=tmp_path / "evals")
    report = lint(project, check_versions=False)
    assert [d.code for d in report.diagnostics if d.is_error] == []
    prompt = load_prompts(project).get("p")
    bare, negated = prompt.tests[0].asserts
    assert (bare.type, bare.value, negated.negate) == ("json-schema", None, True)

    def check(output: str) -> tuple[bool, bool]:
        ctx = AssertionContext(output=output, prompt=prompt, cost_usd=0.0, latency_ms=0.0)
        return run_assertion(bare, ctx).passed, run_assertion(negated, ctx).passed

    assert check('{"category": "bug"}') == (True, False)
    assert check('{"category": "sales"}') == (False, True)


def test_a_test_can_opt_out_of_the_output_schema_check(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    text = PROMPT.replace(
        "    vars: {ticket: x}\n", "    vars: {ticket: x}\n    check_output_schema: false\n"
    )
    (tmp_path / "prompts" / "p.yaml").write_text(text)
    project = Project(root=tmp_path, prompts_dir=tmp_path / "prompts", evals_dir=tmp_path / "evals")
    (test,) = load_prompts(project).get("p").tests
    assert test.check_output_schema is False
    (tmp_path / "prompts" / "p.yaml").write_text(text.replace("false", "maybe"))
    codes = [d.code for d in lint(project, check_versions=False).diagnostics if d.is_error]
    assert codes == ["PC003"]
