"""`Gateway.stream` / `stream_sync` against the fake server's SSE, faults included.

Before the first token a failure is retried and failed over like a whole call; after
it the stream raises StreamInterrupted with the partial text and never touches the
fallback; retries' waits are recorded instead of slept.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.errors import ProviderError, StreamInterrupted
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.chat import ChatMessage
from promptctl.promptfile.model import Project
from promptctl.providers.gateway import Gateway
from promptctl.providers.types import CallRecord, ChatResponse

TEXT = "one two three four five six"
PIECES = ["one ", "two ", "three ", "four ", "five ", "six"]
TARGETS = {
    "openai": ("openai", "gpt-4o-mini"),
    "anthropic": ("anthropic", "claude-3-5-haiku-latest"),
    "gemini": ("gemini", "gemini-2.0-flash"),
    "openai-responses": ("responses", "gpt-4o-mini"),  # the Responses API's typed events
}
TIMEOUT_S = 0.5  # the read timeout of the stall tests (their faults wait 2-3x longer)
EASY_TIMEOUT_S = 5.0  # every other test's: a loaded machine must not time a call out


def _request(wire: str) -> ChatRequest:
    provider, model = TARGETS[wire]
    return ChatRequest(provider, model, (ChatMessage("user", "count"),), temperature=0)


def _backup(wire: str) -> ChatRequest:
    return _request("anthropic" if wire != "anthropic" else "openai")


@dataclass
class Env:
    fake: FakeLLM
    gw: Gateway
    records: list[CallRecord]
    waits: list[float] = field(default_factory=list)


@pytest.fixture
def env(tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]) -> Iterator[Env]:
    fake_llm.reply(TEXT)
    project = Project(
        root=tmp_path,
        evals_dir=tmp_path / "evals",
        providers=fake_providers(fake_llm, timeout_s=EASY_TIMEOUT_S, max_retries=2),
    )
    records: list[CallRecord] = []
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    gw = Gateway(
        project,
        mode="live",
        env=fake_env,
        on_call=records.append,
        sleep=sleep,
        sync_sleep=waits.append,
        breaker_threshold=3,
    )
    yield Env(fake_llm, gw, records, waits)
    gw.close()


def _short_read_timeout(env: Env) -> None:
    """The providers' read timeout down to TIMEOUT_S, for a test about stalls."""
    project = env.gw.project
    short = {k: replace(v, timeout_s=TIMEOUT_S) for k, v in project.providers.items()}
    env.gw.project = replace(project, providers=short)


def _collect_sync(env: Env, request: ChatRequest, **kw: Any) -> list[Any]:
    return list(env.gw.stream_sync(request, **kw))


def _collect_async(env: Env, request: ChatRequest, **kw: Any) -> list[Any]:
    async def go() -> list[Any]:
        return [item async for item in env.gw.stream(request, **kw)]

    return asyncio.run(go())


COLLECT: dict[str, Callable[..., list[Any]]] = {"sync": _collect_sync, "async": _collect_async}


def _split(items: list[Any]) -> tuple[list[str], ChatResponse]:
    *deltas, final = items
    assert all(isinstance(d, str) for d in deltas)
    assert isinstance(final, ChatResponse)
    return deltas, final


@pytest.mark.parametrize("how", COLLECT)
@pytest.mark.parametrize("wire", TARGETS)
def test_each_wire_streams_deltas_then_the_response(env: Env, wire: str, how: str) -> None:
    deltas, final = _split(COLLECT[how](env, _request(wire)))
    assert deltas == PIECES
    assert final.text == TEXT and final.target == "/".join(TARGETS[wire])
    assert (final.usage.input_tokens, final.usage.output_tokens) == (10, 5)
    assert final.usage_known and final.cost_usd is not None and final.cost_usd > 0
    assert final.finish_reason == "stop" and final.attempts == 1
    assert final.ttft_ms is not None and 0 < final.ttft_ms <= final.latency_ms
    sent = env.fake.requests[-1]
    if wire == "gemini":
        assert sent.path.endswith(":streamGenerateContent?alt=sse")
    else:
        assert sent.body["stream"] is True
    if wire == "openai":
        assert sent.body["stream_options"] == {"include_usage": True}
    [record] = env.records
    assert (record.outcome, record.target, record.usage.output_tokens) == ("ok", final.target, 5)
    assert record.cost_usd == final.cost_usd


