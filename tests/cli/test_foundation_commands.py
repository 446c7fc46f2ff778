"""init, lint, render, list, schema through the real entry point."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest

from fakes.cli import run

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("promptctl.yaml", "prompts", "evals"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name)
        else:
            shutil.copy(src, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_scaffolds_a_project_that_lints_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["init", str(tmp_path / "new")], monkeypatch, capsys)
    assert code == 0 and "promptctl.yaml" in out
    assert f"next: cd {tmp_path / 'new'} && promptctl lint" in out
    assert (tmp_path / "new" / "prompts" / "_partials" / "tone.j2").is_file()
    assert (tmp_path / "new" / "evals" / "datasets").is_dir()
    code, out, _ = run(
        ["lint", "--project", str(tmp_path / "new"), "-f", "json"], monkeypatch, capsys
    )
    doc = json.loads(out)
    assert code == 0
    assert doc["summary"]["errors"] == 0 and doc["summary"]["warnings"] == 0
    code, _, err = run(["init", str(tmp_path / "new")], monkeypatch, capsys)
    assert code == 2 and "already exists" in err


def test_init_in_the_current_directory_needs_no_cd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["init"], monkeypatch, capsys)
    assert code == 0 and "next: promptctl lint && promptctl list" in out.splitlines()


def test_repository_examples_lint_clean(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["lint"], monkeypatch, capsys)
    assert code == 0, out
    assert "0 errors, 0 warnings in 4 files" in out


def test_lint_errors_exit_1_with_github_annotations(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = example / "prompts" / "support" / "triage.yaml"
    path.write_text(path.read_text().replace("{{ ticket }}", "{{ tickt }}"))
    code, out, _ = run(["lint", "--format", "github", "--no-version-check"], monkeypatch, capsys)
    assert code == 1
    assert "::error file=prompts/support/triage.yaml,line=" in out
    assert "variable 'tickt'" in out


def test_lint_bad_format_is_usage_error(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["lint", "--format", "xml"], monkeypatch, capsys)
    assert code == 2 and "unknown --format 'xml'" in err


def test_render_test_vars_as_json(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["render", "support/reply", "--test", "duplicate charge is refunded", "-f", "json"]
    code, out, _ = run(args, monkeypatch, capsys)
    doc = json.loads(out)
    assert code == 0
    assert doc["prompt"] == "support/reply" and doc["content_hash"].startswith("sha256:")
    assert [m["role"] for m in doc["messages"]] == ["system", "user"]
    assert "Duplicate charges are always refunded" in doc["messages"][0]["content"]
    assert doc["messages"][1]["content"] == "Lee writes: You charged me twice for the same order."


def test_render_var_values_are_typed(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (example / "v.yaml").write_text("text: from file\n")
    args = [
        "render",
        "content/summarize",
        "--vars",
        "v.yaml",
        "--var",
        "max_words=25",
        "-f",
        "json",
    ]
    code, out, err = run(args, monkeypatch, capsys)
    assert code == 0, err
    system = json.loads(out)["messages"][0]["content"]
    assert "Stay under 25 words." in system
    args = ["render", "content/summarize", "--var", "text=x", "--var", "max_words=many"]
    code, _, err = run(args, monkeypatch, capsys)
    assert code == 2 and "input 'max_words' is invalid" in err


def test_render_reads_vars_from_standard_input(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`… | promptctl render p --vars -`; an error in it is located at <stdin>."""

    def stdin(data: bytes) -> None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))

    stdin(b'{"text": "from stdin", "max_words": 17}')
    code, out, err = run(
        ["render", "content/summarize", "--vars", "-", "-f", "json"], monkeypatch, capsys
    )
    assert code == 0, err
    messages = json.loads(out)["messages"]
    assert "Stay under 17 words." in messages[0]["content"]
    assert "from stdin" in messages[-1]["content"]
    stdin(b"text: [unclosed\n")
    code, _, err = run(["render", "content/summarize", "--vars", "-"], monkeypatch, capsys)
    assert code == 2 and err.startswith("error: <stdin>:2:1: YAML syntax error"), err


