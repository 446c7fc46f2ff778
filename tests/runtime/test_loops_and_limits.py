"""Connection pools across event loops, and provider limits across reloads."""

from __future__ import annotations

import asyncio
import gc
import warnings
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest

from fakes.llm_server import FakeLLM, PeakReply, fake_providers
from promptctl.runtime import Runtime

from .helpers import prompt, write_bundle


@pytest.fixture
def live_async_clients(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Counts the httpx2 async clients made since the test began that are still alive
    and open (every client, a PooledClient too, passes AsyncClient.__init__). Weak
    references: a walk over gc.get_objects() of a worker's heap took ~0.25 s a count."""
    made: weakref.WeakSet[httpx2.AsyncClient] = weakref.WeakSet()
    init = httpx2.AsyncClient.__init__

    def tracked(self: httpx2.AsyncClient, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        made.add(self)

    monkeypatch.setattr(httpx2.AsyncClient, "__init__", tracked)

    def count() -> int:
        gc.collect()
        return sum(not client.is_closed for client in made)

    return count


def test_asyncio_run_per_call_keeps_clients_bounded(
    tmp_path: Path,
    fake_llm: FakeLLM,
    fake_env: dict[str, str],
    live_async_clients: Callable[[], int],
) -> None:
    path = tmp_path / "app.bundle.json"
    write_bundle(path, [prompt()], fake_providers(fake_llm, max_retries=0))
    before = live_async_clients()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Runtime.load(path, env=fake_env, ledger=False) as rt:
            texts = [asyncio.run(rt.arun("support/triage", ticket="t")).text for _ in range(25)]
            assert live_async_clients() - before == 0  # each loop's client closed at its exit
        gc.collect()
    assert texts == ["hello from fake"] * 25
    assert fake_llm.calls["openai"] == 25
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_event_loops_on_many_threads_share_a_runtime_without_leaking_clients(
    tmp_path: Path,
    fake_llm: FakeLLM,
    fake_env: dict[str, str],
    live_async_clients: Callable[[], int],
) -> None:
    path = tmp_path / "app.bundle.json"
    write_bundle(path, [prompt()], fake_providers(fake_llm, max_retries=0))
    before = live_async_clients()
    with Runtime.load(path, env=fake_env, ledger=False) as rt, ThreadPoolExecutor(4) as pool:
        texts = list(
            pool.map(
                lambda i: asyncio.run(rt.arun("support/triage", ticket=f"{i}")).text, range(16)
            )
        )
        assert live_async_clients() - before == 0
    assert texts == ["hello from fake"] * 16


def _bundle(path: Path, fake: FakeLLM, max_concurrency: int) -> None:
    providers = fake_providers(fake, max_retries=0, max_concurrency=max_concurrency)
    write_bundle(path, [prompt(template=f"{{{{ ticket }}}} {max_concurrency}")], providers)


def test_reload_applies_new_max_concurrency_to_run(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    path = tmp_path / "app.bundle.json"
    _bundle(path, fake_llm, 1)
    with Runtime.load(path, env=fake_env, ledger=False) as rt, ThreadPoolExecutor(4) as pool:
        peaks = []
        for limit in (1, 3):
            if limit != 1:
                _bundle(path, fake_llm, limit)
                assert rt.reload()
            fake_llm.reply(gauge := PeakReply())
            list(pool.map(lambda i: rt.run("support/triage", ticket=f"t{i}"), range(8)))
            peaks.append(gauge.peak)
    assert peaks[0] == 1
    assert 2 <= peaks[1] <= 3


def test_reload_applies_new_max_concurrency_to_arun_on_the_same_loop(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    path = tmp_path / "app.bundle.json"
    _bundle(path, fake_llm, 3)

    async def main() -> list[int]:
        peaks = []
        async with Runtime.load(path, env=fake_env, ledger=False) as rt:
            for limit in (3, 1):
                if limit != 3:
                    _bundle(path, fake_llm, limit)
                    assert rt.reload()
                fake_llm.reply(gauge := PeakReply())
                await asyncio.gather(*(rt.arun("support/triage", ticket=f"{i}") for i in range(6)))
                peaks.append(gauge.peak)
        return peaks

    first, second = asyncio.run(main())
    assert 2 <= first <= 3
    assert second == 1
