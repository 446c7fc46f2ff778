"""Dataset files of a test (`dataset: cases.jsonl|.yaml|.csv`) -> rows with locations.

Split from `testcases` because reading three file formats, each with its own way to point
at a bad line, is a job of its own; `testcases` turns the rows into `TestCase`s.
"""

from __future__ import annotations

import csv
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from promptctl.errors import PromptFileError, SourceLocation
from promptctl.promptfile import strict_json
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

__all__ = ["MAX_DATASET_BYTES", "Locate", "Row", "iter_rows", "read_rows", "read_text"]

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
    return list(iter_rows(path, read_text(path, source, root=root, limits=limits), diags, limits))


def read_text(path: Path, source: FileSource, *, root: Path, limits: Limits) -> str:
    """The text of the dataset at `path`, with the checks and errors of `read_rows`."""
    data = source.read_bytes(path, root=root, limit=limits.max_dataset_bytes, what="dataset")
    return decode_text(data, path, limit=limits.max_dataset_bytes)


def iter_rows(path: Path, text: str, diags: list[Diagnostic], limits: Limits) -> Iterator[Row]:
    """(line, row, locate-inside-assert) for each row of a dataset's `text`, one at a time
    for .jsonl and .csv (a large dataset's rows are never all in memory; a .yaml one is
    parsed whole).

    A bad line of a .jsonl or .csv is reported into `diags` and skipped, so every bad
    line shows in one run; a file that cannot be read at all raises PromptFileError.
    """
    suffix = path.suffix.lower()
    rows: Iterable[Row]
    if suffix == ".jsonl":
        rows = _jsonl(path, _lines(text), diags)
    elif suffix == ".csv":
        rows = _csv(path, _lines(text, keepends=True), diags)
    else:
        rows = _yaml_rows(path, text)
    count = 0
    over = None
    for row in rows:
        count += 1
        if count <= limits.max_dataset_rows:
            yield row
        elif over is None:
            over = row[0]  # counted on, for the message of `read_rows`
    if over is not None:
        raise _too_many(path, count, over, limits)


def _too_many(path: Path, rows: int, line: int, limits: Limits) -> PromptFileError:
    return PromptFileError(
        f"dataset {path.name} has {rows:,} rows, over the limit of {limits.max_dataset_rows:,}",
        location=SourceLocation(path, line),
        hint="split it, or raise `limits: {max_dataset_rows: N}` in promptctl.yaml",
    )


# the line boundaries of `str.splitlines`
_LINE_END = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _lines(text: str, *, keepends: bool = False) -> Iterator[str]:
    """`text.splitlines(keepends)` one line at a time (no list of every line); with
    `keepends`, lines end at "\n" only, as `io.StringIO` iterates (what csv reads)."""
    pos = 0
    if keepends:
        while pos < len(text):
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end + 1
            yield text[pos:end]
            pos = end
        return
    for match in _LINE_END.finditer(text):
        yield text[pos : match.start()]
        pos = match.end()
    if pos < len(text):
        yield text[pos:]


def _yaml_row_locate(doc: LocatedYaml, index: int, ptr: str) -> SourceLocation:
    return doc.locate(f"/{index}/assert{ptr}")


def _line_locate(path: Path, line: int, _ptr: str) -> SourceLocation:
    return SourceLocation(path, line)


def _yaml_rows(path: Path, text: str) -> list[Row]:
    """(line, row, locate-inside-assert) for each row of a .yaml dataset (PromptFileError
    for another file type)."""
    suffix = path.suffix.lower()
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
    raise PromptFileError(
        f"unsupported dataset type {suffix!r}",
        location=SourceLocation(path),
        hint="use .jsonl, .yaml or .csv",
    )


def _jsonl(path: Path, lines: Iterable[str], diags: list[Diagnostic]) -> Iterator[Row]:
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = strict_json.loads(line)
            # a row cannot nest deeper than it has brackets: the walk only for the rare
            # line with that many (a dataset's tests are made again on each pass)
            if line.count("[") + line.count("{") > MAX_DEPTH and nesting_depth(row) > MAX_DEPTH:
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
        except ValueError as exc:  # NaN, Infinity, a 5,000-digit number: JSON has no such
            diags.append(
                finding(
                    "PC007",
                    f"invalid JSON in dataset: {strict_json.reason(exc)}",
                    SourceLocation(path, n),
                    'quote it for the text ("NaN"), or give a number',
                )
            )
            continue
        yield n, row, functools.partial(_line_locate, path, n)


_CSV_FIELD_LIMIT = 2**31 - 1  # the largest the csv module takes on every platform


def _csv(path: Path, lines: Iterable[str], diags: list[Diagnostic]) -> Iterator[Row]:
    """Columns are vars; `_name` names the row; `_assert` holds a JSON list, `_context` a
    JSON object (recorded resolver values), `_degraded` comma-separated input names."""
    # a cell may be long (a document to summarise): the whole file is capped already
    # (`limits.max_dataset_bytes`), so the csv module's own 131,072-character cap per
    # field (process-wide) only stood in the way, with a traceback
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    reader = csv.DictReader(lines)
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # whatever the csv module refuses
            diags.append(
                finding(
                    "PC007",
                    f"CSV cannot be read past this line: {exc}",
                    SourceLocation(path, reader.line_num + 1),  # the line it failed in
                    "save the file as plain UTF-8 CSV",
                )
            )
            return
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
            yield line, row, functools.partial(_line_locate, path, line)


def _json_cell(column: str, text: str) -> Any:
    """A CSV cell holding JSON; ValueError with the message to show."""
    try:
        value = strict_json.loads(text)
        depth = nesting_depth(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON in `{column}` column: {exc.msg}") from None
    except ValueError as exc:
        raise ValueError(f"invalid JSON in `{column}` column: {strict_json.reason(exc)}") from None
    except RecursionError:
        value, depth = None, MAX_DEPTH + 1
    if depth > MAX_DEPTH:
        raise ValueError(f"`{column}` is nested more than {MAX_DEPTH} levels deep")
    return value
