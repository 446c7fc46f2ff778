import json
from pathlib import Path

import pytest

from bundle.helpers import make_prompt, summary_row
from fakes.results_factory import run_info
from promptctl.errors import PublishError
from promptctl.promptfile.model import Project
from promptctl.publish.checks import (
    eval_summaries,
    find_results_docs,
    git_unclean_inputs,
    publish_refusals,
    required_targets,
)
from promptctl.publish.codeowners import owners_for


def _results(*rows, started="2026-11-20T10:00:00Z", interrupted=False, run_id="r1"):  # type: ignore[no-untyped-def]
    return {
        "schema": "promptctl/results@1",
        "run": run_info(run_id, started_at=started, interrupted=interrupted),
        "cases": [],
        "summary": list(rows),
    }


def _refusals(prompts, *, docs=None, dirty=(), lint=None, index=None, targets="primary"):  # type: ignore[no-untyped-def]
    return publish_refusals(
        prompts,
        dirty_paths=list(dirty),
        lint_errors_by_prompt=lint or {},
        results_docs=docs if docs is not None else [_results(*(summary_row(p) for p in prompts))],
        release_index=index or {"published": {}},
        eval_targets=targets,
    )


def test_clean_approved_passing_prompt_has_no_refusal() -> None:
    assert _refusals([make_prompt()]) == []


def test_each_reason_gets_its_own_line() -> None:
    p = make_prompt(status="draft")
    reasons = _refusals(
        [p],
        docs=[],
        dirty=["prompts/support/triage.yaml"],
        lint={"support/triage": ["messages[0]: undefined variable 'tikcet'"]},
        index={
            "published": {"support/triage@1.3.0": {"content_hash": "sha256:old", "bundle": "b"}}
        },
    )
    assert reasons == [
        "uncommitted changes to prompts/support/triage.yaml; commit them first",
        "support/triage@1.3.0 is draft, not approved",
        "support/triage@1.3.0 has 1 lint error(s): messages[0]: undefined variable 'tikcet'",
        "support/triage@1.3.0 has no eval result on openai/gpt-4o-mini (its primary target) "
        f"for its content hash {p.content_hash}; "
        "run `promptctl test support/triage --target openai/gpt-4o-mini`",
        "support/triage@1.3.0 is already published with sha256:old (in b); bump the version",
    ]


def test_result_for_another_content_hash_does_not_count() -> None:
    p = make_prompt()
    other = summary_row(p, content_hash="sha256:" + "0" * 64)
    assert "no eval result" in _refusals([p], docs=[_results(other)])[0]


def test_a_pass_on_another_target_does_not_qualify() -> None:
    p = make_prompt()  # runs on openai/gpt-4o-mini
    docs = [_results(summary_row(p, target="anthropic/claude-3-5-haiku-latest"))]
    reasons = _refusals([p], docs=docs)
    assert len(reasons) == 1
    assert reasons[0].startswith(
        "support/triage@1.3.0 has no eval result on openai/gpt-4o-mini (its primary target)"
    )


def test_a_failing_experiment_on_an_unused_target_does_not_block() -> None:
    p = make_prompt()
    primary = _results(summary_row(p), started="2026-11-01T00:00:00Z")
    experiment = _results(
        summary_row(p, target="mistral/large", passed=0, failed=3),
        started="2026-11-05T00:00:00Z",
        run_id="later",
    )
    assert _refusals([p], docs=[primary, experiment]) == []
    rows = eval_summaries([p], [primary, experiment])[p.content_hash]
    assert [r["target"] for r in rows] == ["openai/gpt-4o-mini"]


def test_the_newest_run_on_the_primary_target_decides() -> None:
    p = make_prompt()
    old_pass = _results(summary_row(p), started="2026-11-01T00:00:00Z", run_id="old")
    new_fail = _results(
        summary_row(p, passed=2, failed=1), started="2026-11-02T00:00:00Z", run_id="new"
    )
    assert _refusals([p], docs=[old_pass, new_fail]) == [
        "support/triage@1.3.0 did not pass its eval on openai/gpt-4o-mini in run new: 1 failed"
        " (the newest run decides: fix it, then `promptctl test support/triage --target"
        " openai/gpt-4o-mini`)"
    ]


