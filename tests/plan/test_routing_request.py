"""Routing expressions, request building and the per-provider limiter."""

from __future__ import annotations

import asyncio

import pytest

from promptctl.errors import PromptctlError
from promptctl.plan.request import build_chat_request
from promptctl.plan.routing import choose_target
from promptctl.promptfile.chat import ChatMessage, ResponseFormat
from promptctl.promptfile.model import ModelConfig, OutputSpec, Route, Target
from promptctl.providers.limits import ProviderLimiter

MODEL = ModelConfig(
    use="openai/gpt-4o-mini",
    params={"temperature": 0},
    routes=(
        Route(when="customer_tier == 'enterprise'", use="openai/gpt-4o"),
        Route(when="ticket | length > 20", use="anthropic/claude-sonnet-4-5"),
    ),
)


def test_first_true_route_wins_else_primary() -> None:
    assert (
        choose_target(MODEL, {"customer_tier": "enterprise", "ticket": "x" * 50}).use
        == "openai/gpt-4o"
    )
    long = choose_target(MODEL, {"customer_tier": "free", "ticket": "x" * 50})
    assert long.use == "anthropic/claude-sonnet-4-5" and long.params == {"temperature": 0}
    assert (
        choose_target(MODEL, {"customer_tier": "free", "ticket": "short"}).use
        == "openai/gpt-4o-mini"
    )


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        ("customer_tier ==", "invalid route expression"),
        ("missing_input == 1", "failed"),
        ("missing_input", "failed"),  # a bare undefined name is an error, not false
        ("customer_tier }}{{ customer_tier", "chunk after expression"),
        ("().__class__.__mro__", "failed"),
    ],
)
def test_bad_route_expressions_are_clear_errors(when: str, fragment: str) -> None:
    model = ModelConfig(use="openai/gpt-4o-mini", routes=(Route(when=when, use="openai/gpt-4o"),))
    with pytest.raises(PromptctlError) as info:
        choose_target(model, {"customer_tier": "free"})
    assert fragment in str(info.value)


def test_build_chat_request_merges_params_and_output() -> None:
    target = Target(use="anthropic/claude-haiku-4-5", params={"max_tokens": 300, "top_k": 5})
    schema = {"type": "object"}
    request = build_chat_request(
        target,
        [ChatMessage("user", "Hi")],
        base_params={"temperature": 0, "max_tokens": 100, "stop": "END", "seed": 9},
        output=OutputSpec(format="json", schema=schema),
    )
    assert (request.provider, request.model) == ("anthropic", "claude-haiku-4-5")
    assert request.temperature == 0.0 and request.max_tokens == 300 and request.seed == 9
    assert request.stop == ("END",)
    assert request.extra == {"top_k": 5}
    assert request.response_format == ResponseFormat("json_schema", schema=schema)
    plain = build_chat_request(target, [], base_params={}, output=OutputSpec(format="json"))
    assert plain.response_format == ResponseFormat("json")


def test_rpm_limiter_waits_for_the_window() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    async def go() -> None:
        limiter = ProviderLimiter(max_concurrency=4, rpm=2, clock=lambda: now[0], sleep=sleep)
        for _ in range(3):
            async with limiter.slot():
                now[0] += 1.0

    asyncio.run(go())
    assert waits == [58.0]  # third request waits until the first leaves the 60 s window


def test_concurrency_limit_bounds_in_flight_calls() -> None:
    in_flight, peak = 0, 0

    async def go() -> None:
        limiter = ProviderLimiter(
            max_concurrency=3, rpm=None, clock=lambda: 0.0, sleep=asyncio.sleep
        )

        async def one() -> None:
            nonlocal in_flight, peak
            async with limiter.slot():
                in_flight += 1
                peak = max(peak, in_flight)
                await asyncio.sleep(0.005)
                in_flight -= 1

        await asyncio.gather(*(one() for _ in range(12)))

    asyncio.run(go())
    assert peak == 3


def test_route_errors_carry_the_route_location() -> None:
    from pathlib import Path

    from promptctl.errors import RenderError, SourceLocation
    from promptctl.plan.routing import RouteError

    where = SourceLocation(Path("p.yaml"), 7, 7)
    for when in ("tier ==", "tier == 1"):
        model = ModelConfig(
            use="openai/gpt-4o-mini",
            routes=(Route(when=when, use="openai/gpt-4o", location=where),),
        )
        with pytest.raises(RouteError) as info:
            choose_target(model, {})
        assert isinstance(info.value, RenderError)
        assert info.value.location == where
        assert str(info.value).startswith("p.yaml:7:7: ")


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        ("(ticket * 100000)|list|map('center', 100000)|list|length > 0", "the value piped into"),
        ("(ticket * 1000)|map('upper')|map('center', 100000)|join|length > 0", "|join"),
    ],
)
def test_a_route_that_would_exhaust_memory_is_refused_at_its_location(
    when: str, fragment: str
) -> None:
    """A `when` expression runs under the same limits as a template's render."""
    from pathlib import Path

    from promptctl.errors import SourceLocation
    from promptctl.plan.routing import RouteError

    where = SourceLocation(Path("p.yaml"), 9, 11)
    model = ModelConfig(
        use="openai/gpt-4o-mini", routes=(Route(when=when, use="openai/gpt-4o", location=where),)
    )
    with pytest.raises(RouteError) as info:
        choose_target(model, {"ticket": "x" * 100})
    assert str(info.value).startswith("p.yaml:9:11: route `when` failed:")
    assert "template refused" in str(info.value) and fragment in str(info.value)
