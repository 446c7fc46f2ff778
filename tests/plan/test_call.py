"""`plan_call`: the rules of docs/providers.md "Fallbacks", one by one."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptctl.errors import InputValidationError, RenderError
from promptctl.plan.call import plan_call, target_for
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.chat import ChatMessage
from promptctl.promptfile.model import MessageTemplate, ModelConfig, Prompt, Route, Target
from promptctl.providers.chain import distinct_targets

OWN = (MessageTemplate(role="user", template="Claude: {{ q }}"),)


def _prompt(**model: object) -> Prompt:
    return Prompt(
        id="p",
        version="1.0.0",
        path=Path("p.yaml"),
        model=ModelConfig(
            use="openai/gpt-4o-mini",
            params={"temperature": 0, "max_tokens": 10},
            **model,  # type: ignore[arg-type]
        ),
        messages=(MessageTemplate(role="user", template="Q: {{ q }} ({{ tier }})"),),
        inputs={"q": {"type": "string"}, "tier": {"type": "string", "default": "free"}},
    )


def test_routes_then_fallbacks_without_repeats() -> None:
    prompt = _prompt(
        routes=(Route(when="tier == 'vip'", use="anthropic/claude"),),
        fallbacks=(
            Target(use="anthropic/claude", params={"temperature": 1}),
            Target(use="gemini/flash"),
            Target(use="gemini/flash", messages=OWN),
        ),
    )
    plan = plan_call(prompt, {"q": "hi", "tier": "vip"})
    assert [r.target for r in plan.chain] == ["anthropic/claude", "gemini/flash"]
    assert plan.values == {"q": "hi", "tier": "vip"}
    assert plan.request.messages == (ChatMessage("user", "Q: hi (vip)"),)
    # the route keeps the prompt's params; the fallback without messages shares the render
    assert (plan.request.temperature, plan.request.max_tokens) == (0.0, 10)
    assert plan.fallbacks[0].messages == plan.request.messages
    # without the route: the primary, then both distinct fallbacks
    plain = plan_call(prompt, {"q": "hi"})
    assert [r.target for r in plain.chain] == [
        "openai/gpt-4o-mini",
        "anthropic/claude",
        "gemini/flash",
    ]
    assert plain.fallbacks[0].temperature == 1.0  # the fallback's own params win


def test_fallback_with_own_messages_renders_them() -> None:
    prompt = _prompt(fallbacks=(Target(use="anthropic/claude", params={"top_k": 3}, messages=OWN),))
    plan = plan_call(prompt, {"q": "hi"})
    assert plan.fallbacks[0].messages == (ChatMessage("user", "Claude: hi"),)
    assert plan.fallbacks[0].extra == {"top_k": 3}
    assert plan.request.extra == {}


def test_a_target_override_pins_the_call() -> None:
    prompt = _prompt(
        routes=(Route(when="true", use="openai/gpt-4o"),),
        fallbacks=(Target(use="anthropic/claude", messages=OWN),),
    )
    pinned = plan_call(prompt, {"q": "hi"}, target="anthropic/claude")
    assert [r.target for r in pinned.chain] == ["anthropic/claude"]
    assert pinned.messages == (ChatMessage("user", "Claude: hi"),)
    other = plan_call(prompt, {"q": "hi"}, target="gemini/flash")
    assert [r.target for r in other.chain] == ["gemini/flash"]
    assert other.request.max_tokens == 10  # the prompt's params
    # naming the prompt's own model changes nothing: routed, with fallbacks
    own = plan_call(prompt, {"q": "hi"}, target="openai/gpt-4o-mini")
    assert [r.target for r in own.chain] == ["openai/gpt-4o", "anthropic/claude"]
    assert target_for(prompt, "anthropic/claude") is prompt.model.fallbacks[0]


def test_inputs_are_validated_and_render_errors_raised() -> None:
    with pytest.raises(InputValidationError, match="missing required input 'q'"):
        plan_call(_prompt(), {})
    broken = (MessageTemplate(role="user", template="{{ nope }}"),)
    prompt = _prompt(fallbacks=(Target(use="anthropic/claude", messages=broken),))
    with pytest.raises(RenderError, match="undefined variable"):
        plan_call(prompt, {"q": "hi"})


def test_the_gateway_drops_a_repeated_target_too() -> None:
    def req(target: str, text: str) -> ChatRequest:
        provider, _, model = target.partition("/")
        return ChatRequest(provider, model, (ChatMessage("user", text),))

    chain = distinct_targets(req("a/x", "1"), [req("b/y", "2"), req("a/x", "3"), req("b/y", "4")])
    assert [(r.target, r.messages[0].content) for r in chain] == [("a/x", "1"), ("b/y", "2")]
