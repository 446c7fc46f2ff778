"""PC005 hints suggest a version that is itself valid semver."""

from __future__ import annotations

import re

import pytest

from promptctl.promptfile.loader import load_prompts
from promptctl.promptfile.model import Project
from promptctl.promptfile.semver import parse_semver

from .conftest import PROMPT, Writer


@pytest.mark.parametrize(
    ("written", "suggested"),
    [
        ("01.2", "1.2.0"),
        ("1.2", "1.2.0"),
        ("1.10", "1.10.0"),  # YAML reads the float 1.1; the hint keeps the source's 10
        ("2", "2.0.0"),
        ("1.2  # comment", "1.2.0"),
        ('"1.2"', "1.2.0"),
        ('"v1.2.3"', "1.2.3"),
        ('"01.02.03"', "1.2.3"),
    ],
)
def test_hint_is_valid_semver(
    project: Project, write: Writer, written: str, suggested: str
) -> None:
    write("prompts/a.yaml", PROMPT.replace("version: 1.0.0", f"version: {written}"))
    (diag,) = load_prompts(project).errors
    assert diag.code == "PC005" and diag.hint is not None
    quoted = re.findall(r'version: "([^"]+)"', diag.hint)
    assert quoted == [suggested]
    assert parse_semver(quoted[0]) is not None


@pytest.mark.parametrize("written", ["x", "[1, 2]", '"1.2.3.4"', "true"])
def test_hopeless_version_gets_the_generic_semver_hint(
    project: Project, write: Writer, written: str
) -> None:
    write("prompts/a.yaml", PROMPT.replace("version: 1.0.0", f"version: {written}"))
    (diag,) = load_prompts(project).errors
    assert diag.code == "PC005" and diag.hint is not None
    quoted = re.findall(r'version: "([^"]+)"', diag.hint)
    assert quoted and all(parse_semver(q) is not None for q in quoted)


def test_valid_version_has_no_finding(project: Project, write: Writer) -> None:
    write("prompts/a.yaml", PROMPT.replace("version: 1.0.0", 'version: "1.2.0-rc.1"'))
    assert load_prompts(project).errors == []
