"""A target whose API key is unset is skipped like a failed one; none set fails up front."""

from __future__ import annotations

import random

import pytest
from provider_helpers import Harness, chat

from fakes.llm_server import FakeLLM
from promptctl.errors import ProviderError
from promptctl.promptfile.model import Project
from promptctl.providers.gateway import Gateway
from promptctl.providers.types import SkippedTarget

OPENAI = "openai/gpt-4o-mini"
ANTHROPIC = "anthropic/claude-haiku-4-5"
GEMINI = "gemini/gemini-2.5-flash"


def _without(env: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in names}


def test_primary_with_key_answers_and_keyless_fallback_is_never_called(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    harness = Harness(fake_project, _without(fake_env, "ANTHROPIC_API_KEY"))
    response = harness.run(chat(OPENAI), [chat(ANTHROPIC)])
    assert response.target == OPENAI and response.fallbacks_tried == ()
    assert fake_llm.calls["openai"] == 1 and fake_llm.calls["anthropic"] == 0


def test_keyless_fallback_is_skipped_and_the_next_one_answers(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    for _ in range(4):  # first attempt + max_retries=3
        fake_llm.error(503, wire="openai")
    harness = Harness(fake_project, _without(fake_env, "ANTHROPIC_API_KEY"))
    response = harness.run(chat(OPENAI), [chat(ANTHROPIC), chat(GEMINI)])
    assert response.target == GEMINI
    assert [(s.target, s.reason) for s in response.fallbacks_tried] == [
        (OPENAI, "overloaded"),  # 503
        (ANTHROPIC, "config"),
    ]
    assert response.fallbacks_tried[1] == SkippedTarget(
        ANTHROPIC, "config", "ANTHROPIC_API_KEY is not set"
    )
    assert fake_llm.calls == {"openai": 4, "gemini": 1}
    # no ledger record for a target that was never called
    assert ANTHROPIC not in {r.target for r in harness.records}


def test_sync_path_skips_a_keyless_target_the_same_way(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.error(503, wire="openai")
    gateway = Gateway(
        fake_project,
        env=_without(fake_env, "ANTHROPIC_API_KEY"),
        use_cache=False,
        sync_sleep=lambda _: None,
        rng=random.Random(1),
    )
    try:
        response = gateway.complete_sync(chat(ANTHROPIC), fallbacks=[chat(OPENAI)])
    finally:
        gateway.close()
    assert response.target == OPENAI and response.attempts == 2
    assert response.fallbacks_tried == (
        SkippedTarget(ANTHROPIC, "config", "ANTHROPIC_API_KEY is not set"),
    )
    assert fake_llm.calls == {"openai": 2}


@pytest.mark.parametrize("blocking", [False, True])
def test_no_key_anywhere_fails_before_any_request_naming_every_variable(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str], blocking: bool
) -> None:
    env = _without(fake_env, "OPENAI_API_KEY", "ANTHROPIC_API_KEY")
    chain = (chat(OPENAI), [chat(ANTHROPIC), chat("openai/gpt-4o")])
    with pytest.raises(ProviderError) as info:
        if blocking:
            gateway = Gateway(fake_project, env=env, use_cache=False)
            try:
                gateway.complete_sync(chain[0], fallbacks=chain[1])
            finally:
                gateway.close()
        else:
            Harness(fake_project, env).run(*chain)
    message = str(info.value)
    assert info.value.kind == "config"
    assert f"OPENAI_API_KEY ({OPENAI}, openai/gpt-4o) or ANTHROPIC_API_KEY ({ANTHROPIC})" in message
    assert not any(value in message for value in fake_env.values())
    assert fake_llm.requests == []


def test_single_target_without_key_is_a_config_error(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    with pytest.raises(ProviderError) as info:
        Harness(fake_project, _without(fake_env, "ANTHROPIC_API_KEY")).run(chat(ANTHROPIC))
    assert info.value.kind == "config"
    assert "ANTHROPIC_API_KEY is not set" in str(info.value)
    assert info.value.hint is not None and "export ANTHROPIC_API_KEY=" in info.value.hint
    assert fake_llm.requests == []


def test_missing_key_is_not_retried_nor_opens_the_circuit(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    env = _without(fake_env, "ANTHROPIC_API_KEY")  # the gateway reads this dict on each call
    harness = Harness(fake_project, env, breaker_threshold=1)
    for _ in range(3):
        assert harness.run(chat(ANTHROPIC), [chat(OPENAI)]).target == OPENAI
    assert harness.waits == []
    env["ANTHROPIC_API_KEY"] = fake_env["ANTHROPIC_API_KEY"]
    response = harness.run(chat(ANTHROPIC), [chat(OPENAI)])
    assert response.target == ANTHROPIC and response.fallbacks_tried == ()
    assert fake_llm.calls == {"openai": 3, "anthropic": 1}


@pytest.mark.parametrize("mode", ["replay", "auto"])
def test_recorded_answers_need_no_key(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str], mode: str
) -> None:
    request, fallbacks = chat(OPENAI), [chat(ANTHROPIC)]
    Harness(fake_project, fake_env, mode="record").run(request, fallbacks)
    assert fake_llm.calls == {"openai": 1}
    response = Harness(fake_project, {}, mode=mode).run(request, fallbacks)
    assert response.cached and response.target == OPENAI
    assert fake_llm.calls == {"openai": 1}