@pytest.mark.parametrize("how", COLLECT)
def test_deltas_arrive_as_the_server_sends_them(env: Env, how: str) -> None:
    """Not buffered to the end: the first delta comes long before the last."""
    env.fake.stream_delay_s = 0.05
    stamps: list[float] = []

    def timed(collect: Callable[..., list[Any]]) -> list[Any]:
        if how == "sync":
            out = []
            for item in env.gw.stream_sync(_request("openai")):
                stamps.append(time.perf_counter())
                out.append(item)
            return out

        async def go() -> list[Any]:
            out = []
            async for item in env.gw.stream(_request("openai")):
                stamps.append(time.perf_counter())
                out.append(item)
            return out

        return asyncio.run(go())

    _, final = _split(timed(COLLECT[how]))
    assert stamps[-1] - stamps[0] >= 0.2  # five 50 ms gaps between six pieces
    assert final.ttft_ms is not None and final.latency_ms - final.ttft_ms >= 200


def test_a_server_without_usage_leaves_the_cost_unknown(env: Env) -> None:
    """llama.cpp-like: no usage chunk; the answer is whole, its cost unknown, not free."""
    env.fake.usage["openai"] = None
    local = ChatRequest("local", "llama", _request("openai").messages)
    deltas, final = _split(_collect_sync(env, local))
    assert "".join(deltas) == TEXT
    assert not final.usage_known and final.cost_usd is None
    assert env.records[-1].usage_known is False


# ---- before the first token: retried and failed over --------------------------------


BEFORE = {
    "429": (lambda f, w: f.rate_limit(retry_after="0.25", wire=w), "rate_limit", True),
    "error event first": (lambda f, w: f.stream_error(after=0, wire=w), "overloaded", True),
    "cut before any text": (lambda f, w: f.stream_cut(after=0, wire=w), "network", True),
    "stall past the read timeout": (
        lambda f, w: f.stream_stall(TIMEOUT_S * 3, wire=w),
        "timeout",
        True,
    ),
    "garbage event first": (lambda f, w: f.stream_garbage(after=0, wire=w), "bad_response", False),
    # an event nested past Python's stack: "internal: RecursionError" before
    "deep event first": (
        lambda f, w: f.stream_garbage(after=0, wire=w, data=b"[" * 100_000 + b"]" * 100_000),
        "bad_response",
        False,
    ),
}


@pytest.mark.parametrize("how", COLLECT)
@pytest.mark.parametrize("wire", TARGETS)
@pytest.mark.parametrize("name", BEFORE)
def test_failures_before_the_first_token_are_transparent(
    env: Env, wire: str, name: str, how: str
) -> None:
    inject, kind, retried = BEFORE[name]
    if name.startswith("stall"):
        _short_read_timeout(env)
    inject(env.fake, wire)
    if kind == "overloaded" and wire in ("openai", "openai-responses"):
        kind = "server"  # an OpenAI error event has no status: a server_error
    primary, backup = _request(wire), _backup(wire)
    deltas, final = _split(COLLECT[how](env, primary, fallbacks=[backup]))
    assert "".join(deltas) == TEXT  # the caller saw one whole answer, nothing twice
    errors = [r for r in env.records if r.outcome == "error"]
    assert [(r.target, r.error_kind) for r in errors] == [(primary.target, kind)]
    if retried:
        assert final.target == primary.target and final.attempts == 2
        assert final.fallbacks_tried == ()
    else:
        assert final.target == backup.target
        assert [(s.target, s.reason) for s in final.fallbacks_tried] == [(primary.target, kind)]
    if name == "429":
        assert env.waits == [0.25]


