"""`promptctl diff` on real git repositories: the base is evaluated at a ref, the head in
the working tree, with the fake LLM server as the provider."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM
from fakes.prompt_repo import TESTS, git, make_repo, regress, snapshot


@pytest.fixture
def repo(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(tmp_path / "repo", fake_llm)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-diff-0123456789abcdef")
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    monkeypatch.chdir(root)
    return root


Cli = tuple[pytest.MonkeyPatch, pytest.CaptureFixture[str]]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return monkeypatch, capsys


def test_regression_in_every_format_and_the_tree_is_untouched(
    repo: Path, fake_llm: FakeLLM, cli: Cli
) -> None:
    regress(repo)
    (repo / "scratch.txt").write_text("untracked, must stay")
    git(repo, "add", "scratch.txt")  # a staged change: the index must keep it
    before = snapshot(repo)
    main_sha = git(repo, "rev-parse", "main").strip()

    code, out, err = run(["diff", "--repeat", "3"], *cli)
    assert code == 1, err
    assert out.splitlines()[0] == "❌ promptctl: 2 regressions in demo/qa (openai/gpt-4o-mini)"
    assert f"base: git {main_sha[:12]} (merge-base with main) · head: working tree" in out
    for word in ("sea", "sun"):
        assert f"regressed demo/qa (openai/gpt-4o-mini) :: {word}  100% → 0%" in out
    assert "-Repeat the word." in out and "+Repeat the word. Be terse." in out
    assert f"base: git {main_sha[:12]} (merge-base with main): 18 cases" in err
    assert "head: working tree: 18 cases" in err
    assert snapshot(repo) == before

    code, md, _ = run(["diff", "--repeat", "3", "--format", "markdown"], *cli)
    assert code == 1
    assert md.startswith("❌ promptctl: 2 regressions in demo/qa (openai/gpt-4o-mini)\n")
    assert "### Regressed tests (2)" in md and "### What changed in the prompts" in md
    assert "**demo/qa** changed (1.0.0 → 1.0.0)" in md
    assert "+Repeat the word. Be terse." in md
    assert "actual (head output):\n```text\nno.\n```" in md

    code, js, _ = run(["diff", "--repeat", "3", "-f", "json"], *cli)
    doc = json.loads(js)
    assert code == 1 and doc["verdict"] == "fail"
    assert doc["base_run"]["git_commit"] == main_sha
    (group,) = doc["groups"]
    regressed = sorted(t["test"] for t in group["tests"] if t["status"] == "regressed")
    assert regressed == ["sea", "sun"]
    assert group["base"]["cases"] == group["head"]["cases"] == 3 * len(TESTS)
    (change,) = doc["prompt_changes"]
    assert change["status"] == "changed"
    assert change["changes"] == []  # only the template changed, not model/inputs/output
    assert [label for label, _ in change["template_diffs"]] == ["messages[0] (system)"]
    assert snapshot(repo) == before


def test_unchanged_base_is_free_and_a_second_run_calls_nothing(
    repo: Path, fake_llm: FakeLLM, cli: Cli
) -> None:
    (repo / "NOTES.md").write_text("no prompt change\n")
    git(repo, "add", "NOTES.md")
    git(repo, "commit", "-q", "-m", "notes")
    code, out, err = run(["diff", "--repeat", "2"], *cli)
    assert code == 0, out + err
    assert out.splitlines()[0] == "✅ promptctl: no regressions"
    # The head asked 12 requests; the base asked the same ones and hit the cache.
    assert fake_llm.calls["openai"] == 2 * len(TESTS)
    assert "base: git" in err and "12 cases, 12 from cache or recordings, $0.00 spent" in err
    code, _, _ = run(["diff", "--repeat", "2"], *cli)
    assert code == 0
    assert fake_llm.calls["openai"] == 2 * len(TESTS)


def test_errors_exit_3(repo: Path, fake_llm: FakeLLM, cli: Cli) -> None:
    for _ in TESTS:
        fake_llm.error(500)  # the head runs first: all of its cases fail to get an answer
    code, out, _ = run(["diff", "--no-cache"], *cli)
    assert code == 3
    assert (
        out.splitlines()[0] == "🛑 promptctl: too many errors to judge demo/qa (openai/gpt-4o-mini)"
    )


def test_selection_flags_apply_to_both_sides_and_base_can_be_a_ref(
    repo: Path, fake_llm: FakeLLM, cli: Cli
) -> None:
    regress(repo)
    other = (repo / "prompts" / "demo" / "qa.yaml").read_text().replace("demo/qa", "other/new")
    (repo / "prompts" / "other").mkdir()
    (repo / "prompts" / "other" / "new.yaml").write_text(other)  # added, but not selected
    args = ["diff", "demo/*", "--base", "main", "--test", "s*", "--repeat", "3", "-f", "json"]
    code, js, err = run(args, *cli)
    doc = json.loads(js)
    assert [c["prompt"] for c in doc["prompt_changes"]] == ["demo/qa"]
    (group,) = doc["groups"]
    assert sorted(t["test"] for t in group["tests"]) == ["sea", "sky", "sun"]
    assert group["base"]["cases"] == group["head"]["cases"] == 9
    assert code == 1, err


def test_head_results_file_against_a_base_ref(repo: Path, fake_llm: FakeLLM, cli: Cli) -> None:
    regress(repo)
    code, _, _ = run(["test", "--output", "head.json", "--repeat", "3", "-q"], *cli)
    assert code == 1
    calls = fake_llm.calls["openai"]
    code, out, _ = run(["diff", "--base", "main", "--head", "head.json", "--repeat", "3"], *cli)
    assert code == 1
    assert "· head: file head.json" in out
    assert "+Repeat the word. Be terse." in out  # head prompts loaded at its git_commit
    assert fake_llm.calls["openai"] == calls + 3 * len(TESTS)  # only the base was evaluated


def test_bad_ref_and_no_repository_are_usage_errors(
    tmp_path: Path, fake_llm: FakeLLM, cli: Cli, repo: Path
) -> None:
    code, _, err = run(["diff", "--base", "no-such-branch"], *cli)
    assert code == 2 and "unknown git ref 'no-such-branch'" in err
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(repo / "promptctl.yaml", plain)
    shutil.copytree(repo / "prompts", plain / "prompts")
    code, _, err = run(["diff", "--project", str(plain)], *cli)
    assert code == 2
    assert err.splitlines()[-1].startswith("error: ") and "not in a git repository" in err
    assert "--base RESULTS.json" in err


@pytest.mark.parametrize("command", ["diff", "ci"])
def test_a_mistyped_base_results_file_fails_before_the_head_is_run(
    command: str, repo: Path, fake_llm: FakeLLM, cli: Cli
) -> None:
    code, _, err = run([command, "--base", "base-results.json", "--no-cache"], *cli)
    assert code == 2
    assert err.strip() == "error: base-results.json: results file not found"
    assert fake_llm.calls["openai"] == 0  # nothing was spent on the head first


@pytest.mark.parametrize(
    "args",
    [
        ["diff", "--base", "main", "--output", "{bad}/x.md"],
        ["ci", "--base", "main", "--report", "{bad}/r.md"],
        ["ci", "--base", "main", "--html", "{bad}/r.html"],
    ],
    ids=["diff-output", "ci-report", "ci-html"],
)
def test_an_unwritable_report_path_fails_before_anything_is_spent(
    args: list[str], repo: Path, fake_llm: FakeLLM, cli: Cli
) -> None:
    (repo / "blocker").write_text("a file, so nothing can be created below it")
    bad = str(repo / "blocker")
    code, _, err = run([a.format(bad=bad) for a in args] + ["--no-cache"], *cli)
    assert code == 2, err
    assert err.startswith(f"error: cannot write {bad}/"), err
    assert err.rstrip().endswith(f"{bad} is a file, not a directory"), err
    assert fake_llm.calls["openai"] == 0


@pytest.mark.parametrize("command", ["diff", "ci"])
def test_a_filter_that_selects_no_test_on_the_head_is_exit_2(
    command: str, repo: Path, fake_llm: FakeLLM, cli: Cli
) -> None:
    """Not an "inconclusive" pass with nothing compared: the filter is named."""
    code, _, err = run([command, "--base", "main", "--test", "no-such-test*"], *cli)
    assert code == 2 and "no test matches --test 'no-such-test*'" in err, err
    assert fake_llm.calls["openai"] == 0
