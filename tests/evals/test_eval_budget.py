from __future__ import annotations

import asyncio

import pytest

from promptctl.evals.budget import (
    DEFAULT_OUTPUT_TOKENS,
    MESSAGE_OVERHEAD_TOKENS,
    Budget,
    estimate_chain_cost,
    estimate_cost,
    estimate_request_cost,
)


def test_estimate_cost() -> None:
    # 1000 input tokens at $2/M; 300 output tokens at $10/M
    assert estimate_cost(1000, 300, 2.0, 10.0) == pytest.approx(0.002 + 0.003)
    # no max_tokens: the output is bounded at DEFAULT_OUTPUT_TOKENS
    assert estimate_cost(2, None, 1.0, 1.0) == pytest.approx((2 + DEFAULT_OUTPUT_TOKENS) / 1e6)
    assert estimate_cost(1000, 300, None, 10.0) is None
    assert estimate_cost(1000, 300, 2.0, None) is None
    assert estimate_chain_cost([None, 0.002, 0.005]) == 0.005
    assert estimate_chain_cost([None, None]) is None


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


def test_estimate_request_cost_bounds_input_by_utf8_bytes() -> None:
    from promptctl.plan.request import ChatRequest
    from promptctl.promptfile.chat import ChatMessage

    request = ChatRequest(
        provider="openai",
        model="m",
        # 2000 ASCII bytes and 2000 three-byte characters: at most one token per byte
        messages=(ChatMessage("system", "x" * 2000), ChatMessage("user", "語" * 2000)),
        max_tokens=100,
    )
    input_tokens = 2000 + 6000 + 2 * MESSAGE_OVERHEAD_TOKENS
    assert estimate_request_cost(request, 1.0, 2.0) == pytest.approx((input_tokens + 200) / 1e6)


def test_reserve_waits_for_cases_in_flight_then_stops_at_the_cap() -> None:
    async def scenario() -> list[str]:
        budget = Budget(max_cost_usd=0.10)
        events: list[str] = []
        assert await budget.reserve(0.06)  # in flight
        waiter = asyncio.create_task(budget.reserve(0.06))  # does not fit beside it
        await asyncio.sleep(0)
        assert not waiter.done()
        budget.settle(0.06, 0.01)  # the first settles cheaply: room again
        assert await waiter
        events.append(f"spent {budget.spent:.2f} reserved {budget.reserved:.2f}")
        budget.settle(0.06, 0.095)  # actual spend passes the cap: stop for good
        assert budget.stopped
        assert not await budget.reserve(0.0001)
        events.append(f"skipped {budget.skipped} in flight {budget.in_flight}")
        return events

    assert asyncio.run(scenario()) == ["spent 0.01 reserved 0.06", "skipped 1 in flight 0"]


def test_a_case_that_cannot_fit_with_nothing_in_flight_stops_the_budget() -> None:
    async def scenario() -> Budget:
        budget = Budget(max_cost_usd=0.05)
        assert not await budget.reserve(0.06)
        return budget

    budget = asyncio.run(scenario())
    assert budget.stopped and budget.skipped == 1 and budget.reserved == 0.0
