from __future__ import annotations

import pytest

from promptctl.evals.budget import Budget, estimate_cost, estimate_request_cost


def test_estimate_cost() -> None:
    # 4000 chars -> 1000 input tokens at $2/M; 300 output tokens at $10/M
    assert estimate_cost(4000, 300, 2.0, 10.0) == pytest.approx(0.002 + 0.003)
    # no max_tokens: 512 output tokens assumed; chars round up to whole tokens
    assert estimate_cost(5, None, 1.0, 1.0) == pytest.approx((2 + 512) / 1_000_000)
    assert estimate_cost(4000, 300, None, 10.0) is None
    assert estimate_cost(4000, 300, 2.0, None) is None


def test_budget_stops_before_the_estimate_would_pass() -> None:
    budget = Budget(max_cost_usd=0.10)
    assert budget.try_reserve(0.04)
    assert budget.try_reserve(0.04)
    assert not budget.try_reserve(0.04)  # 0.12 > 0.10
    assert budget.stopped and budget.skipped == 1
    # once stopped, later (even cheap) cases are skipped too: a prefix, not a random subset
    assert not budget.try_reserve(0.001)
    assert budget.skipped == 2
    budget.settle(0.04, 0.01)
    budget.settle(0.04, None)  # unknown actual keeps the estimate
    assert budget.spent == pytest.approx(0.05)
    assert budget.reserved == pytest.approx(0.0)
    assert budget.remaining == pytest.approx(0.05)


def test_budget_exact_fit_and_settling_frees_room() -> None:
    budget = Budget(max_cost_usd=0.10)
    assert budget.try_reserve(0.06)
    budget.settle(0.06, 0.02)
    assert budget.try_reserve(0.08)  # 0.02 spent + 0.08 = 0.10, not above
    assert not budget.stopped


def test_unlimited_and_unpriced() -> None:
    unlimited = Budget()
    assert all(unlimited.try_reserve(1000.0) for _ in range(5))
    assert unlimited.remaining is None and unlimited.skipped == 0
    limited = Budget(max_cost_usd=0.0)
    assert limited.try_reserve(None)
    assert limited.unpriced == 1
    assert not limited.try_reserve(0.0001)


def test_estimate_request_cost_uses_message_chars_and_max_tokens() -> None:
    from promptctl.plan.request import ChatRequest
    from promptctl.promptfile.chat import ChatMessage

    request = ChatRequest(
        provider="openai",
        model="m",
        messages=(ChatMessage("system", "x" * 2000), ChatMessage("user", "y" * 2000)),
        max_tokens=100,
    )
    assert estimate_request_cost(request, 1.0, 2.0) == pytest.approx((1000 + 200) / 1_000_000)
