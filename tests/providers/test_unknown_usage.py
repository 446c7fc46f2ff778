"""A response without readable token usage has an unknown cost (None), not $0.00."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import pytest
from provider_helpers import Harness, chat

from fakes.llm_server import FakeLLM
from promptctl.promptfile.model import PriceOverride, Project
from promptctl.providers.types import ChatResponse

TARGETS = {
    "openai": "openai/gpt-4o-mini",
    "anthropic": "anthropic/claude-haiku-4-5",
    "gemini": "gemini/gemini-2.5-flash",
}
BAD_USAGE: list[tuple[str, Any]] = [
    ("openai", None),
    ("openai", [1]),
    ("openai", {"prompt_tokens": "abc", "completion_tokens": 5}),
    ("openai", {"prompt_tokens": 10}),
    ("openai", {"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": 3}),
    ("anthropic", None),
    ("anthropic", [1]),
    ("anthropic", {"input_tokens": "abc", "output_tokens": 5}),
    ("anthropic", {"input_tokens": 10, "output_tokens": True}),
    ("gemini", None),
    ("gemini", {"candidatesTokenCount": 5}),
    ("gemini", {"promptTokenCount": -1, "candidatesTokenCount": 5}),
    # counts no call has: a ~$10**24 ledger row, and one SQLite cannot store (it made the
    # ledger drop the whole batch the row was in)
    ("openai", {"prompt_tokens": 10**30, "completion_tokens": 5}),
    ("anthropic", {"input_tokens": 10, "output_tokens": 1e300}),
    ("gemini", {"promptTokenCount": 10, "candidatesTokenCount": 2_000_000_000}),
]


def _two_calls(harness: Harness, target: str) -> list[ChatResponse]:
    async def go() -> list[ChatResponse]:
        try:
            return [await harness.gateway.complete(chat(target), repeat=n) for n in (0, 1)]
        finally:
            await harness.gateway.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize(("wire", "usage"), BAD_USAGE)
def test_unreadable_usage_makes_cost_unknown_and_warns_once(
    fake_llm: FakeLLM,
    fake_project: Project,
    fake_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    wire: str,
    usage: Any,
) -> None:
    fake_llm.usage[wire] = usage
    harness = Harness(fake_project, fake_env)
    with caplog.at_level(logging.WARNING, logger="promptctl.providers.answer_cost"):
        responses = _two_calls(harness, TARGETS[wire])
    assert [r.text for r in responses] == ["hello from fake"] * 2  # the answer is kept
    assert [r.cost_usd for r in responses] == [None, None]
    assert [r.cost_usd for r in harness.records] == [None, None]  # the ledger sees it too
    warnings = [r.getMessage() for r in caplog.records if "usage" in r.getMessage()]
    assert warnings == [f"{TARGETS[wire]} sent no readable token usage: its cost is unknown"]


@pytest.mark.parametrize("wire", sorted(TARGETS))
def test_readable_usage_is_priced(
    fake_llm: FakeLLM,
    fake_project: Project,
    fake_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    with caplog.at_level(logging.WARNING, logger="promptctl.providers.answer_cost"):
        response = Harness(fake_project, fake_env).run(chat(TARGETS[wire]))
    assert response.usage.input_tokens == 10 and response.usage.output_tokens == 5
    assert response.cost_usd is not None and response.cost_usd > 0
    assert caplog.records == []


def test_optional_counts_may_be_absent_or_null(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.usage["anthropic"] = {
        "input_tokens": 10,
        "output_tokens": 5,
        "cache_read_input_tokens": None,
        "cache_creation_input_tokens": 4,
    }
    response = Harness(fake_project, fake_env).run(chat("anthropic/claude-haiku-4-5"))
    assert response.usage.input_tokens == 14 and response.usage.cache_write_tokens == 4
    assert response.cost_usd is not None


@pytest.mark.parametrize("free", [True, False])
def test_a_model_priced_at_zero_costs_zero_without_usage(
    fake_llm: FakeLLM,
    fake_project: Project,
    fake_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    free: bool,
) -> None:
    """A local model priced at 0 (llama-cpp-python streams report no usage) costs $0, not
    "unknown"; a cheap but non-zero price still needs the usage."""
    rate = 0.0 if free else 0.01
    pricing = {"openai/gpt-4o-mini": PriceOverride(input=rate, output=0.0)}
    project = dataclasses.replace(fake_project, pricing=pricing)
    fake_llm.usage["openai"] = None
    harness = Harness(project, fake_env)
    with caplog.at_level(logging.WARNING, logger="promptctl.providers.answer_cost"):
        responses = _two_calls(harness, "openai/gpt-4o-mini")
    expected = 0.0 if free else None
    assert [r.cost_usd for r in responses] == [expected, expected]
    assert [r.cost_usd for r in harness.records] == [expected, expected]
    assert [r.usage_known for r in responses] == [False, False]  # still said as it is
    warned = [r.getMessage() for r in caplog.records if "usage" in r.getMessage()]
    unknown = "openai/gpt-4o-mini sent no readable token usage: its cost is unknown"
    assert warned == ([] if free else [unknown])
