"""`providers.<name>.deadline_s` in promptctl.yaml bounds chains starting at that provider."""

from __future__ import annotations

from pathlib import Path

import pytest
from provider_helpers import Harness, chat

from fakes.llm_server import FakeLLM
from promptctl.errors import ConfigError
from promptctl.promptfile.project import load_project


def _config(tmp_path: Path, fake: FakeLLM, openai_extra: str) -> Path:
    config = tmp_path / "promptctl.yaml"
    config.write_text(
        "providers:\n"
        f"  openai: {{base_url: '{fake.openai_base}'{openai_extra}}}\n"
        f"  anthropic: {{base_url: '{fake.anthropic_base}'}}\n"
    )
    return config


def test_deadline_s_loads_with_600_default(tmp_path: Path, fake_llm: FakeLLM) -> None:
    project = load_project(_config(tmp_path, fake_llm, ", deadline_s: 12.5"))
    assert project.providers["openai"].deadline_s == 12.5
    assert project.providers["anthropic"].deadline_s == 600


def test_deadline_s_must_be_positive(tmp_path: Path, fake_llm: FakeLLM) -> None:
    with pytest.raises(ConfigError, match="deadline_s"):
        load_project(_config(tmp_path, fake_llm, ", deadline_s: 0"))


def test_configured_deadline_fails_over_instead_of_waiting(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    project = load_project(_config(tmp_path, fake_llm, ", deadline_s: 10"))
    fake_llm.rate_limit(retry_after="30", wire="openai")
    harness = Harness(project, fake_env)
    response = harness.run(chat("openai/gpt-4o-mini"), [chat("anthropic/claude-haiku-4-5")])
    assert harness.waits == []
    assert response.target == "anthropic/claude-haiku-4-5"
    assert response.fallbacks_tried[0].reason == "rate_limit"


def test_default_deadline_lets_the_wait_happen(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    project = load_project(_config(tmp_path, fake_llm, ""))
    fake_llm.rate_limit(retry_after="30", wire="openai")
    harness = Harness(project, fake_env)
    response = harness.run(chat("openai/gpt-4o-mini"), [chat("anthropic/claude-haiku-4-5")])
    assert harness.waits == [30.0]
    assert response.target == "openai/gpt-4o-mini"


def test_deadline_is_the_first_targets_providers(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    # a chain starting at anthropic (600 s) waits out openai's 30 s hint even though
    # openai's own deadline_s is 10
    project = load_project(_config(tmp_path, fake_llm, ", deadline_s: 10"))
    fake_llm.auth_error(wire="anthropic")
    fake_llm.rate_limit(retry_after="30", wire="openai")
    harness = Harness(project, fake_env)
    response = harness.run(chat("anthropic/claude-haiku-4-5"), [chat("openai/gpt-4o-mini")])
    assert harness.waits == [30.0]
    assert response.target == "openai/gpt-4o-mini"
    assert response.fallbacks_tried[0].reason == "auth"
