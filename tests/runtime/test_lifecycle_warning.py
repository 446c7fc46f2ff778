"""The runtime logs one warning per model that is past or near its shutdown date."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.promptfile.model import Target
from promptctl.providers import lifecycle
from promptctl.runtime import Runtime

from .helpers import prompt, write_bundle


def test_one_warning_per_retiring_model(
    tmp_path: Path,
    fake_llm: FakeLLM,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lifecycle, "_warned", set())
    path = tmp_path / "b.bundle.json"
    retiring = Target(use="anthropic/claude-opus-4-5")
    prompts = [
        prompt("a/one", use="openai/gpt-4o-mini", fallbacks=[retiring]),
        prompt("a/two", use="anthropic/claude-opus-4-5"),
        prompt("a/three", use="openai/gpt-4o"),
    ]
    write_bundle(path, prompts, fake_providers(fake_llm))
    env = {"PROMPTCTL_TODAY": "2026-12-05"}
    with caplog.at_level(logging.WARNING, "promptctl"):
        Runtime.load(path, env=env, ledger=False).close()
        Runtime.load(path, env=env, ledger=False).close()  # a second load says nothing new
    said = [r.getMessage() for r in caplog.records if "model lifecycle" in r.getMessage()]
    assert said == [
        "model lifecycle: anthropic/claude-opus-4-5 shuts down on 2027-01-22 (in 48 days); "
        "replacement anthropic/claude-opus-5-5 "
        "(source: https://docs.anthropic.com/en/docs/about-claude/model-deprecations)"
    ]


def test_nothing_is_said_for_active_models(
    tmp_path: Path,
    fake_llm: FakeLLM,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lifecycle, "_warned", set())
    path = tmp_path / "b.bundle.json"
    write_bundle(path, [prompt(use="anthropic/claude-opus-4-5")], fake_providers(fake_llm))
    with caplog.at_level(logging.WARNING, "promptctl"):
        Runtime.load(path, env={"PROMPTCTL_TODAY": "2026-09-01"}, ledger=False).close()
    assert not [r for r in caplog.records if "model lifecycle" in r.getMessage()]
