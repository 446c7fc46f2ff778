"""Retries, waits, fallbacks, circuit breaking and secret hygiene against the fake server."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from dataclasses import replace
from pathlib import Path

import pytest
from provider_helpers import Harness, chat

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.errors import ProviderError
from promptctl.promptfile.model import Project

KEYS_ERR = "sk-test-openai-0123456789abcdef"


def test_retry_after_seconds_is_honoured(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.rate_limit(retry_after="2")
    harness = Harness(fake_project, fake_env)
    response = harness.run(chat("openai/gpt-4o-mini"))
    assert harness.waits == [2.0]
    assert response.attempts == 2 and fake_llm.calls["openai"] == 2
    assert [r.outcome for r in harness.records] == ["error", "ok"]
    assert harness.records[0].error_kind == "rate_limit"


def test_retry_after_ms_wins_over_retry_after(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.rate_limit(retry_after="9", retry_after_ms="1500", wire="anthropic")
    harness = Harness(fake_project, fake_env)
    harness.run(chat("anthropic/claude-haiku-4-5"))
    assert harness.waits == [1.5]


def test_retry_after_http_date(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.rate_limit(retry_after=email.utils.formatdate(time.time() + 30, usegmt=True))
    harness = Harness(fake_project, fake_env)
    harness.run(chat("openai/gpt-4o-mini"))
    assert len(harness.waits) == 1 and 27.0 <= harness.waits[0] <= 30.0


def test_gemini_retry_delay_is_honoured(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.rate_limit(retry_delay="17s")
    harness = Harness(fake_project, fake_env)
    harness.run(chat("gemini/gemini-2.5-flash"))
    assert harness.waits == [17.0]


@pytest.mark.parametrize("delay", ["1..2s", "1e400s", "9" * 500 + "s"])
def test_a_gemini_retry_delay_that_is_no_number_is_no_hint(
    delay: str, fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    """Before, "1..2s" raised a ValueError out of the error mapping; "1e400s" was an
    infinite wait. Now the wait is the backoff's own, and the retry answers."""
    fake_llm.rate_limit(retry_delay=delay)
    harness = Harness(fake_project, fake_env, rng=random.Random(3))
    response = harness.run(chat("gemini/gemini-2.5-flash"))
    assert response.text and len(harness.waits) == 1
    assert harness.waits[0] == random.Random(3).uniform(0, 0.5)


