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
from promptctl.promptfile.model import Limits
from promptctl.promptfile.rules import finding
from promptctl.promptfile.sources import FileSource
from promptctl.promptfile.yaml_loader import (
    MAX_DEPTH,
    LocatedYaml,
    decode_text,
    load_yaml,
    nesting_depth,
)

__all__ = ["MAX_DATASET_BYTES", "Locate", "Row", "read_rows"]

MAX_DATASET_BYTES = Limits.max_dataset_bytes  # datasets are where large test data belongs

Locate = Callable[[str], SourceLocation]
# (line, row, locate-inside-the-row's-assert)
Row = tuple[int, Any, Locate]


def read_rows(
    path: Path,
    source: FileSource,
    diags: list[Diagnostic],
    *,
    root: Path,
    limits: Limits | None = None,
) -> list[Row]:
    """The rows of the dataset at `path` (inside `root`); bad lines go to `diags`.

    Raises FileNotFoundError, UnsafeFileError for a file outside `root`, not regular or
    over `limits.max_dataset_bytes`, or PromptFileError for a file that cannot be read at
    all or has more than `limits.max_dataset_rows` rows.
    """
    limits = limits or Limits()
    data = source.read_bytes(path, root=root, limit=limits.max_dataset_bytes, what="dataset")
    text = decode_text(data, path, limit=limits.max_dataset_bytes)
    rows = _rows(path, text, diags)
    if len(rows) > limits.max_dataset_rows:
        raise PromptFileError(
            f"dataset {path.name} has {len(rows):,} rows, over the limit of "
            f"{limits.max_dataset_rows:,}",
            location=SourceLocation(path, rows[limits.max_dataset_rows][0]),
            hint="split it, or raise `limits: {max_dataset_rows: N}` in promptctl.yaml",
        )
    return rows


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
            if nesting_depth(row) > MAX_DEPTH:
                raise RecursionError
        except RecursionError:
            diags.append(
                finding(
                    "PC007",
                    f"dataset row is nested more than {MAX_DEPTH} levels deep",
                    SourceLocation(path, n),
                    "flatten the row",
                )
            )
            continue
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
    """Columns are vars; `_name` names the row; `_assert` holds a JSON list, `_context` a
    JSON object (recorded resolver values), `_degraded` comma-separated input names."""
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
        if record.get("_degraded"):
            row["degraded"] = [d.strip() for d in record["_degraded"].split(",") if d.strip()]
        ok = True
        for column, key, example in (
            ("_assert", "assert", '"[""is-json""]"'),
            ("_context", "context", '"{""customer"": {""name"": ""Ada""}}"'),
        ):
            if record.get(column):
                try:
                    row[key] = _json_cell(column, record[column])
                except ValueError as exc:
                    hint = f"e.g. {example} (double the quotes inside CSV)"
                    diags.append(finding("PC007", str(exc), SourceLocation(path, line), hint))
                    ok = False
                    break
        if ok:
            rows.append((line, row, functools.partial(_line_locate, path, line)))
    return rows


def _json_cell(column: str, text: str) -> Any:
    """A CSV cell holding JSON; ValueError with the message to show."""
    try:
        value = json.loads(text)
        depth = nesting_depth(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON in `{column}` column: {exc.msg}") from None
    except RecursionError:
        value, depth = None, MAX_DEPTH + 1
    if depth > MAX_DEPTH:
        raise ValueError(f"`{column}` is nested more than {MAX_DEPTH} levels deep")
    return value