def test_all_targets_mode_requires_routes_and_fallbacks() -> None:
    p = make_prompt()  # route openai/gpt-4o, fallback anthropic/claude-3-5-haiku-latest
    assert required_targets(p) == ["openai/gpt-4o-mini"]
    assert required_targets(p, "all") == [
        "openai/gpt-4o-mini",
        "openai/gpt-4o",
        "anthropic/claude-3-5-haiku-latest",
    ]
    only_primary = [_results(summary_row(p))]
    reasons = _refusals([p], docs=only_primary, targets="all")
    assert [r.split(" (")[0] for r in reasons] == [
        "support/triage@1.3.0 has no eval result on openai/gpt-4o",
        "support/triage@1.3.0 has no eval result on anthropic/claude-3-5-haiku-latest",
    ]
    failing_fallback = summary_row(p, target="anthropic/claude-3-5-haiku-latest", failed=1)
    every = [_results(summary_row(p), summary_row(p, target="openai/gpt-4o"), failing_fallback)]
    assert [r.split(" (")[0] for r in _refusals([p], docs=every, targets="all")] == [
        "support/triage@1.3.0 did not pass its eval on anthropic/claude-3-5-haiku-latest "
        "in run r1: 1 failed"
    ]
    assert _refusals([p], docs=every) == []  # primary mode: the fallback does not block


def test_errors_or_skips_are_not_a_pass() -> None:
    p = make_prompt()
    docs = [_results(summary_row(p, passed=2, errors=1))]
    assert _refusals([p], docs=docs)[0].split(" (")[0].endswith("1 errors")


def test_newest_run_decides_and_interrupted_runs_are_ignored() -> None:
    p = make_prompt()
    old_pass = _results(summary_row(p), started="2026-11-01T00:00:00Z", run_id="old")
    new_fail = _results(summary_row(p, passed=0, failed=3), started="2026-11-02T00:00:00Z")
    cut = _results(
        summary_row(p, passed=0, failed=3), started="2026-11-03T00:00:00Z", interrupted=True
    )
    assert "did not pass" in _refusals([p], docs=[old_pass, new_fail, cut])[0]
    assert _refusals([p], docs=[old_pass, cut]) == []
    assert eval_summaries([p], [old_pass, cut])[p.content_hash][0]["passed"] == 3


def test_same_version_same_hash_is_not_an_immutability_problem() -> None:
    p = make_prompt()
    index = {"published": {"support/triage@1.3.0": {"content_hash": p.content_hash}}}
    assert _refusals([p], index=index) == []


def test_find_results_docs_skips_junk_in_runs_but_not_named_files(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "a.json").write_text(json.dumps(_results()))
    (runs / "partial.json").write_text('{"schema": "promptctl/res')
    (runs / "other.json").write_text('{"schema": "something/else"}')
    assert len(find_results_docs(runs)) == 1
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(_results(run_id="x")))
    assert [d["run"]["id"] for d in find_results_docs(runs, [extra])] == ["r1", "x"]
    with pytest.raises(PublishError, match="not a promptctl/results@1"):
        find_results_docs(runs, [runs / "other.json"])


def test_find_results_docs_uses_the_results_reader(tmp_path: Path) -> None:
    """Structural checks of evals.results apply: a runs/ file they reject is skipped."""
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "a.json").write_text(json.dumps(_results()))
    bad_case = {**_results(run_id="b"), "cases": [{"prompt": "p"}]}
    (runs / "b.json").write_text(json.dumps(bad_case))
    assert [d["run"]["id"] for d in find_results_docs(runs)] == ["r1"]
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": "promptctl/results@1",\n "cases": [}')
    with pytest.raises(PublishError) as info:
        find_results_docs(runs, [broken])
    assert f"{broken}:2:" in str(info.value)
    with pytest.raises(PublishError, match="cases\\[0\\] lacks"):
        find_results_docs(runs, [runs / "b.json"])


