"""`head_commit` reads HEAD from `.git` and agrees with `git rev-parse HEAD` in every layout."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from promptctl.evals import git_head
from promptctl.evals.git_head import head_commit

_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def _git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | _ENV
    out = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _repo(path: Path, commits: int = 1) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    _git(path, "init", "-q", "-b", "main")
    for i in range(commits):
        _git(path, "commit", "-q", "--allow-empty", "-m", f"c{i}")
    return path


def no_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if git is run: the layouts below are read from the files."""

    def refuse(root: Path) -> None:
        raise AssertionError(f"git was asked about {root}")

    monkeypatch.setattr(git_head, "_git_rev_parse", refuse)


@pytest.fixture(name="no_git")
def _no_git(monkeypatch: pytest.MonkeyPatch) -> None:
    no_git(monkeypatch)


def _rev_parse(path: Path) -> str:
    return _git(path, "rev-parse", "HEAD")


def test_loose_ref_read_without_git(tmp_path: Path, no_git: None) -> None:
    repo = _repo(tmp_path / "r", commits=2)
    assert (repo / ".git" / "refs" / "heads" / "main").is_file()
    expected = _rev_parse(repo)
    assert head_commit(repo) == expected
    sub = repo / "a" / "b"
    sub.mkdir(parents=True)
    assert head_commit(sub) == expected  # found walking up


def test_packed_ref_and_a_newer_loose_one(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r", commits=2)
    _git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    packed = (repo / ".git" / "packed-refs").read_text()
    assert "refs/heads/main" in packed
    assert head_commit(repo) == _rev_parse(repo)
    _git(repo, "commit", "-q", "--allow-empty", "-m", "after the pack")  # loose wins
    assert (repo / ".git" / "refs" / "heads" / "main").is_file()
    assert head_commit(repo) == _rev_parse(repo)
    assert _rev_parse(repo) not in packed


def test_detached_head(tmp_path: Path, no_git: None) -> None:
    repo = _repo(tmp_path / "r", commits=3)
    first = _git(repo, "rev-list", "--max-parents=0", "HEAD")
    _git(repo, "checkout", "-q", "--detach", first)
    assert not (repo / ".git" / "HEAD").read_text().startswith("ref:")
    assert head_commit(repo) == _rev_parse(repo) == first


def test_linked_worktree_and_symlinked_path(tmp_path: Path, no_git: None) -> None:
    repo = _repo(tmp_path / "r", commits=1)
    _git(repo, "branch", "other")
    _git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "other")
    _git(tmp_path / "wt", "commit", "-q", "--allow-empty", "-m", "on other")
    assert (tmp_path / "wt" / ".git").is_file()
    assert head_commit(tmp_path / "wt") == _rev_parse(tmp_path / "wt") != _rev_parse(repo)
    (tmp_path / "link").symlink_to(tmp_path / "wt")
    assert head_commit(tmp_path / "link") == _rev_parse(tmp_path / "wt")


def test_not_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read from the files up to the root, unless a mount point is on the way (tmp_path in
    /dev/shm): git stops there unless told otherwise, so git is asked."""
    devices = {os.stat(p).st_dev for p in (tmp_path, *tmp_path.parents)}
    if len(devices) == 1:
        no_git(monkeypatch)
    assert head_commit(tmp_path) is None


def test_unborn_branch_asks_git(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    assert head_commit(repo) is None  # git: no HEAD commit yet


def test_git_env_is_left_to_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = _repo(tmp_path / "here")
    there = _repo(tmp_path / "there", commits=2)
    monkeypatch.setenv("GIT_DIR", str(there / ".git"))
    assert head_commit(here) == _rev_parse(there) != _rev_parse(here)


def test_a_head_that_does_not_parse_is_left_to_git(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r")
    expected = _rev_parse(repo)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    ref = repo / ".git" / "refs" / "heads" / "main"
    ref.write_text(expected[:20] + "\n")  # a broken ref: git says there is no HEAD
    assert head_commit(repo) is None
    ref.write_text(expected + "\n")
    assert head_commit(repo) == expected


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_a_repository_of_another_owner_is_left_to_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path / "r")
    for path in (repo, *repo.rglob("*")):
        os.chown(path, 12345, 12345, follow_symlinks=False)
    asked: list[Path] = []
    ask_git = git_head._git_rev_parse

    def ask(root: Path) -> str | None:
        asked.append(root)
        return ask_git(root)

    monkeypatch.setattr(git_head, "_git_rev_parse", ask)
    monkeypatch.setenv("HOME", str(tmp_path))  # no safe.directory of this machine's user
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    assert head_commit(repo) is None  # git refuses ("dubious ownership")
    assert asked == [repo]
