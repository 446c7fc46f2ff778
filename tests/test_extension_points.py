"""One list per extension point: every other place that names the members agrees with it.

- provider kinds: `promptfile.model.ProviderKind` is the list; the adapter registry
  derives from it (and every kind's module must load as that kind's adapter), the
  config JSON Schema enum and docs/config.md must list exactly the same kinds;
- assertion types: the evaluator registry is the source; the loader's list and the
  documentation tables must match it;
- lint rules: each rule owns its code and severity (`promptfile.rules.RULES`) and every
  finding in the code is emitted by code through `finding()`, never with a severity
  typed again; docs/lint-rules.md has a section per rule (tests/report/test_lint_formats).
"""

from __future__ import annotations

import ast
import json
import re

from fakes.source import SRC, parsed
from promptctl.evals.assertions import ASSERTION_TYPES as EVALUATED
from promptctl.lint.rules import RULES
from promptctl.promptfile.assertion_types import ASSERTION_TYPES as ACCEPTED
from promptctl.promptfile.model import PROVIDER_KINDS
from promptctl.providers.base import ADAPTERS, load_adapter

DOCS = SRC.parents[1] / "docs"


def test_provider_kinds_are_the_adapter_registry() -> None:
    assert set(PROVIDER_KINDS) == set(ADAPTERS)
    schema = json.loads((SRC / "promptfile" / "schema" / "config.schema.json").read_text())
    providers = schema["properties"]["providers"]["additionalProperties"]
    assert providers["properties"]["kind"]["enum"] == list(PROVIDER_KINDS)
    row = next(
        line
        for line in (DOCS / "config.md").read_text().splitlines()
        if line.startswith("| `kind`")
    )
    documented = row.split("wire format:", 1)[1].strip(" |").split(", ")
    assert documented == list(PROVIDER_KINDS)
    for kind in ADAPTERS:
        assert load_adapter(kind).kind == kind


def test_assertion_types_are_the_evaluator_registry() -> None:
    assert ACCEPTED == EVALUATED
    table = (DOCS / "results-format.md").read_text()
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", table, flags=re.M))
    assert documented >= EVALUATED, sorted(EVALUATED - documented)


def _findings() -> list[tuple[str, int, str]]:
    """(file, line, how) for every Diagnostic/finding construction in src/promptctl."""
    out = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(parsed(path)):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            if node.func.id in ("Diagnostic", "finding"):
                out.append((str(path.relative_to(SRC)), node.lineno, node.func.id))
    return out


def test_findings_are_emitted_by_code_not_by_severity() -> None:
    found = _findings()
    retyped = [f for f in found if f[2] == "Diagnostic" and f[0] != "promptfile/rules.py"]
    assert retyped == []
    assert len(found) > 40  # the walk sees the checks


def test_every_emitted_code_is_a_rule() -> None:
    codes = set()
    for path in SRC.rglob("*.py"):
        codes |= set(re.findall(r"\b(PC\d{3})\b", path.read_text(encoding="utf-8")))
    assert codes <= set(RULES), sorted(codes - set(RULES))
