"""`CallRecord.request_hash` is hashed when read: a bare live call (no cache, no
recordings) whose `on_call` hook never reads it computes no cache key at all."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
from pathlib import Path

from provider_helpers import chat

from fakes.llm_server import FakeLLM
from promptctl.ledger.store import Ledger
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.model import Project
from promptctl.providers.gateway import Gateway
from promptctl.providers.types import CallRecord


def _hashed(request: ChatRequest) -> bool:
    return bool(request.__dict__.get("_cache_keys"))


def test_a_hook_that_never_reads_the_hash_costs_no_key_and_reading_it_gives_the_key(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    records: list[CallRecord] = []
    fake_llm.rate_limit(retry_after="0")  # an error record, then the answer
    gateway = Gateway(
        fake_project, mode="live", use_cache=False, env=fake_env, on_call=records.append,
        sync_sleep=lambda s: None,
    )  # fmt: skip
    request = chat("openai/gpt-4o-mini")
    try:
        gateway.complete_sync(request, repeat=2)
    finally:
        gateway.close()
    assert [r.outcome for r in records] == ["error", "ok"]
    assert not _hashed(request)  # the whole call computed no key
    expected = dataclasses.replace(request).cache_key(repeat=2)  # a fresh copy hashes anew
    assert [r.request_hash for r in records] == [expected, expected]
    assert _hashed(request)  # read once: hashed then, memoised on the request
    assert records[1] == dataclasses.replace(records[1], request_hash=expected)


def test_async_and_streamed_calls_hash_lazily_too(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    records: list[CallRecord] = []
    gateway = Gateway(
        fake_project, mode="live", use_cache=False, env=fake_env, on_call=records.append
    )
    whole, streamed = chat("openai/gpt-4o-mini"), chat("openai/gpt-4o", ("user", "stream"))

    async def go() -> None:
        try:
            await gateway.complete(whole)
            async for _ in gateway.stream(streamed):
                pass
        finally:
            await gateway.aclose()

    asyncio.run(go())
    assert not _hashed(whole) and not _hashed(streamed)
    assert [r.request_hash for r in records] == [
        dataclasses.replace(whole).cache_key(),
        dataclasses.replace(streamed).cache_key(),
    ]


def test_with_the_cache_the_key_is_computed_up_front_and_the_ledger_stores_it(
    fake_project: Project, fake_env: dict[str, str], tmp_path: Path
) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    request = chat("openai/gpt-4o-mini")
    gateway = Gateway(fake_project, mode="auto", env=fake_env, on_call=ledger.record)
    try:
        gateway.complete_sync(request)  # paid, then stored in the cache
        gateway.complete_sync(request)  # a cache hit
    finally:
        gateway.close()
        ledger.close()
    assert _hashed(request)
    with contextlib.closing(sqlite3.connect(tmp_path / "ledger.sqlite")) as db:
        rows = db.execute("SELECT outcome, request_hash FROM calls ORDER BY id").fetchall()
    assert rows == [("ok", request.cache_key()), ("cached", request.cache_key())]
