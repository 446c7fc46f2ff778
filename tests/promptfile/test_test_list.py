"""A .jsonl/.csv dataset's tests are made again from the file's text on each pass."""

from __future__ import annotations

import dataclasses
import json

from promptctl.promptfile.loader import load_prompt, load_prompts
from promptctl.promptfile.model import Limits, Project
from promptctl.promptfile.test_list import TestList

from .conftest import PROMPT, Writer


def _rows(n: int, name: str = "row {}") -> str:
    return "".join(
        json.dumps({"name": name.format(i), "vars": {"name": f"n{i}"}}) + "\n" for i in range(n)
    )


def test_dataset_tests_are_made_again_on_each_pass_from_the_text_read_at_load(
    project: Project, write: Writer
) -> None:
    data = write("evals/d.jsonl", _rows(5))
    write("evals/d.csv", "name,_name\nP,csv one\nQ,\n")
    text = PROMPT + "  - dataset: ../evals/d.jsonl\n  - dataset: ../evals/d.csv\n"
    prompt = load_prompt(write("prompts/a.yaml", text), project)
    tests = prompt.tests
    assert isinstance(tests, TestList) and len(tests) == 8
    first = list(tests)
    names = ["greets", *(f"row {i}" for i in range(5)), "csv one", "d.csv:3"]
    assert [t.name for t in first] == names
    assert first[1] is not list(tests)[1] and first == list(tests)  # new, equal tests
    assert tests[-1].vars == {"name": "Q"} and tests[3].location.line == 3  # type: ignore[union-attr]
    assert tests == tuple(first) and tests[2:4] == tuple(first[2:4])
    data.write_text(_rows(2, "changed {}"))  # the run goes through what was checked
    assert [t.name for t in tests] == names


def test_inline_only_tests_stay_a_tuple(project: Project, write: Writer) -> None:
    prompt = load_prompt(write("prompts/a.yaml", PROMPT), project)
    assert isinstance(prompt.tests, tuple)


def test_a_name_repeated_in_a_dataset_is_reported_at_the_repeat(
    project: Project, write: Writer
) -> None:
    write("evals/d.jsonl", _rows(3) + json.dumps({"name": "row 1", "vars": {}}) + "\n")
    write("evals/e.jsonl", json.dumps({"name": "greets", "vars": {}}) + "\n")
    text = PROMPT + "  - dataset: ../evals/d.jsonl\n  - dataset: ../evals/e.jsonl\n"
    result = load_prompts(project, [write("prompts/a.yaml", text)])
    found = sorted((d.message, d.location.path.name, d.location.line) for d in result.errors)  # type: ignore[union-attr]
    inline_line = result.files[0].prompt.tests[0].location.line  # type: ignore[union-attr]
    assert found == [
        (f"duplicate test name 'greets' (first at line {inline_line})", "e.jsonl", 1),
        ("duplicate test name 'row 1' (first at line 2)", "d.jsonl", 4),
    ]


def test_many_distinct_names_are_not_duplicates(project: Project, write: Writer) -> None:
    # 20,000 names share a 2^21-bit map: some bits collide, none of them is a duplicate
    write("evals/d.jsonl", _rows(20_000))
    text = PROMPT + "  - dataset: ../evals/d.jsonl\n"
    result = load_prompts(project, [write("prompts/a.yaml", text)])
    assert result.errors == [] and len(result.prompts[0].tests) == 20_001


def test_a_dataset_over_the_row_limit_names_its_size_and_first_row_over(
    project: Project, write: Writer
) -> None:
    small = dataclasses.replace(project, limits=Limits(max_dataset_rows=3))
    write("evals/d.jsonl", "\n" + _rows(5))
    text = PROMPT + "  - dataset: ../evals/d.jsonl\n"
    result = load_prompts(small, [write("prompts/a.yaml", text)])
    (diag,) = result.errors
    assert diag.message == "dataset d.jsonl has 5 rows, over the limit of 3"
    assert diag.location is not None and diag.location.line == 5
    prompt = result.files[0].prompt
    assert prompt is not None and [t.name for t in prompt.tests] == ["greets"]
