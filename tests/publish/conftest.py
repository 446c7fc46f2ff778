from pathlib import Path

import pytest


@pytest.fixture
def git_project(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A committed repository with two prompt files; returns (root, repo)."""
    import git

    root = tmp_path / "repo"
    (root / "prompts" / "support").mkdir(parents=True)
    (root / "prompts" / "support" / "triage.yaml").write_text("id: support/triage\n")
    (root / "prompts" / "faq.yaml").write_text("id: faq\n")
    (root / "README.md").write_text("hi\n")
    repo = git.Repo.init(root)
    repo.index.add(["prompts/support/triage.yaml", "prompts/faq.yaml", "README.md"])
    actor = git.Actor("Test", "test@example.com")
    repo.index.commit("initial", author=actor, committer=actor)
    yield root, repo
    repo.close()
