"""Loading only the files an id glob selects: `declared_id` reads `id:` as the loader
does (or says it cannot), and `load_prompts(id_globs=...)` loads only what it must."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from promptctl.promptfile import loader
from promptctl.promptfile.model import Project
from promptctl.promptfile.selection import UNKNOWN, declared_id, matches

from .conftest import PROMPT, Writer

# (text, what declared_id must answer)
DECLARED = [
    ("id: team/qa\nversion: 1.0.0\n", "team/qa"),
    ("version: 1.0.0\nmodel: {use: a/b}\nid: 'q'\n", "q"),  # not the first key
    ("{id: a, version: 1}\n", "a"),  # a flow mapping
    ("? id\n: a\n", "a"),  # an explicit key
    ('"i\\x64": x\n', "x"),  # escapes spell `id`
    ("---\nid: a\n...\n", "a"),
    ("id: a # a comment\n", "a"),
    ("id: |\n  a\n", "a\n"),
    ("version: 1.0.0\n", None),
    ("provider: x\nvalid: true\n", None),  # `id` only inside words
    ("# id: x\nversion: 1\n", None),  # in a comment
    ("tests: [{name: 'id: x'}]\n", None),  # nested, and in a string
    ("id: 12\n", UNKNOWN),  # not a string: the schema check reports it
    ("id: null\n", UNKNOWN),
    ("id: yes\n", UNKNOWN),
    ("id: 2026-01-01\n", UNKNOWN),
    ("id: ''\n", UNKNOWN),  # empty: the path-derived id is used
    ("id: [a]\n", UNKNOWN),
    ("id: !!str a\n", UNKNOWN),
    ("!!str id: a\n", UNKNOWN),
    ("id: a\nid: b\n", UNKNOWN),  # duplicates keep the last
    ("id: a\ndescription: 'i\\x64: b'\n", UNKNOWN),  # a backslash after it
    ("<<: {id: a}\nversion: 1\n", UNKNOWN),  # a merge key
    ("x: &a id\n*a : b\n", UNKNOWN),  # an alias as a key
    ("- id: a\n", UNKNOWN),  # not a mapping
    ("foo: [\nid: a\n", UNKNOWN),  # a syntax error before it
    ("id: a\n---\nid: b\n", UNKNOWN),  # two documents
    ("tests:\n" + "  - {name: t, vars: {q: x}}\n" * 200 + "id: late\n", UNKNOWN),  # too far in
]


@pytest.mark.parametrize(("text", "expected"), DECLARED)
def test_declared_id(text: str, expected: str | None) -> None:
    assert declared_id(text) == expected


@pytest.mark.parametrize(("text", "expected"), [d for d in DECLARED if d[1] != UNKNOWN])
def test_a_declared_id_is_what_the_yaml_holds(text: str, expected: str | None) -> None:
    """Whenever declared_id answers, PyYAML reads the same `id` (the answers above are
    not just what the code happens to return)."""
    assert yaml.safe_load(text).get("id") == expected


def test_matches_an_id_or_a_path_tail() -> None:
    path = Path("/work/proj/prompts/team/qa.yaml")
    assert matches("team/qa", path, "team/*")
    assert matches("other", path, "prompts/team/qa.yaml")
    assert matches("other", path, "./team/qa.yaml")
    assert not matches("other", path, "team/qa")


BROKEN = "version: 1.0.0\nmodel: [\n"  # a YAML syntax error on line 2


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files `load_prompt_file` parses."""
    parsed: list[str] = []
    real = loader.load_prompt_file

    def counting(path: Path, *args: object, **kwargs: object) -> loader.FileLoad:
        parsed.append(path.name)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "load_prompt_file", counting)
    return parsed


def test_one_selected_prompt_parses_one_file(
    project: Project, write: Writer, spy: list[str]
) -> None:
    for i in range(5):
        write(f"prompts/team/p{i}.yaml", f"id: team/p{i}\n{PROMPT}")
    write("prompts/other.yaml", PROMPT)  # id from its path
    loaded = loader.load_prompts(project, id_globs=["team/p3"])
    assert spy == ["p3.yaml"]
    assert [p.id for p in loaded.prompts] == ["team/p3"]
    spy.clear()
    assert [p.id for p in loader.load_prompts(project, id_globs=["other"]).prompts] == ["other"]
    assert spy == ["other.yaml"]


def test_selected_by_a_declared_id_that_is_not_the_path(
    project: Project, write: Writer, spy: list[str]
) -> None:
    write("prompts/a.yaml", "id: renamed/qa\n" + PROMPT)
    write("prompts/b.yaml", PROMPT)
    loaded = loader.load_prompts(project, id_globs=["renamed/*"])
    assert [p.id for p in loaded.prompts] == ["renamed/qa"] and spy == ["a.yaml"]
    assert loader.load_prompts(project, id_globs=["a"]).prompts == []  # the id, not the path


