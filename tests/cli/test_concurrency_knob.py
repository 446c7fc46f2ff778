"""`--concurrency N` is the one knob: provider defaults never cut it silently."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM

CASES = 40


def _project(root: Path, fake: FakeLLM, limit: str = "") -> None:
    (root / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake.openai_base}',"
        f" api_key_env: OPENAI_API_KEY, max_retries: 0{limit}}}\n"
    )
    tests = "".join(f"  - {{name: t{i}, vars: {{q: q{i}}}}}\n" for i in range(CASES))
    (root / "prompts").mkdir()
    (root / "prompts" / "p.yaml").write_text(
        "id: p\nversion: 1.0.0\nmodel: {use: openai/gpt-4o-mini}\n"
        "inputs: {q: {type: string}}\nmessages:\n  - user: '{{ q }}'\n"
        f"tests:\n{tests}"
    )


def _notes(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the run told the user (warnings reach stderr through logging's last resort)."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def _connections(fake: FakeLLM) -> int:
    """Connections the run opened: each is reused, so this is the peak of calls in flight."""
    return len({r.peer for r in fake.requests})


@pytest.fixture
def fake(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeLLM:
    fake_llm.latency_s = 0.2  # every call is still in flight when the last one starts
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-concurrency-0123456789")
    monkeypatch.chdir(tmp_path)
    return fake_llm


def test_concurrency_raises_a_providers_default_limit(
    fake: FakeLLM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _project(tmp_path, fake)
    code, _, err = run(["test", "--quiet", "--concurrency", "32"], monkeypatch, capsys)
    assert code == 0, err
    assert fake.calls["openai"] == CASES
    assert _connections(fake) > 16  # the provider's default (16) did not cut it
    assert _connections(fake) <= 32
    assert _notes(caplog) == []


def test_without_the_flag_the_provider_default_applies(
    fake: FakeLLM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.latency_s = 0.05  # an upper bound: 40 calls at once would still break it
    _project(tmp_path, fake)
    code, _, err = run(["test", "--quiet"], monkeypatch, capsys)
    assert code == 0, err
    assert _connections(fake) <= 16


def test_a_configured_limit_stays_and_is_noted(
    fake: FakeLLM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.latency_s = 0.05  # an upper bound: 40 calls at once would still break it
    _project(tmp_path, fake, ", max_concurrency: 4")
    code, _, err = run(["test", "--quiet", "--concurrency", "32"], monkeypatch, capsys)
    assert code == 0, err
    assert _connections(fake) <= 4
    assert _notes(caplog) == [
        "note: --concurrency 32, but at most 4 calls at once go to openai "
        "(providers.openai.max_concurrency in promptctl.yaml)"
    ]


def test_a_configured_limit_above_the_flag_says_nothing(
    fake: FakeLLM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.latency_s = 0.05  # an upper bound: 40 calls at once would still break it
    _project(tmp_path, fake, ", max_concurrency: 64")
    code, _, err = run(["test", "--quiet", "--concurrency", "8"], monkeypatch, capsys)
    assert code == 0, err
    assert _connections(fake) <= 8
    assert _notes(caplog) == []


def test_compare_takes_the_same_knob(
    fake: FakeLLM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # `compare --help` documents the flag as `test` does: default 64, raising the
    # provider's default limit (it used to run at 16 whatever the flag said).
    _project(tmp_path, fake)
    argv = ["compare", "p", "-c", "openai/gpt-4o", "--concurrency", "32", "--format", "json"]
    code, _, err = run(argv, monkeypatch, capsys)
    assert code == 0, err
    assert fake.calls["openai"] == 2 * CASES
    assert 16 < _connections(fake) <= 32
    assert _notes(caplog) == []