def _project(root: Path) -> Project:
    config = root / "promptctl.yaml"
    return Project(
        root=root,
        config_path=config if config.exists() else None,
        prompts_dir=root / "prompts",
    )


def test_git_unclean_sees_modified_staged_and_untracked_prompts(git_project) -> None:  # type: ignore[no-untyped-def]
    root, repo = git_project
    assert git_unclean_inputs(_project(root)) == []
    (root / "prompts" / "faq.yaml").write_text("id: faq\nversion: 2\n")
    (root / "prompts" / "support" / "new.yaml").write_text("id: new\n")
    (root / "README.md").write_text("changed outside prompts\n")
    (root / "prompts" / "support" / "triage.yaml").write_text("changed\n")
    repo.index.add(["prompts/support/triage.yaml"])
    assert git_unclean_inputs(_project(root)) == [
        f"uncommitted changes to {path}; commit them first"
        for path in ("prompts/faq.yaml", "prompts/support/new.yaml", "prompts/support/triage.yaml")
    ]


def test_git_unclean_refuses_ignored_inputs_and_a_dirty_config(git_project) -> None:  # type: ignore[no-untyped-def]
    root, repo = git_project
    (root / "promptctl.yaml").write_text("prompts: prompts\n")
    (root / ".gitignore").write_text(
        "*.j2\nprompts/scratch.yaml\n*.swp\nprompts/.cache/\nprompts/gen/\nprompts/notes/\n"
        "prompts/_partials/local/\n"
    )
    (root / "CODEOWNERS").write_text("/prompts/ @acme/leads\n")
    repo.index.add(["promptctl.yaml", ".gitignore", "CODEOWNERS"])
    repo.index.commit("config")
    assert git_unclean_inputs(_project(root)) == []
    for folder in ("_partials/local", ".cache", "gen", "notes"):
        (root / "prompts" / folder).mkdir(parents=True)
    (root / "prompts" / "_partials" / "tone.j2").write_text("Be rude.\n")
    (root / "prompts" / "_partials" / "local" / "rules.txt").write_text("Refund all.\n")
    (root / "prompts" / "scratch.yaml").write_text("id: scratch\n")
    (root / "prompts" / "gen" / "made.yaml").write_text("id: made\n")
    (root / "prompts" / ".triage.yaml.swp").write_text("editor junk, not an input\n")
    (root / "prompts" / ".cache" / "x.yaml").write_text("hidden folder: not read\n")
    (root / "prompts" / "notes" / "todo.txt").write_text("not a prompt file\n")
    (root / "promptctl.yaml").write_text("providers: {openai: {base_url: http://evil/v1}}\n")
    (root / "CODEOWNERS").write_text("/prompts/ @mallory\n")
    reasons = git_unclean_inputs(_project(root))
    ignored = (
        "is ignored by git but would go into the bundle; commit it (`git add -f`) or remove it"
    )
    assert reasons == [
        "uncommitted changes to CODEOWNERS; commit them first",
        "uncommitted changes to promptctl.yaml; commit them first",
        f"prompts/_partials/local/ {ignored}",
        f"prompts/_partials/tone.j2 {ignored}",
        f"prompts/gen/ {ignored}",
        f"prompts/scratch.yaml {ignored}",
    ]


def test_outside_git_is_a_clear_refusal(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="not inside a git repository"):
        git_unclean_inputs(_project(tmp_path))


def test_codeowners_last_match_wins(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text(
        "# owners\n* @acme/all\n/prompts/support/ @acme/support\n*.md @acme/docs\n"
    )
    prompt = tmp_path / "prompts" / "support" / "triage.yaml"
    assert owners_for(tmp_path, prompt) == "@acme/support"
    assert owners_for(tmp_path, tmp_path / "prompts" / "faq.yaml") == "@acme/all"
    assert owners_for(tmp_path, tmp_path / "x" / "README.md") == "@acme/docs"


def test_no_codeowners_file_means_no_approver(tmp_path: Path) -> None:
    assert owners_for(tmp_path, tmp_path / "prompts" / "a.yaml") is None
