"""Shared fixtures: the fake LLM server and a project wired to it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Make the shared test helpers in tests/fakes importable as `fakes.<module>`.
_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from fakes.llm_server import FakeLLM, fake_providers  # noqa: E402
from promptctl.promptfile.model import Project  # noqa: E402

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
