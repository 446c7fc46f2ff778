"""A model priced only in promptctl.yaml's `pricing:` is priced by the runtime too."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.bundle.format import build_bundle, serialize
from promptctl.errors import BundleError
from promptctl.promptfile.model import PriceOverride
from promptctl.runtime import Runtime

from .helpers import prompt

TARGET = "local/house-model"  # in no shipped price table


def _bundle(path: Path, fake: FakeLLM, pricing: dict[str, PriceOverride]) -> None:
    doc = build_bundle(
        [prompt(use=TARGET)],
        providers=fake_providers(fake, max_retries=0),
        eval_summaries={},
        git_commit=None,
        created_from="test",
        pricing=pricing,
    )
    path.write_bytes(serialize(doc))


def test_runtime_uses_the_bundles_pricing(
    tmp_path: Path, fake_llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    bundle = tmp_path / "app.bundle.json"
    pricing = {
        TARGET: PriceOverride(input=2.0, output=10.0),
        "anthropic/unused": PriceOverride(input=1.0, output=1.0),  # provider not used: left out
    }
    _bundle(bundle, fake_llm, pricing)
    doc = json.loads(bundle.read_text())
    assert list(doc["pricing"]) == [TARGET]
    with caplog.at_level(logging.WARNING), Runtime.load(bundle, ledger=False) as rt:
        result = rt.run("support/triage", ticket="t")
    # the fake reports 10 input and 5 output tokens
    assert result.cost_usd == pytest.approx((10 * 2.0 + 5 * 10.0) / 1e6)
    assert not [r for r in caplog.records if "no price" in r.getMessage()]


def test_without_pricing_the_runtime_warns_once_per_target(
    tmp_path: Path, fake_llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    bundle = tmp_path / "app.bundle.json"
    _bundle(bundle, fake_llm, {})
    assert "pricing" not in json.loads(bundle.read_text())
    with caplog.at_level(logging.WARNING), Runtime.load(bundle, ledger=False) as rt:
        for _ in range(3):
            assert rt.run("support/triage", ticket="t").cost_usd is None
    warnings = [r.getMessage() for r in caplog.records if "no price" in r.getMessage()]
    assert len(warnings) == 1 and TARGET in warnings[0]


def test_pricing_is_under_the_digest(tmp_path: Path, fake_llm: FakeLLM) -> None:
    bundle = tmp_path / "app.bundle.json"
    _bundle(bundle, fake_llm, {TARGET: PriceOverride(input=2.0, output=10.0)})
    bundle.write_text(bundle.read_text().replace('"output": 10.0', '"output": 0.0'))
    with pytest.raises(BundleError, match="digest"):
        Runtime.load(bundle, ledger=False)
