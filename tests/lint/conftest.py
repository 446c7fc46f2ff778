from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from promptctl.lint import LintReport, lint
from promptctl.promptfile.model import Project

CLEAN = """\
version: 1.0.0
description: Classify a ticket.
status: approved
model:
  use: openai/gpt-4o-mini
  params: {max_tokens: 50}
inputs:
  ticket: {type: string}
output:
  format: json
  schema: {type: object, additionalProperties: false}
messages:
  - system: Classify the ticket.
  - user: "<ticket>{{ ticket }}</ticket>"
tests:
  - name: billing
    vars: {ticket: refund please}
    assert: [is-json]
"""

Linter = Callable[[str], LintReport]

__all__ = ["CLEAN", "Linter"]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "prompts" / "_partials").mkdir(parents=True)
    return Project(root=tmp_path, prompts_dir=tmp_path / "prompts")


@pytest.fixture
def lint_text(project: Project) -> Linter:
    def _lint(text: str) -> LintReport:
        (project.prompts_dir / "p.yaml").write_text(text, encoding="utf-8")
        return lint(project, check_versions=False)

    return _lint


def codes(report: LintReport) -> list[str]:
    return [d.code for d in report.diagnostics]
