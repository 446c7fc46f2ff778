"""Lint renders each test through the call plan, as `promptctl test` would send it."""

from __future__ import annotations

from pathlib import Path

from promptctl.lint import lint
from promptctl.promptfile.model import Project

HEAD = """\
version: 1.0.0
description: d
inputs: {ticket: {type: string}}
messages:
  - user: "{{ ticket }}"
tests:
  - name: t
    vars: {ticket: short}
"""


def _lint(tmp_path: Path, model: str) -> list[tuple[str, str]]:
    (tmp_path / "prompts").mkdir(exist_ok=True)
    (tmp_path / "prompts" / "p.yaml").write_text(HEAD + model)
    project = Project(root=tmp_path, prompts_dir=tmp_path / "prompts", evals_dir=tmp_path / "evals")
    report = lint(project, check_versions=False)
    return [(d.code, d.message) for d in report.diagnostics if d.code in ("PC019", "PC106")]


def test_a_route_that_fails_on_a_tests_vars_is_reported(tmp_path: Path) -> None:
    found = _lint(
        tmp_path,
        "model:\n  use: openai/gpt-4o-mini\n  routes:\n"
        "    - {when: \"ticket[100] == 'x'\", use: openai/gpt-4o}\n",
    )
    assert len(found) == 1 and found[0][0] == "PC019"
    assert found[0][1].startswith("test 't' does not render: route `when` failed")


def test_the_window_is_checked_on_the_routed_target_and_each_fallback(tmp_path: Path) -> None:
    # max_tokens over gpt-4o's 128k window; the routed model and the fallback both warned
    model = (
        "model:\n  use: openai/gpt-4o-mini\n  params: {max_tokens: 200000}\n"
        "  routes:\n    - {when: 'true', use: openai/gpt-4o}\n"
        "  fallbacks: [openai/gpt-4o-mini]\n"
    )
    found = _lint(tmp_path, model)
    assert [code for code, _ in found] == ["PC106", "PC106"]
    assert "over openai/gpt-4o's" in found[0][1]
    assert "over openai/gpt-4o-mini's" in found[1][1]