def test_backoff_is_full_jitter_and_bounded_by_max_retries(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    for status in (500, 503, 529, 502):
        fake_llm.error(status)
    harness = Harness(fake_project, fake_env, rng=random.Random(42))
    with pytest.raises(ProviderError) as info:
        harness.run(chat("anthropic/claude-haiku-4-5"))
    assert fake_llm.calls["anthropic"] == 4  # first attempt + max_retries=3
    expected_rng = random.Random(42)
    assert harness.waits == [expected_rng.uniform(0, 0.5 * 2**i) for i in range(3)]
    assert info.value.kind == "server"


def test_wait_over_cap_is_capped_at_60_s(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.rate_limit(retry_after="3600")
    harness = Harness(fake_project, fake_env)
    harness.run(chat("openai/gpt-4o-mini"))
    assert harness.waits == [60.0]


def test_capped_wait_beyond_deadline_fails_over_at_once(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.rate_limit(retry_after="3600", wire="openai")
    harness = Harness(fake_project, fake_env, deadline_s=59.0)
    response = harness.run(chat("openai/gpt-4o-mini"), [chat("anthropic/claude-haiku-4-5")])
    assert harness.waits == []
    assert response.target == "anthropic/claude-haiku-4-5"
    assert fake_llm.calls["openai"] == 1


def test_wait_beyond_deadline_fails_over_at_once(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.rate_limit(retry_after="30", wire="openai")
    harness = Harness(fake_project, fake_env, deadline_s=10.0)
    response = harness.run(chat("openai/gpt-4o-mini"), [chat("anthropic/claude-haiku-4-5")])
    assert harness.waits == []
    assert response.target == "anthropic/claude-haiku-4-5"
    assert response.fallbacks_tried[0].reason == "rate_limit"


@pytest.mark.parametrize(
    ("target", "wire"),
    [("openai/gpt-4o-mini", "openai"), ("anthropic/claude-haiku-4-5", "anthropic")],
)
def test_quota_429_is_not_retried(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str], target: str, wire: str
) -> None:
    fake_llm.quota()
    harness = Harness(fake_project, fake_env)
    with pytest.raises(ProviderError) as info:
        harness.run(chat(target))
    assert info.value.kind == "quota"
    assert fake_llm.calls[wire] == 1 and harness.waits == []


def test_timeout_then_success(fake_llm: FakeLLM, tmp_path, fake_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    project = Project(root=tmp_path, providers=fake_providers(fake_llm, timeout_s=0.6))
    fake_llm.timeout(2.0)  # the retry must answer within 0.6 s, even on a loaded CI
    harness = Harness(project, fake_env)
    response = harness.run(chat("openai/gpt-4o-mini"))
    assert response.attempts == 2
    assert harness.records[0].error_kind == "timeout"


def test_dropped_connection_is_network_and_retried(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.drop()
    harness = Harness(fake_project, fake_env)
    response = harness.run(chat("gemini/gemini-2.5-flash"))
    assert response.attempts == 2
    assert harness.records[0].error_kind == "network"


def test_non_json_body_is_bad_response_and_falls_over(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.non_json(200, wire="openai")
    harness = Harness(fake_project, fake_env)
    response = harness.run(chat("openai/gpt-4o-mini"), [chat("gemini/gemini-2.5-flash")])
    assert fake_llm.calls["openai"] == 1  # bad_response is not retried
    assert response.target == "gemini/gemini-2.5-flash"
    assert response.fallbacks_tried[0].target == "openai/gpt-4o-mini"
    assert response.fallbacks_tried[0].reason == "bad_response"
    assert harness.records[-1].fallback_from == "openai/gpt-4o-mini"


def test_fallback_after_retries_names_the_answering_model(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    for _ in range(4):
        fake_llm.error(503, wire="openai")
    harness = Harness(fake_project, fake_env)
    response = harness.run(chat("openai/gpt-4o-mini"), [chat("anthropic/claude-haiku-4-5")])
    assert fake_llm.calls["openai"] == 4 and fake_llm.calls["anthropic"] == 1
    assert response.target == "anthropic/claude-haiku-4-5"
    assert response.model_reported == "claude-haiku-4-5"
    assert [(s.target, s.reason) for s in response.fallbacks_tried] == [
        ("openai/gpt-4o-mini", "overloaded")
    ]


def test_context_length_skips_to_fallback_at_once(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.context_length(wire="openai")
    harness = Harness(fake_project, fake_env)
    response = harness.run(chat("openai/gpt-4o-mini"), [chat("gemini/gemini-2.5-pro")])
    assert fake_llm.calls["openai"] == 1 and harness.waits == []
    assert response.fallbacks_tried[0].reason == "context_length"


def test_bad_request_does_not_fall_over(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.error(400, message="temperature must be <= 2", wire="openai")
    harness = Harness(fake_project, fake_env)
    with pytest.raises(ProviderError) as info:
        harness.run(chat("openai/gpt-4o-mini"), [chat("anthropic/claude-haiku-4-5")])
    assert info.value.kind == "bad_request"
    assert fake_llm.calls["anthropic"] == 0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_circuit_opens_and_half_opens(
    fake_llm: FakeLLM, tmp_path, fake_env: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    project = Project(root=tmp_path, providers=fake_providers(fake_llm, max_retries=0))
    clock = Clock()
    harness = Harness(project, fake_env, clock=clock, breaker_threshold=2, breaker_cooldown_s=30.0)
    primary, backup = chat("openai/gpt-4o-mini"), chat("anthropic/claude-haiku-4-5")
    for _ in range(2):
        fake_llm.error(500, wire="openai")
        assert harness.run(primary, [backup]).target == "anthropic/claude-haiku-4-5"
    assert fake_llm.calls["openai"] == 2
    # open: openai is not called at all
    response = harness.run(primary, [backup])
    assert fake_llm.calls["openai"] == 2
    assert response.fallbacks_tried[0].reason == "circuit_open"
    # after the cool-down one trial goes through; it fails, so the circuit opens again
    clock.now += 30.0
    fake_llm.error(500, wire="openai")
    harness.run(primary, [backup])
    assert fake_llm.calls["openai"] == 3
    harness.run(primary, [backup])
    assert fake_llm.calls["openai"] == 3
    # next cool-down: the trial succeeds and closes the circuit
    clock.now += 30.0
    assert harness.run(primary, [backup]).target == "openai/gpt-4o-mini"
    assert harness.run(primary, [backup]).target == "openai/gpt-4o-mini"
    assert fake_llm.calls["openai"] == 5


def test_no_key_in_errors_records_or_logs(
    fake_llm: FakeLLM,
    fake_project: Project,
    fake_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_llm.auth_error(
        message=f"Incorrect API key provided: {fake_env['OPENAI_API_KEY']}", wire="openai"
    )
    fake_llm.auth_error(message="bad key sk-proj-ABCDEFGHIJKLMNOPQRST leaked", wire="anthropic")
    project = replace(fake_project, providers=fake_providers(fake_llm))
    harness = Harness(project, fake_env)
    with pytest.raises(ProviderError) as info:
        harness.run(chat("openai/gpt-4o-mini"), [chat("anthropic/claude-haiku-4-5")])
    text = str(info.value) + repr(harness.records) + caplog.text
    assert info.value.kind == "auth"
    for secret in (*fake_env.values(), "sk-proj-ABCDEFGHIJKLMNOPQRST"):
        assert secret not in text
    assert "[redacted]" in str(info.value)


# llama-cpp-python's server, as it answered a `json_schema` format (HTTP 500)
_LLAMA_CPP_REFUSAL = {
    "error": {
        "message": "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', "
        "'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\", "
        "'input': 'json_schema'}",
        "type": "internal_server_error",
        "param": None,
        "code": None,
    }
}


def test_a_refused_json_schema_format_is_not_retried_and_names_the_dialect(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    """A deterministic refusal of the request's format, sent as HTTP 500: retrying it
    three times only delays the error, which must say which setting fixes it."""
    from promptctl.promptfile.chat import ResponseFormat

    fake_llm.raw(_LLAMA_CPP_REFUSAL, status=500)
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    request = chat("local/smollm2", response_format=ResponseFormat("json_schema", schema=schema))
    harness = Harness(fake_project, fake_env)
    with pytest.raises(ProviderError) as info:
        harness.run(request)
    assert fake_llm.calls["openai"] == 1 and harness.waits == []
    assert info.value.kind == "bad_request" and info.value.status == 500
    assert "dialect: llama-cpp-python" in str(info.value)
    assert fake_llm.requests[0].body["response_format"]["type"] == "json_schema"


def test_a_server_error_without_the_format_is_still_retried(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.raw({"error": {"message": "boom", "type": "internal_server_error"}}, status=500)
    harness = Harness(fake_project, fake_env)
    response = harness.run(chat("local/smollm2"))
    assert fake_llm.calls["openai"] == 2 and response.attempts == 2


@pytest.mark.parametrize(
    ("value", "says"),
    [("b\r\nInjected: sk-hidden-value", "x-a"), ("naïve sk-hidden-value", "not ASCII")],
)
def test_a_header_http_forbids_is_a_config_error_sent_nowhere_and_not_retried(
    fake_llm: FakeLLM, fake_env: dict[str, str], tmp_path: object, value: str, says: str
) -> None:
    """Settings built in code skip promptctl.yaml's check: a CR/LF in a header (header
    injection) is refused when the head is built, as a `config` error (no retry, no
    fallback, no "is the server running?" hint), the value never echoed."""
    providers = fake_providers(fake_llm, headers={"x-a": value})
    project = Project(root=Path(str(tmp_path)), providers=providers)
    harness = Harness(project, fake_env)
    with pytest.raises(ProviderError) as exc:
        harness.run(chat("openai/gpt-4o-mini"), [chat("anthropic/claude-3-5-haiku-latest")])
    assert exc.value.kind == "config"
    assert says in exc.value.message and "sk-hidden-value" not in str(exc.value)
    assert exc.value.hint is not None and "headers:" in exc.value.hint
    assert harness.waits == [] and fake_llm.requests == []  # not retried, nothing sent
    assert [r.error_kind for r in harness.records] == ["config"]
