"""Golden cost examples per provider, price history, overrides and unknown models."""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

import pytest

from promptctl.promptfile.model import PriceOverride, Project
from promptctl.providers.pricing import Price, cost_usd, known_prices, price_for
from promptctl.providers.types import Usage


def test_openai_cached_tokens_are_inside_prompt_tokens() -> None:
    price = price_for("openai/gpt-4o")
    assert price is not None and (price.input, price.output, price.cached_input) == (
        2.5,
        10.0,
        1.25,
    )
    # 10,000 prompt tokens of which 8,000 cached, 500 out: 2000*2.5 + 8000*1.25 + 500*10 = 20,000
    usage = Usage(input_tokens=10_000, output_tokens=500, cached_input_tokens=8_000)
    assert cost_usd(usage, price) == pytest.approx(0.02)


def test_anthropic_cache_read_and_5m_and_1h_writes() -> None:
    price = price_for("anthropic/claude-sonnet-4-5-20250929")
    assert price is not None and price.model == "claude-sonnet-4-5"
    # raw: input 200, cache_read 5000, cache_creation 3000 (1000 of them 1h), output 400
    usage = Usage(
        input_tokens=8_200,
        output_tokens=400,
        cached_input_tokens=5_000,
        cache_write_tokens=3_000,
        cache_write_1h_tokens=1_000,
    )
    # 200*3 + 5000*.3 + 2000*3.75 + 1000*6 + 400*15 = 600 + 1500 + 7500 + 6000 + 6000 = 21,600
    assert cost_usd(usage, price) == pytest.approx(0.0216)


def test_gemini_thoughts_billed_as_output_and_cached_read() -> None:
    price = price_for("gemini/gemini-2.5-pro")
    assert price is not None
    # prompt 4000 (cached 3000), candidates 200 + thoughts 800 = 1000 output
    usage = Usage(
        input_tokens=4_000, output_tokens=1_000, cached_input_tokens=3_000, reasoning_tokens=800
    )
    # 1000*1.25 + 3000*.125 + 1000*10 = 1250 + 375 + 10000 = 11,625
    assert cost_usd(usage, price) == pytest.approx(0.011625)


def test_gemini_long_context_tier() -> None:
    price = price_for("gemini/gemini-2.5-pro")
    usage = Usage(input_tokens=250_000, output_tokens=1_000)
    # above 200k every token pays the tier: 250000*2.5 + 1000*15 = 640,000
    assert cost_usd(usage, price) == pytest.approx(0.64)


def test_price_history_by_date() -> None:
    before = price_for("openai/o3", at=datetime.date(2025, 5, 1))
    after = price_for("openai/o3", at=datetime.date(2025, 7, 1))
    assert before is not None and after is not None
    assert (before.input, before.output) == (10.0, 40.0)
    assert (after.input, after.output, after.effective_from) == (2.0, 8.0, "2025-06-10")
    assert after.source.startswith("genai-prices ")


def test_unknown_model_is_none_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    assert price_for("openai/no-such-model-xyz") is None
    with caplog.at_level(logging.WARNING, logger="promptctl.providers"):
        assert cost_usd(Usage(100, 100), None, target="openai/no-such-model-xyz") is None
    assert "openai/no-such-model-xyz" in caplog.text


def test_project_overrides_win(tmp_path: Path) -> None:
    project = Project(
        root=tmp_path,
        pricing={
            "openai/gpt-4o-mini": PriceOverride(input=1.0, output=2.0),
            "local/my-model": PriceOverride(input=0.0, output=0.0),
        },
    )
    price = price_for("openai/gpt-4o-mini", project)
    assert price == Price("openai/gpt-4o-mini", 1.0, 2.0, source="promptctl.yaml")
    assert cost_usd(Usage(1_000_000, 0, cached_input_tokens=500_000), price) == pytest.approx(1.0)
    assert cost_usd(Usage(100, 100), price_for("local/my-model", project)) == 0.0
    listed = dict(known_prices(project))
    assert listed["local/my-model"].source == "promptctl.yaml"
    assert listed["anthropic/claude-haiku-4-5"].input == 1.0


def test_azure_falls_back_to_openai_prices(tmp_path: Path) -> None:
    from promptctl.promptfile.model import ProviderSettings

    project = Project(root=tmp_path, providers={"az": ProviderSettings("az", "azure", "https://x")})
    price = price_for("az/gpt-4o-mini-2024-07-18", project)
    assert price is not None and (price.input, price.output) == (0.15, 0.6)
