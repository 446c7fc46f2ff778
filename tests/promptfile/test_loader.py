from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from promptctl.errors import PromptFileError, UsageError
from promptctl.promptfile.loader import discover_prompt_files, load_prompt, load_prompts
from promptctl.promptfile.model import Project
from promptctl.promptfile.project import load_project

from .conftest import PROMPT, Writer


def test_id_defaults_to_path_under_prompts(project: Project, write: Writer) -> None:
    path = write("prompts/team/hello.yaml", PROMPT)
    prompt = load_prompt(path, project)
    assert prompt.id == "team/hello"
    assert prompt.version == "1.0.0"
    assert prompt.messages[0].role == "user"
    assert prompt.messages[0].location is not None and prompt.messages[0].location.line == 8
    assert prompt.required_inputs() == ["name"]


def test_explicit_id_wins(project: Project, write: Writer) -> None:
    path = write("prompts/x.yaml", "id: custom/name\n" + PROMPT)
    assert load_prompt(path, project).id == "custom/name"


def test_discovery_excludes_partials_and_reads_yml(project: Project, write: Writer) -> None:
    write("prompts/a.yaml", PROMPT)
    write("prompts/sub/b.yml", PROMPT)
    write("prompts/_partials/c.yaml", PROMPT)
    write("prompts/notes.txt", "x")
    names = [p.name for p in discover_prompt_files(project)]
    assert names == ["a.yaml", "b.yml"]


def test_discovery_of_missing_path_is_usage_error(project: Project) -> None:
    with pytest.raises(UsageError, match="no such file"):
        discover_prompt_files(project, [project.root / "nope"])


def test_assertions_are_normalised(project: Project, write: Writer) -> None:
    text = PROMPT.replace(
        "assert: [{type: contains, value: Ada}]",
        "assert:\n      - is-json\n      - {type: not-icontains, value: bye, weight: 2}\n"
        "      - {type: json-path, path: $.a, equals: 1, threshold: 0.5}",
    )
    prompt = load_prompt(write("prompts/a.yaml", text), project)
    short, negated, long_form = prompt.tests[0].asserts
    assert (short.type, short.value, short.negate) == ("is-json", None, False)
    assert (negated.type, negated.negate, negated.weight) == ("icontains", True, 2.0)
    assert long_form.options == {"path": "$.a", "equals": 1}
    assert long_form.threshold == 0.5


def test_one_key_mapping_is_the_short_form(project: Project, write: Writer) -> None:
    text = PROMPT.replace(
        "assert: [{type: contains, value: Ada}]",
        "assert:\n      - contains: Ada\n        weight: 3\n"
        "      - not-regex: '^bye'\n      - length: {max: 200}",
    )
    prompt = load_prompt(write("prompts/a.yaml", text), project)
    contains, regex, length = prompt.tests[0].asserts
    assert (contains.type, contains.value, contains.weight) == ("contains", "Ada", 3.0)
    assert (regex.type, regex.value, regex.negate) == ("regex", "^bye", True)
    assert (length.type, length.value, length.options) == ("length", None, {"max": 200})


def test_fallbacks_as_strings_and_objects(project: Project, write: Writer) -> None:
    text = PROMPT.replace(
        "  use: openai/gpt-4o-mini\n",
        "  use: openai/gpt-4o-mini\n  fallbacks:\n    - anthropic/claude-haiku-4-5\n"
        "    - use: gemini/gemini-2.5-flash\n      params: {temperature: 1}\n"
        "      messages:\n        - user: 'Hi {{ name }}'\n",
    )
    prompt = load_prompt(write("prompts/a.yaml", text), project)
    first, second = prompt.model.fallbacks
    assert first.use == "anthropic/claude-haiku-4-5" and first.messages is None
    assert second.params == {"temperature": 1}
    assert second.messages is not None and second.messages[0].template == "Hi {{ name }}"


