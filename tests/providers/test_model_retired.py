"""A retired or unknown model is its own error kind: no retries, immediate failover, said once."""

from __future__ import annotations

import json
import logging

import pytest
from provider_helpers import Harness, chat

from fakes.llm_server import FakeLLM
from promptctl.errors import ProviderError
from promptctl.promptfile.model import Project
from promptctl.providers.base import load_adapter


@pytest.mark.parametrize(
    ("kind", "status", "body"),
    [
        (
            "openai",
            404,
            {
                "error": {
                    "message": "The model `gpt-4-32k` does not exist",
                    "code": "model_not_found",
                }
            },
        ),
        (
            "anthropic",
            404,
            {"type": "error", "error": {"type": "not_found_error", "message": "model: claude-2.1"}},
        ),
        (
            "gemini",
            404,
            {
                "error": {
                    "code": 404,
                    "status": "NOT_FOUND",
                    "message": "models/gemini-1.0-pro is not found for API version v1beta",
                }
            },
        ),
        ("openai", 400, {"error": {"message": "The model text-davinci-003 has been deprecated"}}),
    ],
)
def test_vendor_refusals_are_model_retired(kind: str, status: int, body: object) -> None:
    with pytest.raises(ProviderError) as info:
        load_adapter(kind).parse_response(status, {}, json.dumps(body).encode())
    assert info.value.kind == "model_retired" and not info.value.retryable


def test_a_404_that_does_not_name_a_model_stays_not_found() -> None:
    body = json.dumps({"error": {"message": "Invalid URL (POST /v1/chat/completion)"}}).encode()
    with pytest.raises(ProviderError) as info:
        load_adapter("openai").parse_response(404, {}, body)
    assert info.value.kind == "not_found"


def test_fails_over_at_once_without_retries_and_skips_it_afterwards(
    fake_llm: FakeLLM,
    fake_project: Project,
    fake_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_llm.model_retired("gpt-4-32k", wire="openai")
    harness = Harness(fake_project, fake_env)  # max_retries 3 on every provider
    fallback = chat("anthropic/claude-haiku-4-5")
    with caplog.at_level(logging.WARNING, "promptctl"):
        first = harness.run(chat("openai/gpt-4-32k"), [fallback])
        second = harness.run(chat("openai/gpt-4-32k", ("user", "again")), [fallback])
    assert fake_llm.calls["openai"] == 1  # one request, no retry, not asked again
    assert fake_llm.calls["anthropic"] == 2 and harness.waits == []
    for response in (first, second):
        assert response.target == "anthropic/claude-haiku-4-5"
        assert [s.reason for s in response.fallbacks_tried] == ["model_retired"]
    retired = [r for r in caplog.records if "retired or unknown" in r.getMessage()]
    assert len(retired) == 1
    assert "switch to openai/gpt-4o" in retired[0].getMessage()
    assert "failing over at once, no retries" in retired[0].getMessage()


def test_without_a_fallback_the_error_names_the_replacement(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.model_retired("claude-3-opus-20240229", wire="anthropic")
    harness = Harness(fake_project, fake_env)
    with pytest.raises(ProviderError) as info:
        harness.run(chat("anthropic/claude-3-opus-20240229"))
    assert info.value.kind == "model_retired" and fake_llm.calls["anthropic"] == 1
    assert info.value.hint is not None
    assert "switch to anthropic/claude-opus-4-5" in info.value.hint


def test_a_new_project_forgets_retired_targets(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    """A runtime reload swaps the gateway's project: a fixed deployment is tried again."""
    from dataclasses import replace

    fake_llm.model_retired("gpt-4o-mini", wire="openai")
    harness = Harness(fake_project, fake_env)
    fallback = chat("anthropic/claude-haiku-4-5")
    harness.run(chat("openai/gpt-4o-mini"), [fallback])
    harness.run(chat("openai/gpt-4o-mini", ("user", "2")), [fallback])
    assert fake_llm.calls["openai"] == 1
    harness.gateway.project = replace(fake_project)
    answered = harness.run(chat("openai/gpt-4o-mini", ("user", "3")), [fallback])
    assert fake_llm.calls["openai"] == 2 and answered.target == "openai/gpt-4o-mini"
