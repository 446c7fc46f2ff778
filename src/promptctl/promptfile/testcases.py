"""Tests of a prompt: inline entries and dataset references.

Reading the dataset files themselves is `datasets`; each assertion is `assertion_parse`'s.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from promptctl.errors import PromptFileError, SourceLocation
from promptctl.promptfile.assertion_parse import parse_asserts
from promptctl.promptfile.datasets import Locate, iter_rows, read_text
from promptctl.promptfile.diagnostics import Diagnostic
from promptctl.promptfile.model import AssertionSpec, Limits, Project, TestCase
from promptctl.promptfile.rules import finding
from promptctl.promptfile.safe_io import MAX_CHECK_BYTES, UnsafeFileError
from promptctl.promptfile.safe_io import checked as checked_file
from promptctl.promptfile.sources import FileSource, WorkingTreeSource
from promptctl.promptfile.test_list import DatasetTests, TestList

__all__ = ["parse_tests"]


def parse_tests(
    raw_tests: list[Any],
    locate: Locate,
    prompt_path: Path,
    project: Project,
    source: FileSource,
    diags: list[Diagnostic],
    *,
    declared: Mapping[str, Any] | None = None,
) -> Sequence[TestCase]:
    """Inline tests and dataset rows, in file order; names must be unique.

    A tuple, or a `TestList` when a .jsonl or .csv dataset is among them (its rows are made
    again on each pass rather than held).

    An inline test's `context:` values (recorded from the application's resolvers) are
    merged under its `vars:`; its `degraded:` inputs (checked against `declared`) are
    left out, as a context source that is down.

    Datasets resolve inside the project; `repeat:` and dataset sizes are capped by
    `project.limits`.
    """
    parts: list[TestCase | DatasetTests] = []
    for i, entry in enumerate(raw_tests):
        if entry is None:  # removed after a schema error, already reported
            continue
        ptr = f"/tests/{i}"
        common = parse_asserts(entry.get("assert"), locate, f"{ptr}/assert", diags)
        if "dataset" in entry:
            stray = [k for k in ("name", "vars") if k in entry]
            if stray:
                diags.append(
                    finding(
                        "PC003",
                        f"tests[{i}]: a dataset entry cannot have `{stray[0]}`",
                        locate(f"{ptr}/{stray[0]}"),
                        "names and vars come from the dataset rows",
                    )
                )
            ds_loc = locate(f"{ptr}/dataset")
            checked = bool(entry.get("check_output_schema", True))
            parts.extend(
                _dataset(
                    entry, common, ds_loc, prompt_path, project, source, diags, declared, checked
                )
            )
            continue
        if "name" not in entry:
            diags.append(
                finding(
                    "PC003",
                    f"tests[{i}]: missing required key 'name'",
                    locate(ptr),
                    "give each test a `name:` (or use `dataset:`)",
                )
            )
            continue
        repeat = entry.get("repeat")
        if repeat is not None:  # located only when there is one to check
            repeat = _repeat(repeat, locate(f"{ptr}/repeat"), project.limits, diags)
        degraded = tuple(entry.get("degraded") or ())
        parts.append(
            TestCase(
                name=entry["name"],
                vars=_with_context(entry, degraded),
                degraded=degraded,
                asserts=tuple(common),
                repeat=repeat,
                location=locate(ptr),
                check_output_schema=entry.get("check_output_schema", True),
                tool_results=entry.get("tool_results") or {},
            )
        )
    tests: Sequence[TestCase] = (
        TestList(parts)
        if any(isinstance(p, DatasetTests) for p in parts)
        else tuple(p for p in parts if isinstance(p, TestCase))
    )
    if isinstance(source, WorkingTreeSource):
        _check_python_files(tests, project.root, diags)
    if declared is not None:
        _check_degraded(raw_tests, declared, locate, diags)
    _check_unique_names(tests, diags)
    return tests


def _check_unique_names(tests: Sequence[TestCase], diags: list[Diagnostic]) -> None:
    """PC008 for each test named as one before it.

    A 100,000-row dataset's tests are not held, nor their names: one pass marks each
    name in a bitmap (at most 1 MiB, four bits a name from two hashes) and notes the
    names whose bits were all set already (every repeated name, and by chance about one
    in 100,000 others); a second pass, only when some were noted, finds where each of
    those first was. Inline tests (a tuple, held anyway) take one pass over a dict.
    """
    if isinstance(tests, tuple):
        _report_duplicates(tests, diags)
        return
    bits = 1 << max(10, min(23, (64 * len(tests)).bit_length()))  # ~64 bits a name
    mask = bits - 1
    seen_bits = bytearray(bits // 8)
    suspects: set[str] = set()
    for test in tests:
        h1, h2 = hash(test.name), hash((test.name, 1)) | 1
        new = False
        for j in range(4):
            h = (h1 + j * h2) & mask
            byte, bit = h >> 3, 1 << (h & 7)
            if not seen_bits[byte] & bit:
                new = True
                seen_bits[byte] |= bit
        if not new:
            suspects.add(test.name)
    del seen_bits
    if suspects:
        _report_duplicates((t for t in tests if t.name in suspects), diags)


def _report_duplicates(tests: Iterable[TestCase], diags: list[Diagnostic]) -> None:
    """PC008 for each of `tests` named as one before it."""
    seen: dict[str, TestCase] = {}
    for test in tests:
        first = seen.setdefault(test.name, test)
        if first is test:
            continue
        where = first.location.line if first.location else "?"
        diags.append(
            finding(
                "PC008",
                f"duplicate test name '{test.name}' (first at line {where})",
                test.location,
                "test names identify results across runs; make them unique",
            )
        )


def _check_python_files(tests: Sequence[TestCase], root: Path, diags: list[Diagnostic]) -> None:
    """A `python` check's file must be a regular file inside the project (PC016).

    The runner refuses it too, case by case; this says so once, at the assertion's line.
    """
    seen: set[int] = set()
    for test in tests:
        for spec in test.asserts:
            if spec.type != "python" or not isinstance(spec.value, str) or id(spec) in seen:
                continue
            seen.add(id(spec))
            file_part = spec.value.rpartition(":")[0]
            if not file_part:
                continue
            try:
                checked_file(
                    root / file_part, root=root, limit=MAX_CHECK_BYTES, what="python check"
                )
            except UnsafeFileError as exc:
                diags.append(finding("PC016", exc.message, spec.location, exc.hint))
            except OSError:
                continue  # a missing file is the runner's (and the user's) business


def _repeat(value: Any, loc: SourceLocation, limits: Limits, diags: list[Diagnostic]) -> int | None:
    """`repeat:` if within `limits.max_repeat`; a larger one is an error (and dropped)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    if value > limits.max_repeat:
        diags.append(
            finding(
                "PC003",
                f"repeat: {value} is over the limit of {limits.max_repeat}",
                loc,
                "lower it, or raise `limits: {max_repeat: N}` in promptctl.yaml",
            )
        )
        return None
    return value


