"""The private signing key stays out of git: keygen, init's .gitignore, lint and publish."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes.cli import run
from fakes.prompt_repo import git

PROMPT = """\
id: demo/hello
version: 1.0.0
description: Say hello.
status: approved
model:
  use: openai/gpt-4o-mini
messages:
  - user: "hello"
tests:
  - name: greets
    assert: [{type: contains, value: hi}]
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    monkeypatch.chdir(root)
    return root


def test_keygen_refuses_an_unignored_path_inside_a_work_tree(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["keygen", "keys"], monkeypatch, capsys)
    assert code == 1, out + err
    assert "refusing to write a private key" in err
    assert "keys/promptctl-signing.key is inside the git work tree" in err
    assert "add `keys/*.key` to .gitignore" in err and "--force" in err
    assert not (repo / "keys").exists()


def test_keygen_force_writes_with_a_loud_warning(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["keygen", "keys", "--force"], monkeypatch, capsys)
    assert code == 0, err
    assert err.startswith("WARNING: ") and "not git-ignored" in err
    assert (repo / "keys" / "promptctl-signing.key").is_file()


def test_inits_gitignore_covers_the_default_key_location(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["init", "."], monkeypatch, capsys)[0] == 0
    code, _out, err = run(["keygen", "keys"], monkeypatch, capsys)
    assert code == 0, err
    assert "WARNING" not in err
    git(repo, "add", "-A")
    staged = git(repo, "diff", "--cached", "--name-only").split()
    assert "keys/promptctl-signing.pub.pem" in staged
    assert "keys/promptctl-signing.key" not in staged


def test_keygen_outside_a_repository_just_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["keygen", "keys"], monkeypatch, capsys)
    assert code == 0, err
    assert (tmp_path / "keys" / "promptctl-signing.key").is_file()


def _project_with_tracked_key(repo: Path, key: str, text: str) -> Path:
    (repo / "prompts" / "demo").mkdir(parents=True)
    (repo / "prompts" / "demo" / "hello.yaml").write_text(PROMPT)
    (repo / "promptctl.yaml").write_text("prompts: prompts\n")
    path = repo / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "oops")
    return path


PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFakeFakeFake\n-----END PRIVATE KEY-----\n"
RSA = "-----BEGIN RSA PRIVATE KEY-----\nMIIFake\n-----END RSA PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    ("key", "text"),
    [("keys/promptctl-signing.key", PEM), ("deploy/id_rsa", RSA), ("x/promptctl-signing.key", "")],
)
def test_lint_fails_while_a_private_key_is_tracked(
    key: str,
    text: str,
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _project_with_tracked_key(repo, key, text)
    code, out, err = run(["lint", "--no-version-check"], monkeypatch, capsys)
    assert code == 1, out + err
    assert "PC030" in out
    # the table wraps at the terminal width: compare with the line breaks undone
    shown = " ".join(out.replace(str(repo) + "/", "").split())
    assert f"private key {key} is tracked by git" in shown
    code, out, _ = run(["lint", "--no-version-check", "--format", "json"], monkeypatch, capsys)
    assert code == 1 and '"PC030"' in out


def test_lint_is_quiet_about_a_key_mentioned_in_code(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _project_with_tracked_key(repo, "check.py", 'MARK = "-----BEGIN PRIVATE KEY-----"\n')
    code, out, err = run(["lint", "--no-version-check"], monkeypatch, capsys)
    assert code == 0, out + err
    assert "PC030" not in out


def test_publish_refuses_while_a_private_key_is_tracked(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _project_with_tracked_key(repo, "keys/promptctl-signing.key", PEM)
    code, out, err = run(["publish", "--dry-run"], monkeypatch, capsys)
    assert code == 1, out + err
    assert f"private key {path} is tracked by git" in err
    assert not (repo / "releases").exists()