def test_datasets_expand_with_file_and_line(project: Project, write: Writer) -> None:
    write(
        "evals/datasets/d.jsonl",
        '{"name": "one", "vars": {"name": "A"}}\n\n'
        '{"vars": {"name": "B"}, "assert": ["is-json"]}\n',
    )
    write("evals/datasets/d.yaml", "- vars: {name: C}\n  name: three\n- {name: D}\n")
    write("evals/datasets/d.csv", "name,_name\nE,five\nF,\n")
    text = PROMPT + (
        "  - dataset: ../evals/datasets/d.jsonl\n    assert: [{type: contains, value: x}]\n"
        "  - dataset: ../evals/datasets/d.yaml\n"
        "  - dataset: ../evals/datasets/d.csv\n"
    )
    prompt = load_prompt(write("prompts/a.yaml", text), project)
    names = [t.name for t in prompt.tests]
    assert names == ["greets", "one", "d.jsonl:3", "three", "d.yaml:3", "five", "d.csv:3"]
    jsonl_b = prompt.tests[2]
    assert jsonl_b.vars == {"name": "B"}
    assert [a.type for a in jsonl_b.asserts] == ["contains", "is-json"]
    assert jsonl_b.location is not None and jsonl_b.location.path.name == "d.jsonl"
    assert jsonl_b.location.line == 3
    assert prompt.tests[4].vars == {"name": "D"}  # bare row: the whole row is vars
    assert prompt.tests[6].vars == {"name": "F"}


def test_dataset_bad_json_points_into_dataset(project: Project, write: Writer) -> None:
    write("prompts/d.jsonl", '{"vars": {"name": "A"}}\n{"vars": \n{"vars": {"nme": "B"}}\n')
    result = load_prompts(project, [write("prompts/a.yaml", PROMPT + "  - dataset: d.jsonl\n")])
    (diag,) = result.errors
    prompt = result.files[0].prompt  # the good lines are still checked
    assert prompt is not None
    assert [t.vars for t in prompt.tests] == [{"name": "Ada"}, {"name": "A"}, {"nme": "B"}]
    assert diag.code == "PC007" and "invalid JSON in dataset" in diag.message
    assert diag.location is not None
    assert (diag.location.path.name, diag.location.line) == ("d.jsonl", 2)


def test_nan_and_infinity_in_a_dataset_are_refused_at_their_line(
    project: Project, write: Writer
) -> None:
    """Python's json reads NaN and Infinity; JSON has neither (the results document would
    refuse them mid-run): a JSONL row or a CSV JSON cell holding one is a finding."""
    write(
        "evals/rows.jsonl",
        '{"vars": {"name": "A"}}\n{"vars": {"name": NaN}}\n{"vars": {"name": -Infinity}}\n',
    )
    write("evals/rows.csv", 'name,_context\nAda,"{""n"": Infinity}"\n')
    text = PROMPT + "  - dataset: ../evals/rows.jsonl\n  - dataset: ../evals/rows.csv\n"
    result = load_prompts(project, [write("prompts/a.yaml", text)])
    nan, minus_inf, cell = result.errors
    assert nan.message == "invalid JSON in dataset: NaN is not a JSON number"
    assert minus_inf.message == "invalid JSON in dataset: -Infinity is not a JSON number"
    assert [(d.location.path.name, d.location.line) for d in (nan, minus_inf) if d.location] == [
        ("rows.jsonl", 2),
        ("rows.jsonl", 3),
    ]
    assert cell.message == "invalid JSON in `_context` column: Infinity is not a JSON number"
    assert cell.location is not None and cell.location.line == 2
    prompt = result.files[0].prompt
    assert prompt is not None and [t.vars for t in prompt.tests] == [{"name": "Ada"}, {"name": "A"}]


