"""Version rules against a real temporary git repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from promptctl.lint import lint
from promptctl.lint.versions import required_bump
from promptctl.promptfile.gitsource import GitTreeSource, merge_base_ref
from promptctl.promptfile.loader import load_prompt
from promptctl.promptfile.model import Project

from .conftest import CLEAN


def git(root: Path, *args: str) -> str:
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    return subprocess.run(
        ["git", *env_args, *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Project:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "promptctl.yaml").write_text("prompts: prompts\n")
    (tmp_path / "prompts" / "_partials").mkdir(parents=True)
    (tmp_path / "prompts" / "p.yaml").write_text(CLEAN)
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    git(tmp_path, "checkout", "-q", "-b", "feature")
    return Project(root=tmp_path, prompts_dir=tmp_path / "prompts")


def edit(project: Project, old: str, new: str) -> None:
    path = project.prompts_dir / "p.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def version_codes(project: Project) -> list[tuple[str, str]]:
    return [
        (d.code, d.message)
        for d in lint(project).diagnostics
        if d.code in {"PC020", "PC021", "PC022", "PC900"}
    ]


def test_unchanged_content_needs_no_bump(repo: Project) -> None:
    edit(repo, "description: Classify a ticket.", "description: Classify one ticket.")
    assert version_codes(repo) == []


def test_template_change_without_bump(repo: Project) -> None:
    edit(repo, "Classify the ticket.", "Classify the support ticket.")
    ((code, message),) = version_codes(repo)
    assert code == "PC020"
    assert "content changed since" in message and "still 1.0.0" in message


def test_template_change_with_patch_bump_is_fine(repo: Project) -> None:
    edit(repo, "Classify the ticket.", "Classify the support ticket.")
    edit(repo, "version: 1.0.0", "version: 1.0.1")
    assert version_codes(repo) == []


def test_lowered_version(repo: Project) -> None:
    edit(repo, "version: 1.0.0", "version: 0.9.0")
    ((code, message),) = version_codes(repo)
    assert code == "PC021" and "0.9.0 is lower than 1.0.0" in message


def test_new_required_input_needs_major(repo: Project) -> None:
    edit(repo, "  ticket: {type: string}\n", "  ticket: {type: string}\n  lang: {type: string}\n")
    edit(repo, "{{ ticket }}</ticket>", "{{ ticket }}</ticket> {{ lang }}")
    edit(repo, "version: 1.0.0", "version: 1.1.0")
    ((code, message),) = version_codes(repo)
    assert code == "PC022"
    assert "1.0.0 -> 1.1.0 is a minor bump, but new required input 'lang'" in message


def test_new_optional_input_minor_is_enough(repo: Project) -> None:
    edit(repo, "  ticket: {type: string}\n", "  ticket: {type: string}\n  lang: {default: en}\n")
    edit(repo, "{{ ticket }}</ticket>", "{{ ticket }}</ticket> {{ lang }}")
    edit(repo, "version: 1.0.0", "version: 1.0.1")
    ((code, _),) = version_codes(repo)
    assert code == "PC022"
    edit(repo, "version: 1.0.1", "version: 1.1.0")
    assert version_codes(repo) == []


def test_output_schema_change_needs_major(repo: Project) -> None:
    old, new = "additionalProperties: false}", "additionalProperties: false, required: []}"
    edit(repo, old, new)
    edit(repo, "version: 1.0.0", "version: 1.5.0")
    ((code, message),) = version_codes(repo)
    assert code == "PC022" and "output format or schema changed" in message
    edit(repo, "version: 1.5.0", "version: 2.0.0")
    assert version_codes(repo) == []


def test_working_tree_and_index_are_untouched(repo: Project) -> None:
    edit(repo, "Classify the ticket.", "Classify the support ticket.")
    root = repo.root
    (root / "staged.txt").write_text("staged")
    git(root, "add", "staged.txt")
    status_before = git(root, "status", "--porcelain")
    index_before = (root / ".git" / "index").read_bytes()
    text_before = (repo.prompts_dir / "p.yaml").read_text()
    assert version_codes(repo)[0][0] == "PC020"
    assert git(root, "status", "--porcelain") == status_before
    assert (root / ".git" / "index").read_bytes() == index_before
    assert (repo.prompts_dir / "p.yaml").read_text() == text_before


def test_explicit_base_ref(repo: Project) -> None:
    edit(repo, "Classify the ticket.", "Classify the support ticket.")
    edit(repo, "version: 1.0.0", "version: 1.0.1")
    git(repo.root, "commit", "-q", "-am", "patch")
    edit(repo, "Classify the support ticket.", "Classify the ticket!")
    assert [d.code for d in lint(repo, base_ref="HEAD").diagnostics] == ["PC020"]
    assert [d.code for d in lint(repo, base_ref="main").diagnostics] == []


def test_git_tree_source_reads_the_commit(repo: Project) -> None:
    edit(repo, "Classify the ticket.", "CHANGED")
    source = GitTreeSource(repo.root, "main")
    path = repo.prompts_dir / "p.yaml"
    assert b"Classify the ticket." in source.read_bytes(path, root=repo.root)
    assert source.is_file(path)
    assert source.list_files(repo.prompts_dir) == [path]
    old = load_prompt(path, repo, source=source)
    new = load_prompt(path, repo)
    assert required_bump(old, new)[0] == "patch"
    with pytest.raises(FileNotFoundError):
        source.read_bytes(repo.root / "nope.yaml", root=repo.root)


def test_merge_base_is_found(repo: Project) -> None:
    main_sha = git(repo.root, "rev-parse", "main").strip()
    (repo.root / "x").write_text("x")
    git(repo.root, "add", "x")
    git(repo.root, "commit", "-q", "-m", "x")
    assert merge_base_ref(repo.root) == main_sha


def test_no_main_branch_skips_with_note(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "trunk")
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "p.yaml").write_text(CLEAN)
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    report = lint(Project(root=tmp_path, prompts_dir=tmp_path / "prompts"))
    assert [(d.code, d.severity) for d in report.diagnostics] == [("PC900", "note")]
    assert report.exit_code() == 0


def test_not_a_repo_skips_with_note(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "p.yaml").write_text(CLEAN)
    report = lint(Project(root=tmp_path, prompts_dir=tmp_path / "prompts"))
    (diag,) = report.diagnostics
    assert diag.message == "version rules skipped: not a git repository"
