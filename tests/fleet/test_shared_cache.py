"""The response cache shared through a real Redis: one runner's answer serves another."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.promptfile.model import Project
from promptctl.providers.cache import ResponseCache
from promptctl.providers.shared_cache import SharedResponseCache, shared_key
from promptctl.providers.shared_state import SharedState
from promptctl.providers.types import ChatResponse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "providers"))
from provider_helpers import Harness, chat


def _redis(url: str) -> Any:
    """redis-py's client, imported here (it imports opentelemetry's SDK): every xdist
    worker collects this file, one runs it."""
    import redis

    return redis.Redis.from_url(url)


KEYS = {"OPENAI_API_KEY": "sk-test-openai-0123456789abcdef"}


def _runner(root: Path, fake: FakeLLM, url: str) -> Harness:
    """One CI runner: its own checkout (own SQLite cache), the fleet's Redis."""
    project = Project(root=root, evals_dir=root / "evals", providers=fake_providers(fake))
    return Harness(project, KEYS, use_cache=True, shared_state=SharedState(url))


def test_a_second_runner_reuses_the_first_runners_answer(
    tmp_path: Path, fake_llm: FakeLLM, redis_url: str
):
    request = chat("openai/gpt-4o-mini", ("user", "Classify: refund please"))
    first = _runner(tmp_path / "a", fake_llm, redis_url).run(request)
    second_runner = _runner(tmp_path / "b", fake_llm, redis_url)
    second = second_runner.run(request)
    assert fake_llm.calls["openai"] == 1  # the second runner never called the provider
    assert second.cached and second.text == first.text and second.usage == first.usage
    assert [r.outcome for r in second_runner.records] == ["cached"]
    stored = _redis(redis_url).get(shared_key(request.cache_key()))
    assert stored is not None  # under exactly the SQLite cache's key
    # and copied into the second runner's own file: the next hit is local
    assert ResponseCache(tmp_path / "b" / ".promptctl" / "cache.sqlite").has(request.cache_key())
    third = _runner(tmp_path / "c", fake_llm, redis_url).run(request, repeat=1)
    assert not third.cached and fake_llm.calls["openai"] == 2  # repeat 1 is another key


def test_no_secret_is_shared(tmp_path: Path, fake_llm: FakeLLM, redis_url: str):
    fake_llm.reply(f"the key is {KEYS['OPENAI_API_KEY']}")  # a model echoing a secret
    request = chat("openai/gpt-4o-mini", ("user", "leak"))
    _runner(tmp_path / "a", fake_llm, redis_url).run(request)
    client = _redis(redis_url)
    values = [client.get(k) for k in client.keys("promptctl:cache:*")]
    assert values and all(KEYS["OPENAI_API_KEY"].encode() not in (v or b"") for v in values)


def test_entries_expire_and_the_cache_keeps_at_most_max_entries(tmp_path: Path, redis_url: str):
    shared = SharedState(redis_url)
    cache = SharedResponseCache(
        ResponseCache(tmp_path / "c.sqlite"), shared, ttl_s=30.0, max_entries=3
    )
    answer = ChatResponse(text="x", target="openai/gpt-4o-mini")
    for n in range(5):
        cache.put(f"k{n}", dataclasses.replace(answer, text=f"x{n}"))
    client = _redis(redis_url)
    kept = sorted(k.decode() for k in client.keys("promptctl:cache:*"))
    assert kept == [shared_key(f"k{n}") for n in (2, 3, 4)]  # the oldest two evicted
    assert 0 < client.pttl(shared_key("k4")) <= 30_000
    big = SharedResponseCache(ResponseCache(tmp_path / "d.sqlite"), shared, max_entry_bytes=100)
    big.put("huge", dataclasses.replace(answer, text="y" * 500))
    assert client.get(shared_key("huge")) is None  # too large to share, kept locally
    assert big.get("huge") is not None


def test_an_entry_in_redis_that_is_no_answer_is_a_miss(tmp_path: Path, redis_url: str):
    """Another process (a different version, a bug, a hand edit) left something else
    under a cache key: before, `get` raised JSONDecodeError (or RecursionError) into the
    run; now it is a miss and the live answer replaces it, as with the local cache."""
    shared = SharedState(redis_url)
    cache = SharedResponseCache(ResponseCache(tmp_path / "c.sqlite"), shared)
    client = _redis(redis_url)
    for n, junk in enumerate([b"{not json", b"[" * 100_000 + b"]" * 100_000, b'{"text": 5}']):
        client.set(shared_key(f"junk{n}"), junk)
        assert cache.get(f"junk{n}") is None
    cache.put("junk0", ChatResponse(text="live", target="openai/gpt-4o-mini"))
    hit = cache.get("junk0")
    assert hit is not None and hit.text == "live"