def test_a_dataset_rows_odd_assertions_are_findings_at_its_line(
    project: Project, write: Writer
) -> None:
    """No schema checks a dataset row's `assert` items first (a prompt file's are): a number
    there, or a weight that is not a number, used to stop lint and test with a TypeError
    (found by fuzzing the datasets)."""
    rows = [
        {"vars": {"name": "A"}, "assert": [5]},
        {"vars": {"name": "B"}, "assert": [[1, 2]]},
        {"vars": {"name": "C"}, "assert": [{"type": "contains", "value": "x", "weight": "high"}]},
        {"vars": {"name": "D"}, "assert": [{"type": "contains", "value": "x", "threshold": {}}]},
        {"vars": {"name": "E"}, "assert": [{"type": "contains", "value": "x", "weight": 2}]},
    ]
    write("evals/rows.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    text = PROMPT + "  - dataset: ../evals/rows.jsonl\n"
    result = load_prompts(project, [write("prompts/a.yaml", text)])
    found = [(d.code, d.message, d.location.line if d.location else None) for d in result.errors]
    assert found == [
        ("PC015", "assertion must be a type or a mapping, got 5", 1),
        ("PC015", "assertion must be a type or a mapping, got [1, 2]", 2),
        ("PC016", "'contains': `weight` must be a number", 3),
        ("PC016", "'contains': `threshold` must be a number", 4),
    ]
    prompt = result.files[0].prompt
    assert prompt is not None
    fine = [t for t in prompt.tests if t.vars == {"name": "E"}]
    assert len(fine) == 1 and fine[0].asserts[0].weight == 2.0


def test_ragged_csv_row_names_its_line(project: Project, write: Writer) -> None:
    write("evals/rows.csv", "name,_name\nAda,one\nBob,two,extra\nCy,three\nDi,4,5\n")
    text = PROMPT + "  - dataset: ../evals/rows.csv\n"
    result = load_prompts(project, [write("prompts/a.yaml", text)])
    first, second = result.errors  # every bad row in one run
    assert first.message == "CSV row has 3 fields, the header has 2"
    assert first.location is not None and first.location.line == 3
    assert first.location.path == project.root / "evals" / "rows.csv"
    assert second.location is not None and second.location.line == 5


def test_short_csv_row_is_refused_too(project: Project, write: Writer) -> None:
    write("evals/rows.csv", "name,topic\nAda\n")
    text = PROMPT + "  - dataset: ../evals/rows.csv\n"
    (diag,) = load_prompts(project, [write("prompts/a.yaml", text)]).errors
    assert diag.message == "CSV row has 1 fields, the header has 2"


def test_a_csv_cell_longer_than_the_csv_modules_own_cap_loads(
    project: Project, write: Writer
) -> None:
    """Python's csv refuses fields over 131,072 characters with `_csv.Error`: a
    traceback from `lint` and `test` before. The file's own size cap is the bound."""
    write("evals/rows.csv", "name\n" + "x" * 200_000 + "\nAda\n")
    result = load_prompts(
        project, [write("prompts/a.yaml", PROMPT + "  - dataset: ../evals/rows.csv\n")]
    )
    assert not result.errors
    assert [len(t.vars["name"]) for t in result.prompts[0].tests][-2:] == [200_000, 3]


def test_a_csv_the_csv_module_cannot_read_is_a_located_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the csv module raises (here its field cap, set low) is a finding at the line,
    the rows before it kept."""
    import csv

    from promptctl.promptfile import datasets
    from promptctl.promptfile.diagnostics import Diagnostic

    monkeypatch.setattr(datasets, "_CSV_FIELD_LIMIT", 10)
    before = csv.field_size_limit(10)
    try:
        diags: list[Diagnostic] = []
        lines = ["name\n", "Ada\n", "x" * 20 + "\n", "Cy\n"]
        rows = list(datasets._csv(Path("rows.csv"), lines, diags))
    finally:
        csv.field_size_limit(before)
    assert [row["vars"] for _, row, _ in rows] == [{"name": "Ada"}]
    (diag,) = diags
    assert diag.code == "PC007" and "field larger than field limit (10)" in diag.message
    assert diag.message.startswith("CSV cannot be read past this line")
    assert diag.location is not None and diag.location.line == 3


def test_datasets_may_be_larger_than_prompt_files(project: Project, write: Writer) -> None:
    from promptctl.promptfile.yaml_loader import MAX_FILE_BYTES

    row = '{"vars": {"name": "%s"}}\n' % ("x" * 1000)
    write("evals/big.jsonl", row * (MAX_FILE_BYTES // len(row) + 2))
    text = PROMPT + "  - dataset: ../evals/big.jsonl\n"
    result = load_prompts(project, [write("prompts/a.yaml", text)])
    assert not result.errors
    assert len(result.prompts[0].tests) == MAX_FILE_BYTES // len(row) + 3


def test_unsupported_dataset_type(project: Project, write: Writer) -> None:
    write("prompts/d.txt", "x")
    result = load_prompts(project, [write("prompts/a.yaml", PROMPT + "  - dataset: d.txt\n")])
    assert "unsupported dataset type '.txt'" in result.errors[0].message


def test_duplicate_ids_across_files_name_both(project: Project, write: Writer) -> None:
    first = write("prompts/a.yaml", "id: same\n" + PROMPT)
    second = write("prompts/b.yaml", "id: same\n" + PROMPT)
    result = load_prompts(project)
    (diag,) = result.errors
    assert diag.code == "PC006"
    assert "prompts/a.yaml has it as `id:`" in diag.message and first.exists()
    assert diag.location is not None and diag.location.path == second
    assert diag.location.line == 1
    assert [p.id for p in result.prompts] == ["same"]


def test_id_clashing_with_a_path_blames_the_explicit_id(project: Project, write: Writer) -> None:
    clash = write("prompts/0.yaml", "id: z\n" + PROMPT)  # discovered first
    write("prompts/z.yaml", PROMPT)
    result = load_prompts(project)
    (diag,) = result.errors
    assert diag.message == "duplicate prompt id 'z' (prompts/z.yaml gets it from its path)"
    assert diag.location is not None and (diag.location.path, diag.location.line) == (clash, 1)
    assert [p.path.name for p in result.prompts] == ["z.yaml"]


def test_load_prompts_collects_every_file(project: Project, write: Writer) -> None:
    write("prompts/ok.yaml", PROMPT)
    write("prompts/bad1.yaml", PROMPT.replace("version: 1.0.0", "version: x"))
    write("prompts/bad2.yaml", PROMPT + "extra: 1\n")
    result = load_prompts(project)
    assert sorted(d.code for d in result.errors) == ["PC004", "PC005"]
    assert [p.id for p in result.prompts] == ["ok"]


def test_load_prompt_raises_first_error_with_count(project: Project, write: Writer) -> None:
    path = write("prompts/a.yaml", PROMPT.replace("version: 1.0.0", "version: x") + "zz: 1\n")
    with pytest.raises(PromptFileError) as exc:
        load_prompt(path, project)
    assert "(and 1 more; run `promptctl lint`)" in exc.value.message


def test_get_suggests_close_id(project: Project, write: Writer) -> None:
    write("prompts/support/triage.yaml", PROMPT)
    with pytest.raises(UsageError) as exc:
        load_prompts(project).get("support/triag")
    assert exc.value.hint == "did you mean 'support/triage'?"


def test_text_override_reads_no_file(project: Project) -> None:
    prompt = load_prompt(project.prompts_dir / "virtual.yaml", project, text=PROMPT)
    assert prompt.id == "virtual"


def test_content_hash_ignores_metadata_and_tests(project: Project, write: Writer) -> None:
    base = load_prompt(write("prompts/a.yaml", PROMPT), project)
    meta = PROMPT.replace("Say hello.", "Greets.") + "  - name: more\n    vars: {name: B}\n"
    changed_meta = load_prompt(write("prompts/b.yaml", "status: approved\n" + meta), project)
    changed_template = load_prompt(
        write("prompts/c.yaml", PROMPT.replace("Hello {{", "Hi {{")), project
    )
    assert base.content_hash.startswith("sha256:") and len(base.content_hash) == 71
    assert changed_meta.content_hash == base.content_hash
    assert changed_template.content_hash != base.content_hash


def test_content_hash_follows_partials(project: Project, write: Writer) -> None:
    text = PROMPT.replace('"Hello {{ name }}"', "'{% include \"t.j2\" %} {{ name }}'")
    path = write("prompts/a.yaml", text)
    write("prompts/_partials/t.j2", "Hello\n")
    before = load_prompt(path, project).content_hash
    write("prompts/_partials/t.j2", "Howdy\n")
    after = load_prompt(path, project).content_hash
    assert before != after
    inlined = dataclasses.replace(load_prompt(path, project))
    assert inlined.content_hash == after


def test_prompt_outside_prompts_dir_uses_file_stem(project: Project, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.yaml"
    other.write_text(PROMPT)
    assert load_prompt(other, project).id == "elsewhere"


def test_get_of_a_broken_file_reports_its_error(project: Project, write: Writer) -> None:
    write("prompts/broken.yaml", "version: [1\n")
    with pytest.raises(PromptFileError, match="YAML syntax error"):
        load_prompts(project).get("broken")


def test_get_counts_the_other_errors_of_a_broken_file(project: Project, write: Writer) -> None:
    write("prompts/two.yaml", PROMPT.replace("version: 1.0.0", "version: 1.0.0\nowner: 3\ntags: x"))
    with pytest.raises(PromptFileError) as exc:
        load_prompts(project).get("two")
    assert (
        exc.value.message == "owner: expected string, got number (and 1 more; run `promptctl lint`)"
    )


def test_get_accepts_a_file_path(
    project: Project, write: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write("prompts/team/a.yaml", "id: custom\n" + PROMPT)
    monkeypatch.chdir(project.root)
    assert load_prompts(project).get("prompts/team/a.yaml").id == "custom"
    with pytest.raises(UsageError, match=r"no prompt with id 'prompts/team/b\.yaml'"):
        load_prompts(project).get("prompts/team/b.yaml")


def test_explicit_non_yaml_path_is_skipped(project: Project, write: Writer) -> None:
    partial = write("prompts/_partials/t.j2", "x")
    assert discover_prompt_files(project, [partial]) == []


def test_missing_partial_points_at_the_including_message(project: Project, write: Writer) -> None:
    text = PROMPT.replace(
        '  - user: "Hello {{ name }}"\n',
        '  - system: plain\n  - user: "Hello {{ name }}"\n'
        "  - assistant: '{% include \"no.j2\" %}'\n",
    )
    result = load_prompts(project, [write("prompts/a.yaml", text)])
    (diag,) = result.errors
    assert diag.code == "PC012" and diag.location is not None and diag.location.line == 10


@pytest.mark.parametrize(
    ("raw", "message", "line"),
    [
        (b"version: 1.0.0\n\x00\x01\x02", "file looks binary (contains NUL bytes)", None),
        (b"version: 1.0.0\ndescription: caf\xe9\n", "file is not valid UTF-8 (byte 0xe9)", 2),
        (b"a: " + b"x" * (8 * 1024 * 1024), "over the 8,388,608-byte limit", None),
    ],
)
def test_unreadable_files_are_pc001(
    project: Project, raw: bytes, message: str, line: int | None
) -> None:
    path = project.prompts_dir / "bad.yaml"
    path.write_bytes(raw)
    (diag,) = load_prompts(project).errors
    assert diag.code == "PC001" and message in diag.message
    assert diag.location is not None and diag.location.line == line


def test_prompt_file_size_limit_is_configurable_and_says_how(tmp_path: Path) -> None:
    """A generated suite over the cap: the error names both ways on (dataset, the key)."""
    (tmp_path / "promptctl.yaml").write_text("limits: {max_prompt_file_bytes: 2000}\n")
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    tests = "".join(f"  - {{name: t{i}, vars: {{q: x}}}}\n" for i in range(100))
    body = "version: 1.0.0\nmodel: {use: openai/gpt-4o-mini}\ninputs: {q: {type: string}}\n"
    body += "messages:\n  - user: '{{ q }}'\ntests:\n" + tests
    (prompts / "big.yaml").write_text(body)
    project = load_project(tmp_path / "promptctl.yaml")
    (diag,) = load_prompts(project).errors
    assert diag.code == "PC001"
    assert f"{len(body.encode()):,} bytes, over the 2,000-byte limit" in diag.message
    assert diag.hint is not None
    assert "dataset" in diag.hint and "max_prompt_file_bytes: 4000" in diag.hint

    (tmp_path / "promptctl.yaml").write_text("limits: {max_prompt_file_bytes: 40000}\n")
    loaded = load_prompts(load_project(tmp_path / "promptctl.yaml"))
    assert loaded.errors == [] and len(loaded.prompts[0].tests) == 100
