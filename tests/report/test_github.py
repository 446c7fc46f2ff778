import json
from pathlib import Path

import pytest

from fakes.github_api import serve
from promptctl.errors import ConfigError, ProviderError
from promptctl.report.diff_report import MARKER
from promptctl.report.github import pr_number, publish_report

TOKEN = "ghs_fake_token_123"


def _env(tmp_path: Path, api: str, **extra: str) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}), encoding="utf-8")
    return {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "acme/prompts",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": api,
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        **extra,
    }


def test_creates_then_updates_one_comment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(TOKEN) as gh:
        # unrelated comments fill more than one page, so the marker is searched across pages
        for i in range(3):
            gh.add_comment(7, f"looks good {i}")
        env = _env(tmp_path, gh.base_url)
        first = publish_report(f"❌ first\n\n{MARKER}\n", env=env)
        second = publish_report(f"✅ second\n\n{MARKER}\n", env=env)
        gh.add_comment(7, "later chatter")
        third = publish_report(f"✅ third\n\n{MARKER}\n", env=env)
    assert (first.action, second.action, third.action) == ("created", "updated", "updated")
    assert first.comment_id == second.comment_id == third.comment_id
    bodies = [c["body"] for c in gh.comments[7]]
    assert sum(MARKER in b for b in bodies) == 1
    assert f"✅ third\n\n{MARKER}\n" in bodies
    methods = [r.method for r in gh.requests]
    assert methods.count("POST") == 1 and methods.count("PATCH") == 2
    assert any("page=2" in r.path for r in gh.requests)  # followed the Link header
    for r in gh.requests:
        assert r.headers.get("Authorization") == f"Bearer {TOKEN}"
        assert TOKEN not in r.path and TOKEN not in r.body
        assert sum(TOKEN in v for v in r.headers.values()) == 1
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert summary.count(MARKER) == 3  # appended on each run


def test_bad_token_is_auth_error_without_the_token(tmp_path: Path) -> None:
    with serve("the-real-token") as gh:
        env = _env(tmp_path, gh.base_url, GITHUB_TOKEN="ghs_wrong_secret")
        with pytest.raises(ProviderError) as err:
            publish_report(f"x\n{MARKER}", env=env)
    assert err.value.kind == "auth"
    assert "ghs_wrong_secret" not in str(err.value)
    assert "pull-requests: write" in str(err.value)


def test_an_unreachable_api_is_a_network_error_without_the_token(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _env(tmp_path, f"http://127.0.0.1:{port}")
    with pytest.raises(ProviderError) as err:
        publish_report(f"x\n{MARKER}", env=env)
    assert err.value.kind == "network" and "GitHub API unreachable: ConnectError" in str(err.value)
    assert TOKEN not in str(err.value)


def test_pr_number_from_event_or_ref(tmp_path: Path) -> None:
    assert pr_number(_env(tmp_path, "http://x")) == 7
    assert pr_number({"GITHUB_REF": "refs/pull/42/merge"}) == 42
    with pytest.raises(ConfigError):
        pr_number({"GITHUB_REF": "refs/heads/main"})


@pytest.mark.parametrize("event", [b"[]", b"\xff\xfe not utf-8", b"{", b"null"])
def test_an_event_file_that_is_not_an_object_falls_back_to_the_ref(
    event: bytes, tmp_path: Path
) -> None:
    """A list, bytes that are not UTF-8: an AttributeError / UnicodeDecodeError before."""
    path = tmp_path / "event.json"
    path.write_bytes(event)
    env = {"GITHUB_EVENT_PATH": str(path), "GITHUB_REF": "refs/pull/9/merge"}
    assert pr_number(env) == 9


def test_missing_token_is_config_error(tmp_path: Path) -> None:
    env = _env(tmp_path, "http://127.0.0.1:9")
    del env["GITHUB_TOKEN"]
    with pytest.raises(ConfigError, match="GITHUB_TOKEN"):
        publish_report("x", env=env)
