"""Bad input never shows a traceback: one `error:` line on stderr and exit 2."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.results_factory import doc_from_outcomes


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with one prompt, a results file, a non-UTF-8 file and a plain file."""
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "hello.yaml").write_text(
        "version: 1.0.0\nmodel: {use: openai/gpt-4o-mini}\ninputs: {name: {type: string}}\n"
        "messages:\n  - user: 'Hi {{ name }}'\n"
    )
    (tmp_path / "ok.json").write_text(json.dumps(doc_from_outcomes({"p": {"t": "PP"}})))
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "plain.txt").write_text("not a directory\n")
    sqlite3.connect(tmp_path / "other.sqlite").execute("CREATE TABLE t (a)").connection.close()
    (tmp_path / "outdir").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


CASES = [
    (["render", "hello", "--vars", "binary.yaml"], "--vars binary.yaml is not UTF-8 text"),
    (["costs", "--ledger", "ok.json"], "cannot read ledger ok.json: file is not a database"),
    (["costs", "--ledger", "other.sqlite"], "other.sqlite is not a promptctl ledger"),
    (["init", "plain.txt/sub"], "cannot write plain.txt/sub/promptctl.yaml"),
    (["merge", "-o", "outdir", "ok.json"], "cannot write results file outdir"),
    (["diff", "--base", "ok.json", "--head", "ok.json", "-o", "outdir"], "outdir is a directory"),
    (["keygen", "plain.txt/keys"], "cannot write keys to plain.txt/keys"),
    (["diff", "--head", "ok.json"], "is not in a git repository: there is no base"),
    (["ci"], "is not in a git repository: there is no base"),
    (["lint", "--nosuchflag"], "No such option: --nosuchflag (see `promptctl lint -h`)"),
    (["list", "--project", "plain.txt"], "Invalid value for '--project'"),
    (["nosuchcommand"], "No such command 'nosuchcommand'"),
    (
        ["render", "hello", "name=Ada Lovelace"],
        "an input is given as --var 'name=Ada Lovelace'; see `promptctl render -h`",
    ),
    (["render", "hello", "Ada"], "extra argument(s) (Ada) (see `promptctl render -h`)"),
    # NaN passed `< 0`; both reached the results document, which JSON cannot hold
    (["test", "--max-cost", "nan"], "--max-cost must be a number of USD >= 0, got nan"),
    (["test", "--max-cost", "inf"], "--max-cost must be a number of USD >= 0, got inf"),
    # a NaN threshold passes every comparison: the check would be silently off
    (
        ["diff", "--head", "ok.json", "--base", "ok.json", "--max-cost-increase", "nan"],
        "--max-cost-increase takes a percentage or 'off', got 'nan'",
    ),
    (
        ["diff", "--head", "ok.json", "--base", "ok.json", "--max-latency-increase", "inf"],
        "--max-latency-increase takes a percentage or 'off', got 'inf'",
    ),
    (
        ["compare", "hello", "-c", "openai/gpt-4o", "--margin", "nan"],
        "--margin must be a number from 0 to 1, got nan",
    ),
]


@pytest.mark.parametrize(("args", "fragment"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_is_one_error_line_and_exit_2(
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    fragment: str,
) -> None:
    code, _, err = run(args, monkeypatch, capsys)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert fragment in err


@pytest.mark.parametrize(
    "args",
    [
        ["lint"],
        ["list"],
        ["render", "hello", "--var", "name=x"],
        ["costs"],
        ["providers"],
        ["cache", "stats"],
        ["diff", "--base", "ok.json", "--head", "ok.json"],
    ],
    ids=lambda a: a[0],
)
def test_broken_promptctl_yaml_stops_every_command_with_its_line(
    work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    (work / "promptctl.yaml").write_text("prompts: prompts\ngate: [unclosed\n")
    code, _, err = run(args, monkeypatch, capsys)
    assert code == 2
    assert err.startswith(f"error: {work / 'promptctl.yaml'}:3:1: YAML syntax error")
    assert err.count("\n") == 1


def test_prompt_with_a_yaml_error_is_named_with_its_line(
    work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "prompts" / "hello.yaml").write_text("version: 1.0.0\nmessages: [\n  - user: x\n")
    code, _, err = run(["render", "hello"], monkeypatch, capsys)
    assert code == 2
    assert err.startswith(f"error: {work / 'prompts' / 'hello.yaml'}:3:3: YAML syntax error")
    assert err.count("\n") == 1


def test_group_without_a_command_shows_help_not_an_empty_error(
    work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["cache"], monkeypatch, capsys)
    assert code == 2
    assert "stats" in out and "clear" in out
    assert err == ""


VARS_FILES = [
    (
        "alias bomb",
        "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 8)),
        "vars.yaml: document expands",
        "alias bomb",
    ),
    ("infinity", "name: .inf\n", "vars.yaml:1:", "inf"),
    ("non-string key", "name: x\n00: y\n", "vars.yaml:2:1", "quote it"),
    ("syntax", "name: [unclosed\n", "vars.yaml:2:", "YAML syntax error"),
    ("empty", "# nothing\n\n", "vars.yaml:1:1: file is empty", "mapping of input names"),
    (
        "a byte-order mark only",
        "\ufeff\n",
        "vars.yaml:1:1: file is empty",
        "mapping of input names",
    ),
    ("a list", "- a\n", "must hold a mapping", "--vars vars.yaml"),
]


@pytest.mark.parametrize(
    ("text", "where", "what"), [v[1:] for v in VARS_FILES], ids=[v[0] for v in VARS_FILES]
)
def test_a_bad_vars_file_is_refused_at_its_line(
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    text: str,
    where: str,
    what: str,
) -> None:
    """`render --vars` reads with the prompt files' loader: located errors, bounded."""
    (work / "vars.yaml").write_text(
        "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + text if "alias" in what else text
    )
    code, out, err = run(["render", "hello", "--vars", "vars.yaml"], monkeypatch, capsys)
    assert (code, out) == (2, "")
    assert where in err and what in err, err
    assert "Traceback" not in err


def test_vars_from_json_and_yaml_render_the_same(
    work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "v.json").write_text('{"name": "W\\u00f6rld"}')
    (work / "v.yaml").write_text("\ufeffname: Wörld  # a comment\n")
    shown = [
        run(["render", "hello", "--vars", f], monkeypatch, capsys) for f in ("v.json", "v.yaml")
    ]
    assert shown[0] == shown[1] and shown[0][0] == 0 and "Hi Wörld" in shown[0][1]


def test_a_current_directory_that_no_longer_exists_is_one_error_line(tmp_path: Path) -> None:
    """A shell left in a directory another process removed: one line, exit 2."""
    gone = tmp_path / "gone"
    gone.mkdir()
    exe = Path(sys.executable).parent / "promptctl"
    out = subprocess.run(
        ["sh", "-c", f'cd "{gone}" && rmdir "{gone}" && exec "{exe}" list'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("error: the current directory no longer exists")
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
