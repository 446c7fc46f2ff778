"""`evals.baseline`: which base the gate picks, and evaluating a side at a ref."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes.llm_server import FakeLLM
from fakes.prompt_repo import git, make_repo, regress
from promptctl.errors import UsageError
from promptctl.evals.baseline import default_base_ref, evaluate_side
from promptctl.evals.runner import EvalOptions
from promptctl.promptfile.project import project_at


@pytest.fixture
def repo(tmp_path: Path, fake_llm: FakeLLM) -> Path:
    root = make_repo(tmp_path / "repo", fake_llm)
    regress(root)
    return root


def test_base_prefers_the_pull_request_target_then_origin_main_then_main(repo: Path) -> None:
    main = git(repo, "rev-parse", "main").strip()
    assert default_base_ref(repo, {}) == (main, "merge-base with main")
    feature = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-ref", "refs/remotes/origin/main", feature)
    assert default_base_ref(repo, {}) == (feature, "merge-base with origin/main")
    git(repo, "branch", "release", main)
    env = {"GITHUB_BASE_REF": "release"}
    assert default_base_ref(repo, env) == (main, "merge-base with release")


def test_outside_a_repository_the_base_must_be_a_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not in a git repository") as info:
        default_base_ref(tmp_path, {})
    assert info.value.hint == "pass --base RESULTS.json (from `promptctl test --output`)"


def test_a_shallow_clone_without_the_base_says_to_fetch_the_history(
    repo: Path, tmp_path: Path
) -> None:
    """actions/checkout fetches one commit by default: neither the base branch nor the
    history joining it to HEAD is there. The error names every branch it tried."""
    feature = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "--single-branch", "-b", feature,
        f"file://{repo}", str(clone))  # fmt: skip
    with pytest.raises(UsageError) as info:
        default_base_ref(clone, {"GITHUB_BASE_REF": "develop"})
    assert info.value.message == (
        "no merge-base of HEAD with origin/develop, develop, origin/main, main"
    )
    assert (info.value.hint or "").startswith("the clone is shallow: fetch the history")


def test_a_side_at_a_ref_is_evaluated_from_git_not_the_working_tree(
    repo: Path, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    project = project_at(repo)
    (repo / "prompts" / "demo" / "qa.yaml").write_text("not: [valid")  # dirty working tree
    side = evaluate_side(project, EvalOptions(), ref="main", env=fake_env)
    assert side.label == "git main"
    assert side.document["run"]["git_commit"] == git(repo, "rev-parse", "main").strip()
    assert {c["status"] for c in side.document["cases"]} == {"pass"}
    assert side.prompts is not None and "Be terse." not in str(side.prompts[0].messages)
    assert side.run is not None and side.run.run_file is None  # the base writes no run file
    systems = {str(r.body["messages"][0]["content"]) for r in fake_llm.requests}
    assert systems == {"Repeat the word."}
