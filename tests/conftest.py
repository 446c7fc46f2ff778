"""Shared fixtures: the fake LLM server and a project wired to it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fakes.llm_server import FakeLLM
from promptctl.spec.model import Project, ProviderSettings

FAKE_KEYS = {
    "OPENAI_API_KEY": "sk-test-openai-0123456789abcdef",
    "ANTHROPIC_API_KEY": "sk-ant-test-0123456789abcdef",
    "GEMINI_API_KEY": "AIzaFakeGeminiKey0123456789abcdef",
    "AZURE_OPENAI_API_KEY": "azure-secret-0123456789abcdef",
}


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    """A running fake LLM server (OpenAI, Anthropic, Gemini wire formats)."""
    server = FakeLLM().start()
    try:
        yield server
    finally:
        server.stop()


def fake_providers(fake: FakeLLM, **overrides: Any) -> dict[str, ProviderSettings]:
    """Provider settings pointing at the fake; `overrides` apply to every provider."""
    providers = [
        ProviderSettings("openai", "openai", fake.openai_base, "OPENAI_API_KEY"),
        ProviderSettings("anthropic", "anthropic", fake.anthropic_base, "ANTHROPIC_API_KEY"),
        ProviderSettings("gemini", "gemini", fake.gemini_base, "GEMINI_API_KEY"),
        ProviderSettings("local", "openai-compatible", fake.openai_base, None),
        ProviderSettings("mistral", "openai-compatible", fake.openai_base, None, dialect="mistral"),
        ProviderSettings(
            "azure", "azure", fake.base_url, "AZURE_OPENAI_API_KEY", api_version="2024-10-21"
        ),
    ]
    common: dict[str, Any] = {"timeout_s": 2.0, "max_retries": 3, **overrides}
    return {p.name: replace(p, **common) for p in providers}


@pytest.fixture
def fake_project(tmp_path: Path, fake_llm: FakeLLM) -> Project:
    """A project in tmp_path whose providers all talk to `fake_llm`."""
    return Project(
        root=tmp_path,
        evals_dir=tmp_path / "evals",
        providers=fake_providers(fake_llm),
    )


@pytest.fixture
def fake_env() -> dict[str, str]:
    """Fake API keys for every provider of `fake_project`."""
    return dict(FAKE_KEYS)
