import json
from pathlib import Path

import pytest

from bundle.helpers import make_prompt, summary_row
from fakes.results_factory import run_info
from promptctl.bundle.signing import generate_keypair, verify_bundle
from promptctl.errors import PublishError
from promptctl.promptfile.model import Project, Prompt
from promptctl.publish.flow import publish


def _setup(root: Path, *prompts: Prompt, passing: bool = True) -> Project:
    runs = root / ".promptctl" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    rows = [summary_row(p, **({} if passing else {"passed": 1, "failed": 2})) for p in prompts]
    doc = {
        "schema": "promptctl/results@1",
        "run": run_info("run-1", started_at="2026-11-20T10:00:00Z"),
        "cases": [],
        "summary": rows,
    }
    (runs / "run-1.json").write_text(json.dumps(doc))
    (root / ".gitignore").write_text(".promptctl/\nreleases/\n")
    return Project(root=root, prompts_dir=root / "prompts", releases_dir=root / "releases")


def _prompts(root: Path) -> list[Prompt]:
    return [make_prompt(root=root), make_prompt("faq", "0.1.0", root=root, template="Q {{ q }}")]


def test_publish_writes_a_bundle_that_verifies(git_project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    root, repo = git_project
    prompts = _prompts(root)
    project = _setup(root, *prompts)
    (root / "CODEOWNERS").write_text("/prompts/support/ @acme/support-leads\n")
    repo.index.add(["CODEOWNERS"])  # it names the approver in the bundle: committed
    repo.index.commit("owners")
    private, public = generate_keypair(root.parent / "keys")
    result = publish(project, prompts, lint_errors_by_prompt={}, sign_key=private)
    assert result.path.parent == root / "releases"
    assert result.path.read_bytes() == result.data
    assert result.new_versions == ("faq@0.1.0", "support/triage@1.3.0")  # bundle order: by id
    verified = verify_bundle(result.path.read_bytes(), public_key=public)
    entries = {e["id"]: e for e in verified.doc["prompts"]}
    assert entries["support/triage"]["provenance"]["approver"] == "@acme/support-leads"
    assert entries["faq"]["provenance"]["approver"] == "support-team"  # owner, no match
    assert entries["faq"]["provenance"]["git_commit"] == repo.head.commit.hexsha
    assert entries["faq"]["source"] == "prompts/faq.yaml"
    assert entries["faq"]["provenance"]["evals"][0]["pass_rate"] == 1.0


def test_two_publishes_give_the_same_bytes(git_project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    root, _ = git_project
    project = _setup(root, *_prompts(root))
    first = publish(project, _prompts(root), lint_errors_by_prompt={})
    second = publish(project, list(reversed(_prompts(root))), lint_errors_by_prompt={})
    assert first.data == second.data and first.path == second.path
    assert second.new_versions == ()


def test_dry_run_checks_and_builds_but_writes_nothing(git_project) -> None:  # type: ignore[no-untyped-def]
    root, _ = git_project
    project = _setup(root, *_prompts(root))
    result = publish(project, _prompts(root), lint_errors_by_prompt={}, dry_run=True)
    assert result.dry_run and not result.path.exists()
    assert not (root / "releases").exists()


def test_every_refusal_is_reported_at_once_and_nothing_written(git_project) -> None:  # type: ignore[no-untyped-def]
    root, _ = git_project
    draft = make_prompt(root=root, status="draft")
    project = _setup(root, draft, passing=False)
    (root / "prompts" / "faq.yaml").write_text("edited\n")
    with pytest.raises(PublishError) as info:
        publish(
            project,
            [draft],
            lint_errors_by_prompt={"support/triage": ["bad"]},
            sign_key=root / "missing.key",
        )
    reasons = info.value.reasons
    assert reasons[0].startswith("cannot read signing key")
    assert "uncommitted changes to prompts/faq.yaml; commit them first" in reasons
    assert "support/triage@1.3.0 is draft, not approved" in reasons
    assert any("lint error" in r for r in reasons)
    assert any("did not pass its eval" in r and "2 failed" in r for r in reasons)
    assert not (root / "releases").exists()


def test_changed_content_without_version_bump_is_refused(git_project) -> None:  # type: ignore[no-untyped-def]
    root, _ = git_project
    original = make_prompt(root=root)
    project = _setup(root, original)
    publish(project, [original], lint_errors_by_prompt={})
    changed = make_prompt(root=root, template="New {{ ticket }}")
    _setup(root, changed)
    with pytest.raises(PublishError, match=r"already published with sha256:.*bump the version"):
        publish(project, [changed], lint_errors_by_prompt={})


def test_results_file_passed_in_counts(git_project) -> None:  # type: ignore[no-untyped-def]
    root, _ = git_project
    p = make_prompt(root=root)
    project = _setup(root, p, passing=False)
    (root / ".promptctl" / "runs" / "run-1.json").unlink()
    extra = root.parent / "ci-results.json"
    extra.write_text(
        json.dumps(
            {
                "schema": "promptctl/results@1",
                "run": run_info("ci"),
                "cases": [],
                "summary": [summary_row(p)],
            }
        )
    )
    assert publish(project, [p], lint_errors_by_prompt={}, results_files=[extra]).new_versions


def test_outside_git_publish_is_refused(tmp_path: Path) -> None:
    p = make_prompt(root=tmp_path)
    project = _setup(tmp_path, p)
    with pytest.raises(PublishError, match="not inside a git repository"):
        publish(project, [p], lint_errors_by_prompt={})


def test_a_release_carries_the_previous_prompts_and_dry_run_shows_it(git_project) -> None:  # type: ignore[no-untyped-def]
    root, _ = git_project
    triage, faq = _prompts(root)
    project = _setup(root, triage, faq)
    first = publish(project, [triage], lint_errors_by_prompt={})
    assert first.sequence == 1 and first.carried == ()
    before = sorted(p.name for p in (root / "releases").iterdir())
    planned = publish(project, [faq], lint_errors_by_prompt={}, dry_run=True)
    assert planned.sequence == 2 and not planned.path.exists()
    assert planned.carried == (first.identities[0],)
    assert sorted(p.name for p in (root / "releases").iterdir()) == before
    second = publish(project, [faq], lint_errors_by_prompt={})
    assert second.data == planned.data and second.path == planned.path
    assert [e["id"] for e in second.doc["prompts"]] == ["faq", "support/triage"]
    # the triage entry is the first release's, verbatim (its provenance included)
    assert second.doc["prompts"][1] == first.doc["prompts"][0]
    dropped = publish(project, [], lint_errors_by_prompt={}, remove=["faq"])
    assert dropped.sequence == 3 and dropped.removed == (second.identities[0],)
    assert [e["id"] for e in dropped.doc["prompts"]] == ["support/triage"]


def test_a_bad_results_file_is_the_only_reason_when_the_runs_pass(git_project) -> None:  # type: ignore[no-untyped-def]
    # The run in .promptctl/runs/ passed: the refusal names the missing file, and does
    # not also claim the prompt has no eval result.
    root, _ = git_project
    p = make_prompt(root=root)
    project = _setup(root, p)
    with pytest.raises(PublishError) as refused:
        publish(project, [p], lint_errors_by_prompt={}, results_files=[root / "nope.json"])
    assert len(refused.value.reasons) == 1
    assert refused.value.reasons[0].startswith("not a promptctl/results@1 document: ")
    assert "nope.json" in refused.value.reasons[0]
