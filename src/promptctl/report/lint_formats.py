"""Lint report renderings: text (rich), json, github annotations, SARIF 2.1.0."""

from __future__ import annotations

import json
from itertools import groupby
from pathlib import Path
from typing import Any, Literal

from promptctl import __version__
from promptctl.lint.engine import LintReport
from promptctl.lint.rules import RULES
from promptctl.promptfile.diagnostics import Diagnostic

__all__ = ["Format", "format_github", "format_json", "format_sarif", "format_text"]

Format = Literal["text", "json", "github", "sarif"]
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _file(d: Diagnostic, root: Path) -> str:
    return _rel(d.location.path, root) if d.location else ""


def _summary(report: LintReport) -> str:
    return (
        f"{report.errors} error{'s' * (report.errors != 1)}, "
        f"{report.warnings} warning{'s' * (report.warnings != 1)} "
        f"in {report.files_checked} file{'s' * (report.files_checked != 1)}"
    )


def format_text(report: LintReport, root: Path) -> str:
    """Grouped by file, rich markup (printed through a rich Console)."""
    from rich.markup import escape

    colour = {"error": "red", "warning": "yellow", "note": "blue"}
    lines: list[str] = []
    for path, group in groupby(report.diagnostics, key=lambda d: _file(d, root)):
        lines.append(f"[bold]{escape(path or '(project)')}[/bold]")
        for d in group:
            where = ""
            if d.location and d.location.line is not None:
                where = f"{d.location.line}:{d.location.column or 1}"
            hint = f" [dim]({escape(d.hint)})[/dim]" if d.hint else ""
            sev = f"[{colour[d.severity]}]{d.severity:<7}[/{colour[d.severity]}]"
            lines.append(f"  {where:>7}  {sev} [dim]{d.code}[/dim]  {escape(d.message)}{hint}")
        lines.append("")
    ok = report.errors == 0
    mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
    lines.append(f"{mark} {_summary(report)}")
    return "\n".join(lines)


def _as_dict(d: Diagnostic, root: Path) -> dict[str, Any]:
    loc = d.location
    return {
        "code": d.code,
        "rule": RULES[d.code].name if d.code in RULES else d.code,
        "severity": d.severity,
        "message": d.message,
        "hint": d.hint,
        "file": _file(d, root) or None,
        "line": loc.line if loc else None,
        "column": loc.column if loc else None,
    }


def format_json(report: LintReport, root: Path) -> str:
    doc = {
        "schema": "promptctl/lint@1",
        "base_ref": report.base_ref,
        "summary": {
            "errors": report.errors,
            "warnings": report.warnings,
            "files": report.files_checked,
        },
        "diagnostics": [_as_dict(d, root) for d in report.diagnostics],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(report: LintReport, root: Path) -> str:
    """GitHub Actions workflow commands: one `::error file=…,line=…::msg` per finding."""
    level = {"error": "error", "warning": "warning", "note": "notice"}
    out = []
    for d in report.diagnostics:
        props = []
        if d.location:
            props.append(f"file={_escape_prop(_file(d, root))}")
            if d.location.line is not None:
                props.append(f"line={d.location.line}")
            if d.location.column is not None:
                props.append(f"col={d.location.column}")
        props.append(f"title={_escape_prop(d.code)}")
        text = d.message + (f" ({d.hint})" if d.hint else "")
        out.append(f"::{level[d.severity]} {','.join(props)}::{_escape_data(text)}")
    return "\n".join(out)


def format_sarif(report: LintReport, root: Path) -> str:
    """SARIF 2.1.0 for GitHub code scanning; rules carry their docs anchor."""
    used = sorted({d.code for d in report.diagnostics} | set(RULES))
    index = {code: i for i, code in enumerate(used)}
    rules = []
    for code in used:
        rule = RULES.get(code)
        rules.append(
            {
                "id": code,
                "name": rule.name if rule else code,
                "shortDescription": {"text": rule.summary if rule else code},
                "helpUri": f"docs/lint-rules.md#{code.lower()}",
                "defaultConfiguration": {"level": rule.severity if rule else "error"},
            }
        )
    results = []
    for d in report.diagnostics:
        result: dict[str, Any] = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": d.severity,
            "message": {"text": d.message + (f" ({d.hint})" if d.hint else "")},
        }
        if d.location:
            region: dict[str, int] = {}
            if d.location.line is not None:
                region["startLine"] = d.location.line
                if d.location.column is not None:
                    region["startColumn"] = d.location.column
            physical: dict[str, Any] = {
                "artifactLocation": {"uri": _file(d, root), "uriBaseId": "%SRCROOT%"}
            }
            if region:
                physical["region"] = region
            result["locations"] = [{"physicalLocation": physical}]
        results.append(result)
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "promptctl",
                        "version": __version__,
                        "informationUri": "https://github.com/promptctl/promptctl",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)
