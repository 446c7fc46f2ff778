"""Resolvers on a budget: concurrency, timeouts, fallbacks, defaults, caching, ledger."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.errors import ContextError
from promptctl.ledger.store import Ledger
from promptctl.runtime import Runtime
from promptctl.runtime._resolvers import Resolvers, TTLCache

from .helpers import prompt, write_bundle

FAST = {"retry_base_s": 0.001}
TEMPLATE = "{{ customer.name }}|{{ policy }}|{{ orders | length }}|{{ ticket }}"


@pytest.fixture
def bundle_path(tmp_path: Path, fake_llm: FakeLLM) -> Path:
    path = tmp_path / "app.bundle.json"
    crm = prompt(
        "crm",
        template=TEMPLATE,
        inputs={
            "customer_id": {"type": "string"},
            "ticket": {"type": "string"},
            "customer": {"type": "object", "required": ["name"]},
            "policy": {"type": "string", "default": "standard"},
            "orders": {"type": "array", "default": []},
        },
    )
    write_bundle(path, [crm], fake_providers(fake_llm, max_retries=0))
    return path


@pytest.fixture
def rt(bundle_path: Path, fake_env: dict[str, str], tmp_path: Path) -> Iterator[Runtime]:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    with Runtime.load(bundle_path, env=fake_env, ledger=ledger, gateway_options=FAST) as runtime:
        yield runtime
    ledger.close()


def _echo(fake_llm: FakeLLM) -> None:
    fake_llm.reply(lambda req: str(req.body["messages"][-1]["content"]))


def _degraded_rows(path: Path) -> list[Any]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT context_degraded FROM calls ORDER BY id").fetchall()
    finally:
        db.close()
    return [json.loads(r[0]) if r[0] is not None else None for r in rows]


def test_two_slow_sync_resolvers_run_concurrently_in_run(rt: Runtime, fake_llm: FakeLLM) -> None:
    _echo(fake_llm)

    def customer(inputs: Any) -> dict[str, str]:
        time.sleep(0.6)
        return {"name": "Ada"}

    def orders(inputs: Any) -> list[int]:
        time.sleep(0.6)
        return [1, 2]

    rt.resolver("customer", customer)
    rt.resolver("orders", orders)
    rt.run("crm", customer_id="c1", ticket="t", customer={"name": "w"}, orders=[])  # warm-up
    started = time.perf_counter()
    result = rt.run("crm", customer_id="c1", ticket="t")
    elapsed = time.perf_counter() - started
    assert result.text == "Ada|standard|2|t"
    assert elapsed < 1.05, elapsed  # sequential would be >= 1.2 s (room for a loaded CI)
    assert result.context_degraded == ()


def test_two_slow_resolvers_run_concurrently_in_arun(rt: Runtime, fake_llm: FakeLLM) -> None:
    _echo(fake_llm)

    async def customer(inputs: Any) -> dict[str, str]:
        await asyncio.sleep(0.6)
        return {"name": "Async"}

    def orders(inputs: Any) -> list[int]:  # a sync one: runs in the pool, not on the loop
        time.sleep(0.6)
        return [1]

    rt.resolver("customer", customer)
    rt.resolver("orders", orders)

    async def main() -> tuple[str, float]:
        await rt.arun("crm", customer_id="c", ticket="t", customer={"name": "w"}, orders=[])
        started = time.perf_counter()
        try:
            result = await rt.arun("crm", customer_id="c1", ticket="t")
        finally:
            await rt.aclose()
        return result.text, time.perf_counter() - started

    text, elapsed = asyncio.run(main())
    assert text == "Async|standard|1|t"
    assert elapsed < 1.05, elapsed  # sequential would be >= 1.2 s


def test_timeout_uses_fallback_and_is_recorded(
    rt: Runtime, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    _echo(fake_llm)
    release = threading.Event()

    def slow_crm(inputs: Any) -> dict[str, str]:
        release.wait(2)
        return {"name": "too late"}

    rt.resolver("customer", slow_crm, timeout_s=0.05, fallback={"name": "valued customer"})
    started = time.perf_counter()
    result = rt.run("crm", customer_id="c1", ticket="t")
    release.set()
    assert time.perf_counter() - started < 1.0
    assert result.text == "valued customer|standard|0|t"
    assert [name for name, _ in result.context_degraded] == ["customer"]
    assert "timed out" in result.context_degraded[0][1]
    assert "fallback" in result.context_degraded[0][1]
    rt.close()
    assert _degraded_rows(tmp_path / "ledger.sqlite") == [[list(result.context_degraded[0])]]


def test_async_timeout_in_arun_uses_fallback(rt: Runtime, fake_llm: FakeLLM) -> None:
    _echo(fake_llm)

    async def slow_crm(inputs: Any) -> dict[str, str]:
        await asyncio.sleep(5)
        return {"name": "never"}

    rt.resolver("customer", slow_crm, timeout_s=0.05, fallback={"name": "guest"})

    async def main() -> Any:
        try:
            return await rt.arun("crm", customer_id="c1", ticket="t")
        finally:
            await rt.aclose()

    started = time.perf_counter()
    result = asyncio.run(main())
    assert time.perf_counter() - started < 1.0
    assert result.text.startswith("guest|")
    assert result.context_degraded[0][0] == "customer"


def test_raise_uses_the_inputs_default_and_healthy_calls_record_nothing(
    rt: Runtime, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    _echo(fake_llm)

    def policy(inputs: Any) -> str:
        raise ConnectionError("policy service down")

    rt.resolver("customer", lambda inputs: {"name": "Ada"})
    rt.resolver("policy", policy)
    result = rt.run("crm", customer_id="c1", ticket="t")
    assert result.text == "Ada|standard|0|t"  # the schema's default
    assert result.context_degraded == (
        ("policy", "raised ConnectionError: policy service down; used the input's default"),
    )
    ok = rt.run("crm", customer_id="c1", ticket="t", policy="gold")  # passed: no resolver
    assert ok.text == "Ada|gold|0|t" and ok.context_degraded == ()
    rt.close()
    rows = _degraded_rows(tmp_path / "ledger.sqlite")
    assert rows == [[list(result.context_degraded[0])], None]


def test_required_input_timeout_without_fallback_fails_with_context_error(
    rt: Runtime, fake_llm: FakeLLM
) -> None:
    def slow(inputs: Any) -> dict[str, str]:
        time.sleep(0.3)
        return {"name": "x"}

    rt.resolver("customer", slow, timeout_s=0.05)
    with pytest.raises(ContextError, match=r"required input 'customer'.*timed out"):
        rt.run("crm", customer_id="c1", ticket="t")
    assert fake_llm.requests == []  # nothing was sent


def test_cache_hits_are_keyed_by_what_the_resolver_reads(rt: Runtime, fake_llm: FakeLLM) -> None:
    _echo(fake_llm)
    calls: list[dict[str, Any]] = []

    @rt.resolver("customer", cache_ttl_s=60, reads=("customer_id",))
    def customer(inputs: Any) -> dict[str, str]:
        calls.append(dict(inputs))
        return {"name": f"N{inputs['customer_id']}"}

    assert rt.run("crm", customer_id="1", ticket="a").text.startswith("N1|")
    assert rt.run("crm", customer_id="1", ticket="b").text.startswith("N1|")  # hit
    assert rt.run("crm", customer_id="2", ticket="a").text.startswith("N2|")  # other key
    assert calls == [{"customer_id": "1"}, {"customer_id": "2"}]  # only what it reads


def test_failures_are_not_cached(rt: Runtime, fake_llm: FakeLLM) -> None:
    _echo(fake_llm)
    attempts = [0]

    def flaky(inputs: Any) -> dict[str, str]:
        attempts[0] += 1
        if attempts[0] == 1:
            raise ConnectionError("down")
        return {"name": "Back"}

    rt.resolver("customer", flaky, cache_ttl_s=60, fallback={"name": "guest"})
    assert rt.run("crm", customer_id="1", ticket="a").text.startswith("guest|")
    assert rt.run("crm", customer_id="1", ticket="a").text.startswith("Back|")
    assert rt.run("crm", customer_id="1", ticket="a").text.startswith("Back|")
    assert attempts[0] == 2


def test_a_resolver_reading_another_resolved_input_runs_after_it(
    rt: Runtime, fake_llm: FakeLLM
) -> None:
    _echo(fake_llm)
    rt.resolver("customer", lambda inputs: {"name": "Ada", "tier": "gold"})
    rt.resolver(
        "policy", lambda inputs: f"{inputs['customer']['tier']}-policy", reads=("customer",)
    )
    assert rt.run("crm", customer_id="1", ticket="t").text == "Ada|gold-policy|0|t"


def test_ttl_expiry_and_lru_bound() -> None:
    now = [0.0]
    cache = TTLCache(ttl_s=10, size=2, clock=lambda: now[0])
    cache.put("a", 1)
    assert cache.get("a") == (True, 1)
    now[0] = 10.0
    assert cache.get("a") == (False, None)  # expired at exactly ttl
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") == (False, None) and cache.get("a") == (True, 1)
    assert len(cache) == 2


def test_resolver_cache_expires_with_the_runtime_clock() -> None:
    now = [0.0]
    resolvers = Resolvers(clock=lambda: now[0])
    calls = [0]

    def customer(inputs: Any) -> dict[str, str]:
        calls[0] += 1
        return {"name": str(calls[0])}

    resolvers.register("customer", customer, cache_ttl_s=5)
    crm = prompt("crm", template="x", inputs={"customer": {"type": "object"}})
    assert resolvers.resolve_sync(crm, {}).values["customer"] == {"name": "1"}
    now[0] = 4.9
    assert resolvers.resolve_sync(crm, {}).values["customer"] == {"name": "1"}
    now[0] = 5.0
    assert resolvers.resolve_sync(crm, {}).values["customer"] == {"name": "2"}


def test_a_cycle_between_resolvers_is_a_context_error() -> None:
    resolvers = Resolvers()
    resolvers.register("a", lambda i: 1, reads=("b",))
    resolvers.register("b", lambda i: 2, reads=("a",))
    p = prompt("p", template="x", inputs={"a": {"type": "integer"}, "b": {"type": "integer"}})
    with pytest.raises(ContextError, match="a, b read each other"):
        resolvers.resolve_sync(p, {})
