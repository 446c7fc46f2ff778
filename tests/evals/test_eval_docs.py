"""docs/results-format.md stays in step with the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema

from promptctl.evals.assertions import ASSERTION_TYPES
from promptctl.evals.results import results_json_schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "results-format.md"


def test_every_assertion_type_has_a_reference_row() -> None:
    rows = re.findall(r"^\| `([a-z-]+)` \|", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    assert set(rows) >= ASSERTION_TYPES


def test_documented_example_validates_against_the_schema() -> None:
    text = DOC.read_text(encoding="utf-8")
    example = re.search(r"### Example\n\n```json\n(.*?)```", text, re.DOTALL)
    assert example is not None
    jsonschema.validate(json.loads(example.group(1)), results_json_schema())
