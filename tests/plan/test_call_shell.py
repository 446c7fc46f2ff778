"""`plan_call` builds a target's message-independent request part once per loaded prompt
and target, and the requests it hands out are exactly what a fresh build gives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from promptctl.errors import PromptFileError
from promptctl.plan import call as call_module
from promptctl.plan.call import plan_call
from promptctl.plan.request import build_chat_request
from promptctl.promptfile.model import (
    MessageTemplate,
    ModelConfig,
    OutputSpec,
    Prompt,
    Route,
    Target,
)

OWN = (MessageTemplate(role="user", template="Own: {{ q }}"),)


def _prompt(**model: object) -> Prompt:
    return Prompt(
        id="p",
        version="1.0.0",
        path=Path("p.yaml"),
        model=ModelConfig(
            use="openai/gpt-4o-mini",
            params={"temperature": 0, "max_tokens": 10, "top_k": 3},
            **model,  # type: ignore[arg-type]
        ),
        messages=(MessageTemplate(role="user", template="Q: {{ q }}"),),
        inputs={"q": {"type": "string"}},
        output=OutputSpec(format="json", schema={"type": "object", "b": 1, "a": 2}),
    )


def test_requests_equal_a_fresh_build_and_the_shell_is_built_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prompt = _prompt(
        routes=(Route(when="q == 'vip'", use="anthropic/claude"),),
        fallbacks=(Target(use="gemini/flash", params={"temperature": 1}, messages=OWN),),
    )
    built: list[str] = []
    real = call_module.build_chat_request

    def counting(target: Target, *args: object, **kwargs: object) -> object:
        built.append(target.use)
        return real(target, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(call_module, "build_chat_request", counting)
    for q in ("a", "b", "vip", "c", "vip"):
        plan = plan_call(prompt, {"q": q})
        for target, request in zip(plan.targets, plan.chain, strict=True):
            fresh = build_chat_request(
                target,
                request.messages,
                base_params=prompt.model.params,
                output=prompt.output,
                tools=prompt.tools,
                tool_choice=prompt.tool_choice,
            )
            assert request == fresh
            assert request.cache_key() == dataclasses.replace(fresh).cache_key()
        assert plan.request.messages[0].content == f"Q: {q}"
        assert plan.fallbacks[-1].messages[0].content == f"Own: {q}"
        assert plan.fallbacks[-1].temperature == 1.0
    assert sorted(built) == ["anthropic/claude", "gemini/flash", "openai/gpt-4o-mini"]


def test_another_prompt_object_gets_its_own_shell_and_bad_params_still_raise() -> None:
    first = _prompt()
    changed = dataclasses.replace(
        first, model=dataclasses.replace(first.model, params={"temperature": 0.5})
    )
    assert plan_call(first, {"q": "x"}).request.temperature == 0.0
    assert plan_call(changed, {"q": "x"}).request.temperature == 0.5
    broken = dataclasses.replace(
        first, model=dataclasses.replace(first.model, params={"temperature": "hot"})
    )
    for _ in range(2):  # not cached as a success
        with pytest.raises(PromptFileError, match="temperature"):
            plan_call(broken, {"q": "x"})