def _dataset(
    entry: dict[str, Any],
    common: list[AssertionSpec],
    loc: SourceLocation,
    prompt_path: Path,
    project: Project,
    source: FileSource,
    diags: list[Diagnostic],
    declared: Mapping[str, Any] | None = None,
    checked: bool = True,
) -> list[TestCase | DatasetTests]:
    """The tests of a `dataset:` entry: checked now (findings into `diags`), and for a
    .jsonl or .csv file kept as its text (`DatasetTests`), made again on each pass."""
    rel = str(entry["dataset"])
    path = Path(os.path.normpath(prompt_path.parent / rel))
    found: list[Diagnostic] = []  # the rows' findings: kept unless the file is refused

    def make(sink: list[Diagnostic]) -> Iterator[TestCase]:
        rows = iter_rows(path, text, diags if sink is found else [], project.limits)
        for line, row, row_locate in rows:
            test = _row_test(path, line, row, row_locate, common, project, sink, declared)
            if test is not None:
                yield test if checked else replace(test, check_output_schema=False)

    try:
        text = read_text(path, source, root=project.root, limits=project.limits)
        if path.suffix.lower() in {".jsonl", ".csv"}:
            count = sum(1 for _ in make(found))
            tests: list[TestCase | DatasetTests] = [DatasetTests(lambda: make([]), count)]
        else:
            tests = list(make(found))
    except UnsafeFileError as exc:
        diags.append(finding("PC007", exc.message, loc, exc.hint))
        return []
    except FileNotFoundError:
        diags.append(
            finding(
                "PC007",
                f"dataset {rel!r} not found",
                loc,
                f"paths are relative to the prompt file; looked for {path}",
            )
        )
        return []
    except PromptFileError as exc:
        diags.append(finding("PC007", exc.message, exc.location, exc.hint))
        return []
    diags.extend(found)
    return tests


