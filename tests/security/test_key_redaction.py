"""Keys never reach a message or an artifact: the CLI against a leaky fake provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM, fake_providers
from promptctl.errors import PromptctlError
from promptctl.runtime import Runtime
from runtime.helpers import prompt, write_bundle

# A key with no well-known shape (Azure/Mistral style): only the configured value can find it.
KEY = "f3c9e1a7b2d84c6e9a0b1c2d3e4f5a6b7c8d"
PROMPT = """\
id: demo/qa
version: 1.0.0
model:
  use: openai/gpt-4o-mini
  params: {max_tokens: 20}
messages:
  - user: "hello"
tests:
  - name: greets
    assert:
      - {type: contains, value: hello}
"""


def _fragments(key: str, size: int = 8) -> set[str]:
    return {key[i : i + size] for i in range(len(key) - size + 1)}


def _leaks(text: str | bytes) -> list[str]:
    data = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return sorted(f for f in _fragments(KEY) if f in data)


def _files_leaking(root: Path) -> dict[str, list[str]]:
    out = {}
    for path in root.rglob("*"):
        if path.is_file():
            found = _leaks(path.read_bytes())
            if found:
                out[str(path.relative_to(root))] = found
    return out


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0, timeout_s: 5}\n"
    )
    (tmp_path / "prompts" / "demo").mkdir(parents=True)
    (tmp_path / "prompts" / "demo" / "qa.yaml").write_text(PROMPT)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("offset", [150, 170, 184])
def test_error_body_cut_mid_key_leaks_no_fragment(
    project: Path,
    fake_llm: FakeLLM,
    offset: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # a non-JSON error page whose key straddles the 200-character excerpt
    page = "<html>" + "x" * (offset - 6) + f"key {KEY} rejected</html>"
    fake_llm.raw(page.encode(), status=500)
    code, out, err = run(["test", "--output", "r.json", "--junit", "j.xml"], monkeypatch, capsys)
    assert code == 3, out + err
    assert "HTTP 500" in out + err  # the error is reported, only the key is gone
    assert _leaks(out + err) == []
    assert _files_leaking(project) == {}
    doc = json.loads((project / "r.json").read_text())
    assert "[redacted" in doc["cases"][0]["error"]["message"]


def test_json_error_message_with_the_key_is_redacted(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_llm.error(400, message=f"Incorrect API key provided: {KEY[:30]}")
    code, out, err = run(["test", "--output", "r.json", "--junit", "j.xml"], monkeypatch, capsys)
    assert code == 3
    assert "Incorrect API key provided: [redacted]" in out + err
    assert _leaks(out + err) == [] and _files_leaking(project) == {}


def test_server_echoing_headers_puts_the_key_in_no_artifact(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_llm.echo_headers()
    args = ["test", "--mode", "record", "--output", "r.json", "--junit", "j.xml"]
    code, out, err = run(args, monkeypatch, capsys)
    assert code == 1, out + err  # the echo is not "hello": a failure, shown with its output
    assert "authorization" in out  # the answer is printed…
    assert fake_llm.requests[0].headers["authorization"] == f"Bearer {KEY}"  # …and was sent
    assert _leaks(out + err) == []
    recordings = list((project / "evals" / "recordings").rglob("*.json"))
    assert len(recordings) == 1 and "[redacted]" in recordings[0].read_text()
    assert (project / ".promptctl" / "cache.sqlite").exists()
    assert _files_leaking(project) == {}  # recordings, cache, ledger, runs, results, JUnit
    # a second run answers from the cache: still nothing
    code, out, err = run(["test", "--output", "r2.json"], monkeypatch, capsys)
    assert code == 1 and _leaks(out + err) == [] and _files_leaking(project) == {}


def test_credentials_in_base_url_are_refused_at_config_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        "  local:\n"
        "    kind: openai-compatible\n"
        "    base_url: 'https://bob:hunter2secret@llm.example.com/v1'\n"
    )
    monkeypatch.chdir(tmp_path)
    for args in (["providers"], ["test"], ["lint"]):
        code, out, err = run(args, monkeypatch, capsys)
        assert code == 2, (args, out, err)
        assert "hunter2secret" not in out + err
        assert "promptctl.yaml:4" in err and "base_url holds credentials" in err
        assert "api_key_env" in err
        assert "Traceback" not in err


def test_runtime_provider_override_with_credentials_in_base_url_is_refused(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    bundle = tmp_path / "app.bundle.json"
    write_bundle(bundle, [prompt()], fake_providers(fake_llm))
    override = {"openai": {"base_url": "https://bob:hunter2secret@proxy.example/v1"}}
    with pytest.raises(PromptctlError, match="base_url holds credentials") as info:
        Runtime.load(bundle, env={}, providers=override, ledger=False)
    assert "hunter2secret" not in str(info.value)


def test_bundle_refuses_credentials_in_base_url(fake_llm: FakeLLM) -> None:
    import dataclasses

    from promptctl.bundle.format import build_bundle
    from promptctl.errors import BundleError

    providers = fake_providers(fake_llm)
    providers["openai"] = dataclasses.replace(
        providers["openai"], base_url="https://bob:hunter2secret@proxy.example/v1"
    )
    with pytest.raises(BundleError, match="holds credentials") as info:
        build_bundle(
            [prompt()], providers=providers, eval_summaries={}, git_commit=None, created_from="t"
        )
    assert "hunter2secret" not in str(info.value)