def test_a_broken_file_not_selected_does_not_count(project: Project, write: Writer) -> None:
    write("prompts/good.yaml", PROMPT)
    write("prompts/broken.yaml", BROKEN)
    selected = loader.load_prompts(project, id_globs=["good"])
    assert selected.errors == [] and [p.id for p in selected.prompts] == ["good"]
    everything = loader.load_prompts(project)  # lint's view: the broken file is reported
    assert [d.code for d in everything.errors] == ["PC001"]


def test_a_selected_broken_file_reports_what_a_full_load_reports(
    project: Project, write: Writer
) -> None:
    write("prompts/good.yaml", PROMPT)
    broken = write("prompts/broken.yaml", BROKEN)
    declared = write("prompts/declared.yaml", "id: mine/x\n" + BROKEN)
    full = {str(d) for d in loader.load_prompts(project).errors}
    by_path = loader.load_prompts(project, id_globs=["broken"]).errors
    by_declared_id = loader.load_prompts(project, id_globs=["mine/x"]).errors
    assert [d.location.path for d in by_path if d.location] == [broken]
    assert [d.location.path for d in by_declared_id if d.location] == [declared]
    assert {str(d) for d in by_path + by_declared_id} == full
    assert str(by_path[0]).startswith(f"{broken}:3:1")  # file:line:column, as before


def test_a_duplicate_id_in_a_file_not_selected_is_still_refused(
    project: Project, write: Writer, spy: list[str]
) -> None:
    write("prompts/team/qa.yaml", PROMPT)  # id team/qa, selected by its path below
    write("prompts/z.yaml", "id: team/qa\n" + PROMPT)  # the same id, declared
    for i in range(3):
        write(f"prompts/p{i}.yaml", PROMPT)
    loaded = loader.load_prompts(project, id_globs=["prompts/team/*.yaml"])
    assert sorted(spy) == ["qa.yaml", "z.yaml"]
    assert [(d.code, d.location.path.name) for d in loaded.errors if d.location] == [
        ("PC006", "z.yaml")
    ]
    full = loader.load_prompts(project)
    assert [str(d) for d in loaded.errors] == [str(d) for d in full.errors]


def test_a_file_whose_id_cannot_be_read_is_loaded_and_kept_only_if_selected(
    project: Project, write: Writer, spy: list[str]
) -> None:
    write("prompts/a.yaml", PROMPT)
    write("prompts/merged.yaml", "<<: {id: team/x}\n" + PROMPT)  # merge key: loaded
    write("prompts/numeric.yaml", "id: 12\n" + PROMPT)  # schema error, unselected
    loaded = loader.load_prompts(project, id_globs=["team/x"])
    assert sorted(spy) == ["merged.yaml", "numeric.yaml"]
    assert [p.id for p in loaded.prompts] == ["team/x"] and loaded.errors == []


def test_the_id_prefilter_is_the_word_boundary_regex() -> None:
    """`maybe_id` (str.find) answers as `\\bid\\b|\\\\` does, on every text built from
    the characters that matter."""
    import itertools
    import re

    from promptctl.promptfile.selection import maybe_id

    regex = re.compile(r"\bid\b|\\")
    alphabet = ["id", "i", "d", "x", "_", "é", "2", " ", ":", "\n", "-", "\\", '"']
    for size in range(1, 4):
        for parts in itertools.product(alphabet, repeat=size):
            text = "".join(parts)
            assert maybe_id(text, 0) == (regex.search(text) is not None), repr(text)


def test_the_id_prefilter_stays_linear_and_exact_past_many_near_misses() -> None:
    from promptctl.promptfile.selection import maybe_id

    near_misses = "valid " * 100
    assert not maybe_id(near_misses, 0)
    assert maybe_id(near_misses + "id", 0)
    assert maybe_id("idid" * 200 + " id", 0)
    assert not maybe_id("idid" * 200_000, 0)  # a hostile file: the regex takes over


def test_selecting_each_broken_file_reports_what_a_full_load_reports(
    tmp_path: Path,
) -> None:
    """Over the bad corpus (one mistake per file, some in the YAML itself): selecting a
    file by its id reports exactly the full load's findings for the files that id
    selects, and the same prompts."""
    import shutil
    from glob import escape

    bad = Path(__file__).parent / "bad"
    shutil.copytree(bad, tmp_path / "bad")
    root = tmp_path / "bad"
    project = Project(root=root, prompts_dir=root / "prompts", evals_dir=root / "evals")
    full = loader.load_prompts(project)
    assert len(full.files) > 50 and full.errors
    for file in full.files:
        glob = escape(file.default_id)
        picked = {
            f.path
            for f in full.files
            if matches(f.prompt.id if f.prompt is not None else f.default_id, f.path, glob)
        }
        selected = loader.load_prompts(project, id_globs=[glob])
        expected = [str(d) for d in full.diagnostics if d.location and d.location.path in picked]
        assert [str(d) for d in selected.diagnostics] == expected, file.path.name
        assert [p.id for p in selected.prompts] == [p.id for p in full.prompts if p.path in picked]