def _row_test(
    path: Path,
    line: int,
    row: Any,
    row_locate: Locate,
    common: list[AssertionSpec],
    project: Project,
    diags: list[Diagnostic],
    declared: Mapping[str, Any] | None,
) -> TestCase | None:
    """The test of one dataset row; None (reported) when the row is malformed."""
    row_loc = SourceLocation(path, line)
    if not isinstance(row, dict):
        diags.append(finding("PC007", "dataset row must be an object", row_loc))
        return None
    vars_ = row["vars"] if "vars" in row else {k: v for k, v in row.items() if k != "assert"}
    if not isinstance(vars_, dict):
        diags.append(finding("PC007", "dataset `vars` must be an object", row_loc))
        return None
    raw_asserts = row.get("assert") or []
    if not isinstance(raw_asserts, list):
        diags.append(finding("PC007", "dataset `assert` must be a list", row_loc))
        return None
    asserts = [*common, *parse_asserts(raw_asserts, row_locate, "", diags)]
    structured = "vars" in row  # else the whole row (minus `assert`) is the vars
    raw_repeat = row.get("repeat") if structured else None
    repeat = _repeat(raw_repeat, row_loc, project.limits, diags)
    name = row.get("name") if structured else None
    fixtures = _row_context(row, row_loc, declared, diags) if structured else ({}, ())
    if fixtures is None:
        return None
    context, degraded = fixtures
    return TestCase(
        name=str(name or f"{path.name}:{line}"),
        vars=_with_context({"context": context, "vars": vars_}, degraded),
        degraded=degraded,
        asserts=tuple(asserts),
        repeat=repeat,
        location=row_loc,
    )


def _row_context(
    row: Mapping[str, Any],
    loc: SourceLocation,
    declared: Mapping[str, Any] | None,
    diags: list[Diagnostic],
) -> tuple[dict[str, Any], tuple[str, ...]] | None:
    """A dataset row's `context:` values and `degraded:` inputs (as an inline test's);
    None (reported) when they are malformed."""
    context = row.get("context") or {}
    if not isinstance(context, dict):
        diags.append(
            finding("PC007", "dataset `context` must be an object", loc, '{"customer": {...}}')
        )
        return None
    degraded = row.get("degraded") or []
    if not isinstance(degraded, list) or not all(isinstance(d, str) for d in degraded):
        hint = 'input names, e.g. ["customer"] (CSV: `_degraded` as customer,policy)'
        diags.append(finding("PC007", "dataset `degraded` must be a list of inputs", loc, hint))
        return None
    unknown = [d for d in degraded if declared is not None and d not in declared]
    if unknown:
        diags.append(
            finding(
                "PC003",
                f"degraded: '{unknown[0]}' is not an input of this prompt",
                loc,
                f"declared inputs: {', '.join(declared or ()) or 'none'}",
            )
        )
        return None
    return context, tuple(degraded)


def _with_context(entry: Mapping[str, Any], degraded: tuple[str, ...]) -> dict[str, Any]:
    """A test's inputs: its recorded `context:` values, then its `vars:`, without the
    `degraded:` ones (as a resolver that failed without a fallback: the default applies)."""
    merged = {**(entry.get("context") or {}), **(entry.get("vars") or {})}
    return {k: v for k, v in merged.items() if k not in degraded}


def _check_degraded(
    raw_tests: Sequence[Any],
    declared: Mapping[str, Any],
    locate: Locate,
    diags: list[Diagnostic],
) -> None:
    """`degraded:` names must be inputs of the prompt."""
    for i, entry in enumerate(raw_tests):
        if not isinstance(entry, Mapping):
            continue
        for j, name in enumerate(entry.get("degraded") or ()):
            if name not in declared:
                diags.append(
                    finding(
                        "PC003",
                        f"tests[{i}].degraded: '{name}' is not an input of this prompt",
                        locate(f"/tests/{i}/degraded/{j}"),
                        f"declared inputs: {', '.join(declared) or 'none'}",
                    )
                )
