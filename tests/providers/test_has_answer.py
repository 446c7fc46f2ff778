"""`Gateway.has_answer`: will `complete` answer without a call? Checked, never recorded."""

from __future__ import annotations

from provider_helpers import Harness, chat

from fakes.llm_server import FakeLLM
from promptctl.promptfile.model import Project


def test_cache_answers_only_the_same_repeat_and_asking_emits_nothing(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    request = chat("openai/gpt-4o-mini")
    harness = Harness(fake_project, fake_env, use_cache=True)
    assert not harness.gateway.has_answer(request)
    harness.run(request)
    assert harness.gateway.has_answer(request)
    assert not harness.gateway.has_answer(request, repeat=1)
    assert [r.outcome for r in harness.records] == ["ok"]  # the checks left no record
    assert fake_llm.calls["openai"] == 1
    # live never reuses an answer; without the cache there is nothing to reuse
    assert not Harness(fake_project, fake_env, mode="live").gateway.has_answer(request)
    assert not Harness(fake_project, fake_env, use_cache=False).gateway.has_answer(request)


def test_recordings_by_mode(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    recorded, cached_only = chat("gemini/gemini-2.5-flash"), chat("openai/gpt-4o-mini")
    Harness(fake_project, fake_env, mode="record").run(recorded)
    Harness(fake_project, fake_env, use_cache=True).run(cached_only)

    def answers(mode: str) -> tuple[bool, bool]:
        gateway = Harness(fake_project, fake_env, mode=mode, use_cache=True).gateway
        return gateway.has_answer(recorded), gateway.has_answer(cached_only)

    assert answers("auto") == (True, True)
    assert answers("replay") == (True, False)  # replay reads recordings only
    assert answers("record") == (False, False)  # record always calls (and re-records)
    assert answers("live") == (False, False)
