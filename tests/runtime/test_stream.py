"""`Runtime.stream` / `astream`: deltas, the final RunResult, failover and the ledger."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.errors import UsageError
from promptctl.ledger.store import connect
from promptctl.promptfile.model import OutputSpec, Target
from promptctl.runtime import InputValidationError, RunResult, Runtime, StreamInterrupted

from .helpers import prompt, write_bundle

FAST = {"retry_base_s": 0.001}
BACKUP = "anthropic/claude-3-5-haiku-latest"


@pytest.fixture
def bundle_path(tmp_path: Path, fake_llm: FakeLLM) -> Path:
    path = tmp_path / "app.bundle.json"
    prompts = [
        prompt(fallbacks=(Target(use=BACKUP),)),
        prompt(
            "extract",
            template="Extract from {{ text }}",
            inputs={"text": {"type": "string", "minLength": 1}},
            use="gemini/gemini-2.0-flash",
            output=OutputSpec(
                format="json",
                schema={
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}},
                },
            ),
        ),
    ]
    write_bundle(path, prompts, fake_providers(fake_llm, max_retries=0, timeout_s=5.0))
    return path


@pytest.fixture
def rt(bundle_path: Path, fake_env: dict[str, str], tmp_path: Path) -> Iterator[Runtime]:
    with Runtime.load(
        bundle_path, env=fake_env, ledger=tmp_path / "ledger.sqlite", gateway_options=FAST
    ) as runtime:
        yield runtime


def _rows(tmp_path: Path) -> list[tuple[Any, ...]]:
    db = connect(tmp_path / "ledger.sqlite", readonly=True)
    rows = db.execute(
        "SELECT source, prompt_id, target, outcome, error_kind, fallback_from, input_tokens, "
        "output_tokens, cost_usd IS NOT NULL FROM calls ORDER BY id"
    )
    return [tuple(r) for r in rows]


def _split(chunks: list[Any]) -> tuple[list[str], RunResult]:
    *deltas, result = chunks
    assert all(isinstance(d, str) for d in deltas) and isinstance(result, RunResult)
    return deltas, result


def _astream(rt: Runtime, ref: str, **inputs: Any) -> list[Any]:
    async def go() -> list[Any]:
        return [chunk async for chunk in rt.astream(ref, **inputs)]

    return asyncio.run(go())


@pytest.mark.parametrize("how", ["sync", "async"])
def test_stream_yields_deltas_then_the_same_result_as_run(
    rt: Runtime, fake_llm: FakeLLM, tmp_path: Path, how: str
) -> None:
    fake_llm.reply("Please restart the router.")
    chunks = (
        list(rt.stream("support/triage", ticket="wifi"))
        if how == "sync"
        else _astream(rt, "support/triage", ticket="wifi")
    )
    deltas, result = _split(chunks)
    assert deltas == ["Please ", "restart ", "the ", "router."]
    ran = rt.run("support/triage", ticket="wifi")
    assert result.ttft_ms is not None and 0 < result.ttft_ms <= result.latency_ms
    assert ran.ttft_ms is None
    same = ("text", "data", "usage", "cost_usd", "model", "fallbacks_tried", "prompt_id")
    for name in (*same, "prompt_version", "prompt_hash", "finish_reason", "output_error"):
        assert getattr(result, name) == getattr(ran, name), name
    # what run() sends, plus the streaming switches
    streamed, whole = fake_llm.requests[0].body, fake_llm.requests[1].body
    assert streamed == {**whole, "stream": True, "stream_options": {"include_usage": True}}
    rt.ledger.flush()
    assert _rows(tmp_path) == [
        ("runtime", "support/triage", "openai/gpt-4o-mini", "ok", None, None, 10, 5, 1),
        ("runtime", "support/triage", "openai/gpt-4o-mini", "ok", None, None, 10, 5, 1),
    ]


def test_json_output_is_parsed_and_validated_at_the_end(rt: Runtime, fake_llm: FakeLLM) -> None:
    fake_llm.reply('{"name": "Ada Lovelace"}')
    deltas, result = _split(list(rt.stream("extract", text="Ada wrote")))
    assert "".join(deltas) == '{"name": "Ada Lovelace"}' and len(deltas) > 1
    assert result.data == {"name": "Ada Lovelace"} and result.ok
    fake_llm.reply('{"nom": "Ada"}')
    _, bad = _split(list(rt.stream("extract", text="Ada wrote")))
    assert bad.data is None and bad.output_error is not None and "name" in bad.output_error


def test_bad_inputs_fail_before_anything_is_sent(rt: Runtime, fake_llm: FakeLLM) -> None:
    with pytest.raises(InputValidationError):
        rt.stream("extract", text="")
    assert fake_llm.requests == []


@pytest.mark.parametrize("how", ["sync", "async"])
def test_failover_before_the_first_token_is_invisible_but_recorded(
    rt: Runtime, fake_llm: FakeLLM, tmp_path: Path, how: str
) -> None:
    fake_llm.reply("fine")
    fake_llm.stream_error(after=0, wire="openai")
    chunks = (
        list(rt.stream("support/triage", ticket="t"))
        if how == "sync"
        else _astream(rt, "support/triage", ticket="t")
    )
    deltas, result = _split(chunks)
    assert "".join(deltas) == "fine" and result.model == BACKUP
    assert [(s.target, s.reason) for s in result.fallbacks_tried] == [
        ("openai/gpt-4o-mini", "server")
    ]
    rt.ledger.flush()
    assert _rows(tmp_path) == [
        ("runtime", "support/triage", "openai/gpt-4o-mini", "error", "server", None, 0, 0, 0),
        ("runtime", "support/triage", BACKUP, "ok", None, "openai/gpt-4o-mini", 10, 5, 1),
    ]


def test_first_token_deadline_through_the_runtime(rt: Runtime, fake_llm: FakeLLM) -> None:
    fake_llm.stream_stall(3.0, keepalive_s=0.05, wire="openai")
    _, result = _split(list(rt.stream("support/triage", first_token_s=0.2, ticket="t")))
    assert result.model == BACKUP and result.fallbacks_tried[0].reason == "timeout"


def test_broken_after_the_first_token_raises_with_partial_text(
    rt: Runtime, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    fake_llm.reply("a b c d")
    fake_llm.stream_cut(after=2, wire="openai")
    got: list[Any] = []
    with pytest.raises(StreamInterrupted) as info:
        for chunk in rt.stream("support/triage", ticket="t"):
            got.append(chunk)
    assert got == ["a ", "b "] and info.value.partial_text == "a b "
    assert fake_llm.calls["anthropic"] == 0
    rt.ledger.flush()
    assert _rows(tmp_path) == [
        ("runtime", "support/triage", "openai/gpt-4o-mini", "error", "stream_interrupted",
         None, 0, 0, 0),
    ]  # fmt: skip


@pytest.mark.parametrize("how", ["sync", "async"])
def test_stopping_early_records_a_cancelled_call(
    rt: Runtime, fake_llm: FakeLLM, tmp_path: Path, how: str
) -> None:
    fake_llm.reply(" ".join(["w"] * 300))
    fake_llm.stream_delay_s = 0.01
    if how == "sync":
        for _ in rt.stream("support/triage", ticket="t"):
            break  # the generator is closed when dropped
    else:

        async def go() -> None:
            stream = rt.astream("support/triage", ticket="t")
            async for _ in stream:
                break
            await stream.aclose()

        asyncio.run(go())
    rt.ledger.flush()
    assert _rows(tmp_path) == [
        ("runtime", "support/triage", "openai/gpt-4o-mini", "error", "cancelled", None, 0, 0, 0),
    ]


@pytest.mark.parametrize("bad", [0, -1.5, float("nan")])
def test_a_first_token_deadline_must_be_positive(
    rt: Runtime, fake_llm: FakeLLM, bad: float
) -> None:
    with pytest.raises(UsageError) as info:
        rt.stream("support/triage", first_token_s=bad, ticket="t")
    assert "first_token_s" in str(info.value) and info.value.exit_code == 2
    with pytest.raises(UsageError):
        asyncio.run(anext(rt.astream("support/triage", first_token_s=bad, ticket="t")))
    assert fake_llm.requests == []


def test_stopping_early_under_a_first_token_deadline_records_it_too(
    rt: Runtime, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    """With a deadline, `stream()` runs on the gateway's loop thread: closing still closes."""
    fake_llm.reply(" ".join(["w"] * 300))
    fake_llm.stream_delay_s = 0.01
    stream = rt.stream("support/triage", first_token_s=5, ticket="t")
    assert next(stream) == "w "
    stream.close()
    rt.ledger.flush()
    assert _rows(tmp_path) == [
        ("runtime", "support/triage", "openai/gpt-4o-mini", "error", "cancelled", None, 0, 0, 0),
    ]


