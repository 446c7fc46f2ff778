from __future__ import annotations

import json
from pathlib import Path

from promptctl.errors import SourceLocation
from promptctl.lint import Diagnostic, LintReport
from promptctl.report.lint_formats import format_github, format_json, format_sarif, format_text

ROOT = Path("/repo")


def report() -> LintReport:
    return LintReport(
        diagnostics=[
            Diagnostic(
                "PC011",
                "error",
                "variable 'x' is used, 50% sure",
                SourceLocation(ROOT / "prompts/a.yaml", 7, 5),
                "did you mean 'y'?",
            ),
            Diagnostic(
                "PC103",
                "warning",
                "prompt has no description",
                SourceLocation(ROOT / "prompts/b.yaml", 1, 1),
            ),
            Diagnostic("PC900", "note", "skipped", SourceLocation(ROOT / "promptctl.yaml")),
        ],
        files_checked=2,
    )


def test_json_format() -> None:
    doc = json.loads(format_json(report(), ROOT))
    assert doc["schema"] == "promptctl/lint@1"
    assert doc["summary"] == {"errors": 1, "warnings": 1, "files": 2}
    first = doc["diagnostics"][0]
    assert first == {
        "code": "PC011",
        "rule": "undeclared-variable",
        "severity": "error",
        "message": "variable 'x' is used, 50% sure",
        "hint": "did you mean 'y'?",
        "file": "prompts/a.yaml",
        "line": 7,
        "column": 5,
    }


def test_github_annotations_escape_data() -> None:
    lines = format_github(report(), ROOT).splitlines()
    assert lines[0] == (
        "::error file=prompts/a.yaml,line=7,col=5,title=PC011::"
        "variable 'x' is used, 50%25 sure (did you mean 'y'?)"
    )
    assert lines[1].startswith("::warning file=prompts/b.yaml,line=1,col=1,title=PC103::")
    assert lines[2] == "::notice file=promptctl.yaml,title=PC900::skipped"


def test_sarif_is_structurally_valid() -> None:
    doc = json.loads(format_sarif(report(), ROOT))
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-2.1.0.json")
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "promptctl"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in {"error", "warning", "note", "none"}
        assert result["message"]["text"]
        physical = result["locations"][0]["physicalLocation"]
        assert not physical["artifactLocation"]["uri"].startswith("/")
    first = run["results"][0]["locations"][0]["physicalLocation"]
    assert first["region"] == {"startLine": 7, "startColumn": 5}
    assert "region" not in run["results"][2]["locations"][0]["physicalLocation"]


def test_text_groups_by_file_and_summarises() -> None:
    text = format_text(report(), ROOT)
    assert text.index("prompts/a.yaml") < text.index("PC011") < text.index("prompts/b.yaml")
    assert "7:5" in text
    assert text.rstrip().endswith("1 error, 1 warning in 2 files")


def test_every_rule_is_documented_with_examples() -> None:
    from promptctl.lint import RULES

    docs = (Path(__file__).resolve().parents[2] / "docs" / "lint-rules.md").read_text()
    for code, rule in RULES.items():
        assert f"## {code}\n" in docs, code
        section = docs.split(f"## {code}\n", 1)[1].split("\n## ", 1)[0]
        assert f"**{rule.name}**" in section, code
        if rule.severity != "note":
            assert "Bad" in section and "Good" in section, code