def test_render_vars_from_a_process_substitution_points_to_standard_input(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--vars <(cmd)` is /dev/fd/N, a pipe whose link resolves to no file: before, the
    error was "No such file or directory"."""
    read, write = os.pipe()
    try:
        code, _, err = run(
            ["render", "content/summarize", "--vars", f"/dev/fd/{read}"], monkeypatch, capsys
        )
    finally:
        os.close(read)
        os.close(write)
    assert code == 2
    assert f"--vars /dev/fd/{read} is a pipe" in err and "--vars -" in err, err


def test_render_missing_input_and_unknown_id(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["render", "support/triage"], monkeypatch, capsys)
    assert code == 2 and "missing required input 'ticket'" in err
    assert "(pass it: --var ticket=... (or --vars FILE, --test NAME))" in err
    code, _, err = run(["render", "support/triag"], monkeypatch, capsys)
    assert code == 2 and "did you mean 'support/triage'?" in err
    code, _, err = run(["render", "support/triage", "--var", "tciket=x"], monkeypatch, capsys)
    assert code == 2 and "unknown input 'tciket' (did you mean 'ticket'?)" in err


def test_list_json(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["list", "--format", "json"], monkeypatch, capsys)
    rows = json.loads(out)
    assert code == 0
    assert [r["id"] for r in rows] == [
        "content/summarize",
        "support/extract_order",
        "support/reply",
        "support/triage",
    ]
    triage = rows[-1]
    assert triage["tests"] == 6 and triage["status"] == "approved"
    assert triage["tags"] == ["support", "classification"]


def test_list_table(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["list"], monkeypatch, capsys)
    assert code == 0
    header = out.splitlines()[0].split()
    assert header == ["id", "version", "status", "model", "tests", "owner", "tags"]
    assert "support/triage" in out and "1.2.0" in out


@pytest.mark.parametrize(
    ("which", "title"), [("prompt", "promptctl prompt file"), ("config", "promptctl.yaml")]
)
def test_schema_prints_valid_json_schema(
    which: str, title: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from jsonschema import Draft202012Validator

    code, out, _ = run(["schema", which], monkeypatch, capsys)
    doc = json.loads(out)
    assert code == 0 and doc["title"] == title
    Draft202012Validator.check_schema(doc)


def test_schema_unknown_is_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["schema", "bundle"], monkeypatch, capsys)
    assert code == 2 and "unknown schema 'bundle'" in err


@pytest.mark.parametrize(
    ("raw", "schema", "expected"),
    [
        ("n=5", {"type": "integer"}, 5),
        ("xs=[1, 2]", {"type": "array"}, [1, 2]),
        ("xs=[a, b]", {"type": "array"}, ["a", "b"]),
        ("s=5", {"type": "string"}, "5"),
        ("s=yes", None, "yes"),
        ("s=a=b", {"type": "string"}, "a=b"),
        ('o={"k": 1}', {"type": "object"}, {"k": 1}),
    ],
)
def test_var_values_follow_the_declared_type(raw: str, schema: object, expected: object) -> None:
    from promptctl.cli.render import _parse_var

    assert _parse_var(raw, schema)[1] == expected


def test_var_without_equals_is_usage_error() -> None:
    from promptctl.cli.render import _parse_var
    from promptctl.errors import UsageError

    with pytest.raises(UsageError, match="is not KEY=VALUE") as exc:
        _parse_var("novalue", None)
    assert exc.value.hint == "write it as --var novalue=VALUE"


def test_render_json_names_the_routed_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "r.yaml").write_text(
        "version: 1.0.0\nmodel:\n  use: openai/gpt-4o-mini\n  routes:\n"
        "    - {when: \"tier == 'vip'\", use: openai/gpt-4o}\n"
        "inputs:\n  tier: {type: string, default: std}\nmessages:\n  - user: 'Tier {{ tier }}'\n"
    )
    monkeypatch.chdir(tmp_path)
    _, out, _ = run(["render", "r", "--var", "tier=vip", "-f", "json"], monkeypatch, capsys)
    assert json.loads(out)["target"] == "openai/gpt-4o"
    _, out, _ = run(["render", "r", "-f", "json"], monkeypatch, capsys)
    doc = json.loads(out)
    assert doc["target"] == "openai/gpt-4o-mini"
    # the first request as the built-in openai provider receives it
    assert doc["request"]["path"] == "/v1/chat/completions"
    assert doc["request"]["body"]["messages"] == [{"role": "user", "content": "Tier std"}]
    (tmp_path / "prompts" / "n.yaml").write_text(
        "version: 1.0.0\nmodel: {use: nowhere/x}\nmessages:\n  - user: hi\n"
    )
    _, out, _ = run(["render", "n", "-f", "json"], monkeypatch, capsys)
    assert json.loads(out)["request"] is None  # no such provider: no wire format to show
    code, _, err = run(["render", "r", "--target", "x/y"], monkeypatch, capsys)
    assert code == 2 and "--target 'x/y': unknown provider 'x'" in err


def test_lint_and_list_of_an_empty_project_say_where_they_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["lint", "--no-version-check"], monkeypatch, capsys)
    assert code == 0 and f"no prompt files under {tmp_path / 'prompts'}" in err, err
    code, _, err = run(["list"], monkeypatch, capsys)
    assert code == 0 and "run `promptctl init`" in err


@pytest.mark.parametrize(
    "model", ["ollama/llama3.2:1b", "local/smollm2", "vertex/claude-3-5-sonnet@20240620"]
)
def test_init_with_a_model_scaffolds_the_example_and_judge_on_it(
    model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user without an OpenAI key starts on their own model; a provider that is not built
    in is named with what to add (the project still lints clean once it is there)."""
    new = tmp_path / "new"
    code, out, _ = run(["init", str(new), "--model", model], monkeypatch, capsys)
    assert code == 0, out
    example = (new / "prompts" / "example" / "answer.yaml").read_text()
    assert f"  use: {model}\n" in example and "gpt-4o-mini" not in example
    assert f"judge: {model}\n" in (new / "promptctl.yaml").read_text()
    provider = model.split("/")[0]
    assert ("is not a built-in provider" in out) is (provider != "ollama")
    if provider != "ollama":
        with (new / "promptctl.yaml").open("a") as fh:
            fh.write(
                f"providers:\n  {provider}: {{kind: openai-compatible, base_url: 'http://h/v1'}}\n"
            )
    code, out, _ = run(["lint", "--project", str(new), "-f", "json"], monkeypatch, capsys)
    assert code == 0 and json.loads(out)["summary"]["errors"] == 0, out


@pytest.mark.parametrize(
    "model", ["gpt-4o-mini", "openai/", "/x", "openai/gpt 4o", "a/b\\nc", "a/b #c", "a/{b}"]
)
def test_init_refuses_a_model_that_is_not_provider_slash_model(
    model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["init", str(tmp_path / "new"), "--model", model], monkeypatch, capsys)
    assert code == 2 and "is not provider/model" in err, err
    assert not (tmp_path / "new").exists()
