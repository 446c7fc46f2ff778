from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from promptctl.promptfile.model import Project

PROMPT = """\
version: 1.0.0
description: Say hello.
model:
  use: openai/gpt-4o-mini
inputs:
  name: {type: string}
messages:
  - user: "Hello {{ name }}"
tests:
  - name: greets
    vars: {name: Ada}
    assert: [{type: contains, value: Ada}]
"""

Writer = Callable[[str, str], Path]

__all__ = ["PROMPT", "Writer"]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "prompts" / "_partials").mkdir(parents=True)
    return Project(root=tmp_path, prompts_dir=tmp_path / "prompts", evals_dir=tmp_path / "evals")


@pytest.fixture
def write(project: Project) -> Writer:
    def _write(rel: str, text: str) -> Path:
        path = project.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write
