"""On context_length, fallbacks whose known window is not larger are skipped without a call."""

from __future__ import annotations

import pytest
from provider_helpers import Harness, chat

from fakes.llm_server import FakeLLM
from promptctl.errors import ProviderError
from promptctl.promptfile.model import Project


def test_fallbacks_with_no_larger_window_are_skipped(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.context_length(wire="openai")
    harness = Harness(fake_project, fake_env)
    response = harness.run(
        chat("openai/gpt-4o"),  # 128k
        [
            chat("openai/gpt-4o-mini"),  # 128k: not larger
            chat("openai/gpt-4o-mini-2024-07-18"),  # dated id of a 128k model
            chat("mistral/mistral-small-latest"),  # 32k: smaller
            chat("anthropic/claude-haiku-4-5"),  # 200k: tried
        ],
    )
    assert response.target == "anthropic/claude-haiku-4-5"
    assert fake_llm.calls["openai"] == 1 and fake_llm.calls["anthropic"] == 1
    tried = [(s.target, s.reason, s.message) for s in response.fallbacks_tried]
    assert tried[0][:2] == ("openai/gpt-4o", "context_length")
    assert tried[1:] == [
        ("openai/gpt-4o-mini", "context_length", "window 128k is not larger than 128k"),
        (
            "openai/gpt-4o-mini-2024-07-18",
            "context_length",
            "window 128k is not larger than 128k",
        ),
        ("mistral/mistral-small-latest", "context_length", "window 32k is not larger than 128k"),
    ]
    assert [r.target for r in harness.records] == ["openai/gpt-4o", "anthropic/claude-haiku-4-5"]


def test_unknown_windows_are_tried(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.context_length(wire="openai")
    fake_llm.context_length(wire="openai")
    harness = Harness(fake_project, fake_env)
    response = harness.run(
        chat("openai/gpt-4o"), [chat("local/llama3"), chat("openai/some-new-model")]
    )
    assert response.target == "openai/some-new-model"
    assert fake_llm.calls["openai"] == 3
    assert [s.target for s in response.fallbacks_tried] == ["openai/gpt-4o", "local/llama3"]


def test_an_unknown_failing_window_skips_nothing(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.context_length(wire="openai")
    harness = Harness(fake_project, fake_env)
    response = harness.run(chat("local/llama3"), [chat("openai/gpt-4o-mini")])
    assert response.target == "openai/gpt-4o-mini"
    assert fake_llm.calls["openai"] == 2


def test_the_largest_overflowed_window_is_the_bar(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.context_length(wire="openai")
    fake_llm.context_length(wire="anthropic")
    harness = Harness(fake_project, fake_env)
    response = harness.run(
        chat("openai/gpt-4o"),
        [chat("anthropic/claude-haiku-4-5"), chat("openai/o4-mini"), chat("gemini/gemini-2.5-pro")],
    )
    assert response.target == "gemini/gemini-2.5-pro"
    skipped = response.fallbacks_tried[2]
    assert (skipped.target, skipped.message) == (
        "openai/o4-mini",
        "window 200k is not larger than 200k",
    )


def test_all_fallbacks_skipped_raises_context_length(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.context_length(wire="openai")
    harness = Harness(fake_project, fake_env)
    with pytest.raises(ProviderError) as info:
        harness.run(chat("openai/gpt-4o"), [chat("openai/gpt-4o-mini")])
    assert info.value.kind == "context_length"
    assert "window 128k is not larger than 128k" in info.value.message
    assert fake_llm.calls["openai"] == 1
