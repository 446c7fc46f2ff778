"""Dataset files of a test (`dataset: cases.jsonl|.yaml|.csv`) -> rows with locations.

Split from `testcases` because reading three file formats, each with its own way to point
at a bad line, is a job of its own; `testcases` turns the rows into `TestCase`s.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from promptctl.errors import PromptFileError, SourceLocation
from promptctl.promptfile.diagnostics import Diagnostic
from promptctl.promptfile.rules import finding
from promptctl.promptfile.sources import FileSource
from promptctl.promptfile.yaml_loader import LocatedYaml, decode_text, load_yaml

__all__ = ["MAX_DATASET_BYTES", "Locate", "Row", "read_rows"]

MAX_DATASET_BYTES = 64 * 1024 * 1024  # datasets are where large test data belongs

Locate = Callable[[str], SourceLocation]
# (line, row, locate-inside-the-row's-assert)
Row = tuple[int, Any, Locate]


def read_rows(path: Path, source: FileSource, diags: list[Diagnostic]) -> list[Row]:
    """The rows of the dataset at `path`; bad lines go to `diags`.

    Raises FileNotFoundError, or PromptFileError for a file that cannot be read at all.
    """
    text = decode_text(source.read_bytes(path), path, limit=MAX_DATASET_BYTES)
    return _rows(path, text, diags)


def _yaml_row_locate(doc: LocatedYaml, index: int, ptr: str) -> SourceLocation:
    return doc.locate(f"/{index}/assert{ptr}")


def _line_locate(path: Path, line: int, _ptr: str) -> SourceLocation:
    return SourceLocation(path, line)


def _rows(path: Path, text: str, diags: list[Diagnostic]) -> list[Row]:
    """(line, row, locate-inside-assert) for each row of a .jsonl, .yaml or .csv dataset.

    A bad line of a .jsonl or .csv is reported into `diags` and skipped, so every bad
    line shows in one run; a file that cannot be read at all raises PromptFileError.
    """
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _jsonl(path, text, diags)
    if suffix in {".yaml", ".yml"}:
        doc = load_yaml(text, path, require_mapping=False)
        if not isinstance(doc.data, list):
            raise PromptFileError("a YAML dataset must be a list of rows", location=doc.locate(""))
        return [
            (
                doc.locate(f"/{i}").line or 1,
                row,
                functools.partial(_yaml_row_locate, doc, i),
            )
            for i, row in enumerate(doc.data)
        ]
    if suffix == ".csv":
        return _csv(path, text, diags)
    raise PromptFileError(
        f"unsupported dataset type {suffix!r}",
        location=SourceLocation(path),
        hint="use .jsonl, .yaml or .csv",
    )


def _jsonl(path: Path, text: str, diags: list[Diagnostic]) -> list[Row]:
    rows: list[Row] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            diags.append(
                finding(
                    "PC007",
                    f"invalid JSON in dataset: {exc.msg}",
                    SourceLocation(path, n, exc.colno),
                    'each line is one JSON object, e.g. {"vars": {"ticket": "hi"}}',
                )
            )
            continue
        rows.append((n, row, functools.partial(_line_locate, path, n)))
    return rows


def _csv(path: Path, text: str, diags: list[Diagnostic]) -> list[Row]:
    """Columns are vars; `_name` names the row; `_assert` holds a JSON list."""
    reader = csv.DictReader(io.StringIO(text))
    rows: list[Row] = []
    for record in reader:
        line = reader.line_num
        if None in record or None in record.values():
            width = len(reader.fieldnames or ())
            got = width + len(record.get(None) or ()) - sum(v is None for v in record.values())
            diags.append(
                finding(
                    "PC007",
                    f"CSV row has {got} fields, the header has {width}",
                    SourceLocation(path, line),
                    "quote values that contain commas; give every row one value per column",
                )
            )
            continue
        row: dict[str, Any] = {"vars": {k: v for k, v in record.items() if not k.startswith("_")}}
        if record.get("_name"):
            row["name"] = record["_name"]
        if record.get("_assert"):
            try:
                row["assert"] = json.loads(record["_assert"])
            except json.JSONDecodeError as exc:
                diags.append(
                    finding(
                        "PC007",
                        f"invalid JSON in `_assert` column: {exc.msg}",
                        SourceLocation(path, line),
                        'a JSON list, e.g. "[""is-json""]" (double the quotes inside CSV)',
                    )
                )
                continue
        rows.append((line, row, functools.partial(_line_locate, path, line)))
    return rows
