"""Read and write `promptctl/results@1` documents, with one-line errors for bad input.

The gate and `merge` only need the stable contract fields; this checks those and
leaves everything else alone, so a newer writer adding fields does not break readers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from promptctl.errors import UsageError

__all__ = ["RESULTS_SCHEMA", "load_results", "validate_results", "write_results"]

RESULTS_SCHEMA = "promptctl/results@1"
_CASE_FIELDS = ("key", "prompt", "target", "test", "repeat", "status")
_STATUSES = {"pass", "fail", "error", "skipped"}


def load_results(path: Path) -> dict[str, Any]:
    """Load and check a results document; raise UsageError (exit 2) naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: results file not found") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read results file: {exc.strerror}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}",
            hint="expected a promptctl results document (promptctl test --output FILE)",
        ) from None
    validate_results(doc, source=str(path))
    return dict(doc)


def validate_results(doc: Any, *, source: str) -> None:
    """Check the shape the gate relies on; the message names the first problem."""
    if not isinstance(doc, dict):
        raise UsageError(f"{source}: a results document must be a JSON object")
    if doc.get("schema") != RESULTS_SCHEMA:
        raise UsageError(
            f"{source}: unsupported schema {doc.get('schema')!r}, expected {RESULTS_SCHEMA!r}",
            hint="write it with promptctl test --output FILE",
        )
    cases = doc.get("cases")
    if not isinstance(cases, list):
        raise UsageError(f"{source}: 'cases' must be a list")
    for i, case in enumerate(cases):
        if not isinstance(case, dict):
            raise UsageError(f"{source}: cases[{i}] must be an object")
        missing = [f for f in _CASE_FIELDS if f not in case]
        if missing:
            raise UsageError(f"{source}: cases[{i}] lacks {', '.join(missing)}")
        if case["status"] not in _STATUSES:
            raise UsageError(f"{source}: cases[{i}] has unknown status {case['status']!r}")


def write_results(doc: dict[str, Any], path: Path) -> None:
    """Write a document as stable, human-diffable JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