@pytest.mark.parametrize("how", COLLECT)
def test_first_token_deadline_fails_over_at_once(env: Env, how: str) -> None:
    """Keep-alive comments defeat the read timeout; the first-token deadline does not."""
    env.fake.stream_stall(3.0, keepalive_s=0.05, wire="openai")
    started = time.perf_counter()
    deltas, final = _split(
        COLLECT[how](env, _request("openai"), fallbacks=[_backup("openai")], first_token_s=0.25)
    )
    assert time.perf_counter() - started < 2.5  # the stall lasts 3 s (room for a loaded CI)
    assert "".join(deltas) == TEXT and final.target == _backup("openai").target
    [skipped] = final.fallbacks_tried
    assert skipped.reason == "timeout" and "no first token within 0.25s" in skipped.message
    assert env.fake.calls["openai"] == 1  # not retried: a retry would wait as long again
    assert final.ttft_ms is not None and final.ttft_ms >= 250


@pytest.mark.parametrize("how", COLLECT)
def test_first_token_deadline_counts_from_the_request(env: Env, how: str) -> None:
    """A server that does not even send its headers in time misses the deadline too
    (long before its own read timeout would fire)."""
    env.fake.timeout(3.0, wire="openai")
    started = time.perf_counter()
    _, final = _split(
        COLLECT[how](env, _request("openai"), fallbacks=[_backup("openai")], first_token_s=0.15)
    )
    assert time.perf_counter() - started < 2.5  # the server would answer after 3 s
    assert "no first token within 0.15s" in final.fallbacks_tried[0].message


def test_keep_alives_cannot_outlast_the_chains_deadline(env: Env) -> None:
    """Keep-alive comments reset the read timeout; without `first_token_s` the call's
    `deadline_s` still bounds the wait for a first token (async, and sync on the loop)."""
    env.fake.stream_stall(3.0, keepalive_s=0.05, wire="openai")
    env.gw._deadline_s = 0.4
    started = time.perf_counter()
    with pytest.raises(ProviderError) as info:
        _collect_async(env, _request("openai"))
    assert time.perf_counter() - started < 2.5  # the stall lasts 3 s
    assert info.value.kind == "timeout" and "deadline" in str(info.value)


def test_a_400_is_raised_at_once(env: Env) -> None:
    env.fake.error(400, message="bad field", wire="openai")
    with pytest.raises(ProviderError) as info:
        _collect_sync(env, _request("openai"), fallbacks=[_backup("openai")])
    assert info.value.kind == "bad_request" and env.fake.calls["anthropic"] == 0