def test_a_closed_runtime_refuses_to_stream(rt: Runtime) -> None:
    rt.close()
    with pytest.raises(UsageError) as info:
        rt.stream("support/triage", ticket="t")
    assert "closed" in str(info.value)


@pytest.mark.parametrize("how", ["sync", "async"])
def test_a_key_the_model_echoes_never_reaches_the_caller_in_pieces(
    rt: Runtime, fake_llm: FakeLLM, fake_env: dict[str, str], how: str
) -> None:
    """Deltas are scrubbed as the final text is, even when the key is cut across them: at
    no moment has the application been handed a usable piece of it."""
    key = fake_env["OPENAI_API_KEY"]
    fake_llm.reply(f"your key is {key}, keep it")
    fake_llm.stream_pieces = lambda text: [text[i : i + 3] for i in range(0, len(text), 3)]
    chunks = (
        list(rt.stream("support/triage", ticket="t"))
        if how == "sync"
        else _astream(rt, "support/triage", ticket="t")
    )
    deltas, result = _split(chunks)
    assert len(deltas) > 5, deltas
    shown = ""
    for delta in deltas:
        shown += delta
        assert key[:8] not in shown and key[-8:] not in shown, shown
    # (two marks when another configured key shares this one's last 16 characters)
    assert shown == result.text
    assert shown.startswith("your key is [redacted]") and shown.endswith("], keep it")