def test_a_json_answer_to_a_stream_request_is_one_delta(env: Env) -> None:
    """A proxy that ignores `stream` answers whole: still one answer, same fields."""
    env.fake.raw(
        {
            "choices": [{"message": {"content": "whole"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1},
            "model": "gpt-4o-mini",
        },
        wire="openai",
    )
    deltas, final = _split(_collect_sync(env, _request("openai")))
    assert deltas == ["whole"] and final.usage.input_tokens == 3 and final.ttft_ms is not None


# ---- after the first token: a clear error with the partial text -----------------------


AFTER = {
    "cut": (lambda f, w: f.stream_cut(after=2, wire=w), "network"),
    "garbage": (lambda f, w: f.stream_garbage(after=2, wire=w), "bad_response"),
    "error event": (lambda f, w: f.stream_error(after=2, wire=w), "overloaded"),
}


@pytest.mark.parametrize("how", COLLECT)
@pytest.mark.parametrize("wire", TARGETS)
@pytest.mark.parametrize("name", AFTER)
def test_a_broken_stream_after_the_first_token_raises_with_the_partial_text(
    env: Env, wire: str, name: str, how: str
) -> None:
    inject, kind = AFTER[name]
    inject(env.fake, wire)
    if kind == "overloaded" and wire in ("openai", "openai-responses"):
        kind = "server"  # an OpenAI error event has no status: a server_error
    primary, backup = _request(wire), _backup(wire)
    seen: list[str] = []
    with pytest.raises(StreamInterrupted) as info:
        if how == "sync":
            seen.extend(d for d in env.gw.stream_sync(primary, fallbacks=[backup]))
        else:

            async def go() -> None:
                async for d in env.gw.stream(primary, fallbacks=[backup]):
                    seen.append(d)

            asyncio.run(go())
    err = info.value
    assert seen == PIECES[:2] and err.partial_text == "".join(PIECES[:2])
    assert err.kind == kind and err.exit_code == 3
    assert f"{primary.target}: {kind}: stream broken after 8 characters" in str(err)
    assert env.fake.calls[backup.provider] == 0  # provider names are wire names here
    [record] = env.records
    assert (record.outcome, record.error_kind, record.target) == (
        "error",
        "stream_interrupted",
        primary.target,
    )
    assert record.usage_known is False and record.cost_usd is None
    if wire == "anthropic":  # message_start told the input tokens: recorded
        assert record.usage.input_tokens == 10 and err.usage.input_tokens == 10


def test_a_stall_after_the_first_token_is_a_timeout(env: Env) -> None:
    _short_read_timeout(env)
    env.fake.stream_delay_s = TIMEOUT_S * 2
    with pytest.raises(StreamInterrupted) as info:
        _collect_sync(env, _request("openai"), fallbacks=[_backup("openai")])
    assert info.value.kind == "timeout" and info.value.partial_text == "one "


# ---- the caller stops early -----------------------------------------------------------


@pytest.mark.parametrize("how", COLLECT)
def test_closing_early_closes_the_response_and_records_it(env: Env, how: str) -> None:
    env.fake.stream_delay_s = 0.02
    env.fake.reply(" ".join(["word"] * 200))
    if how == "sync":
        stream = env.gw.stream_sync(_request("anthropic"))
        assert next(stream) == "word "
        stream.close()
    else:

        async def go() -> None:
            stream = env.gw.stream(_request("anthropic"))
            assert await stream.__anext__() == "word "
            await stream.aclose()

        asyncio.run(go())
    deadline = time.monotonic() + 3
    while env.fake.streams_aborted < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert env.fake.streams_aborted == 1  # the server saw the connection go
    [record] = env.records
    assert (record.outcome, record.error_kind) == ("error", "cancelled")
    assert record.usage.input_tokens == 10 and record.usage_known is False


# ---- breaker and cache ------------------------------------------------------------------


def test_stream_failures_open_the_circuit(env: Env) -> None:
    for _ in range(3):
        env.fake.stream_error(after=0, wire="openai")
        env.fake.stream_error(after=0, wire="openai")
        env.fake.stream_error(after=0, wire="openai")
        with pytest.raises(ProviderError):
            _collect_sync(env, _request("openai"))
    calls = env.fake.calls["openai"]
    with pytest.raises(ProviderError) as info:
        _collect_sync(env, _request("openai"))
    assert info.value.kind == "circuit_open" and env.fake.calls["openai"] == calls
    _, final = _split(_collect_sync(env, _request("openai"), fallbacks=[_backup("openai")]))
    assert final.fallbacks_tried[0].reason == "circuit_open"


def test_an_answer_in_the_cache_streams_as_one_delta(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    fake_llm.reply(TEXT)
    project = Project(tmp_path, tmp_path / "evals", providers=fake_providers(fake_llm))
    gw = Gateway(project, env=fake_env)
    try:
        first = list(gw.stream_sync(_request("gemini")))
        again = list(gw.stream_sync(_request("gemini")))
    finally:
        gw.close()
    assert first[:-1] == PIECES and again[:-1] == [TEXT]
    assert again[-1].cached and again[-1].ttft_ms is None and fake_llm.calls["gemini"] == 1


def test_a_stream_ended_by_done_before_its_finish_reason_says_so(env: Env) -> None:
    """llama-cpp-python ends streams it serves concurrently this way (seen against a real
    server): the error names it and what to try, with the partial text."""
    chunk = {
        "id": "c1",
        "model": "gpt-4o-mini",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": "The capital"}, "finish_reason": None}],
    }
    body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
    env.fake.raw(body, wire="openai", content_type="text/event-stream")
    with pytest.raises(StreamInterrupted) as info:
        list(env.gw.stream_sync(_request("openai")))
    assert info.value.partial_text == "The capital" and info.value.kind == "network"
    assert "[DONE] before a finish reason" in str(info.value), str(info.value)
    assert "--concurrency 1" in str(info.value)
