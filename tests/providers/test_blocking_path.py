"""`Gateway.complete_sync`: the blocking path on the caller's thread, and its limits."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from provider_helpers import chat

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.errors import ProviderError
from promptctl.promptfile.model import Project
from promptctl.providers.gateway import Gateway
from promptctl.providers.limits import SyncLimiter
from promptctl.providers.types import CallRecord


def test_complete_sync_calls_on_the_callers_thread_with_retries_and_sync_sleep(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    threads: list[int] = []
    waits: list[float] = []

    def on_call(record: CallRecord) -> None:
        threads.append(threading.get_ident())

    fake_llm.rate_limit(retry_after="0.25")
    gateway = Gateway(
        fake_project, env=fake_env, use_cache=False, on_call=on_call, sync_sleep=waits.append
    )
    try:
        response = gateway.complete_sync(chat("openai/gpt-4o-mini"))
    finally:
        gateway.close()
    assert response.attempts == 2 and waits == [0.25]
    assert threads == [threading.get_ident()] * 2  # no hop to another thread


def test_an_async_only_sleep_runs_complete_sync_on_the_private_loop(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    threads: list[int] = []
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    fake_llm.rate_limit(retry_after="0.5")
    gateway = Gateway(
        fake_project,
        env=fake_env,
        use_cache=False,
        sleep=sleep,
        on_call=lambda _: threads.append(threading.get_ident()),
    )
    try:
        response = gateway.complete_sync(chat("openai/gpt-4o-mini"))
    finally:
        gateway.close()
    assert response.attempts == 2 and waits == [0.5]
    assert len(set(threads)) == 1 and threads[0] != threading.get_ident()


def test_circuit_opens_for_blocking_callers_on_many_threads(
    fake_llm: FakeLLM, tmp_path: Path, fake_env: dict[str, str]
) -> None:
    project = Project(
        root=tmp_path, evals_dir=tmp_path, providers=fake_providers(fake_llm, max_retries=0)
    )
    for _ in range(20):
        fake_llm.error(500)
    gateway = Gateway(project, env=fake_env, use_cache=False, breaker_threshold=3)

    def call(_: int) -> str:
        try:
            gateway.complete_sync(chat("openai/gpt-4o-mini"))
        except ProviderError as exc:
            return exc.kind
        return "ok"

    try:
        with ThreadPoolExecutor(3) as pool:
            kinds = list(pool.map(call, range(12)))
    finally:
        gateway.close()
    assert kinds.count("circuit_open") >= 12 - 3 - 2  # at most threshold + in-flight reach it
    assert set(kinds) == {"server", "circuit_open"}
    assert fake_llm.calls["openai"] == kinds.count("server")


def test_sync_limiter_bounds_in_flight_threads_and_requests_per_minute() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = SyncLimiter(max_concurrency=4, rpm=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter.acquire()
        now[0] += 1.0
        limiter.release()
    assert waits == [58.0]  # the third start waits until the first leaves the 60 s window

    limiter = SyncLimiter(max_concurrency=2, rpm=None, clock=time.monotonic, sleep=time.sleep)
    lock, in_flight, peak = threading.Lock(), [0], [0]

    def one(_: int) -> None:
        limiter.acquire()
        try:
            with lock:
                in_flight[0] += 1
                peak[0] = max(peak[0], in_flight[0])
            time.sleep(0.005)
            with lock:
                in_flight[0] -= 1
        finally:
            limiter.release()

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(one, range(18)))
    assert peak[0] == 2


def test_slow_server_times_out_on_the_blocking_path(
    fake_llm: FakeLLM, tmp_path: Path, fake_env: dict[str, str]
) -> None:
    project = Project(
        root=tmp_path,
        evals_dir=tmp_path,
        providers=fake_providers(fake_llm, max_retries=0, timeout_s=0.2),
    )
    fake_llm.timeout(1.0)
    gateway = Gateway(project, env=fake_env, use_cache=False)
    started = time.monotonic()
    try:
        with pytest.raises(ProviderError) as info:
            gateway.complete_sync(chat("openai/gpt-4o-mini"))
    finally:
        gateway.close()
    assert info.value.kind == "timeout"
    assert time.monotonic() - started < 0.9
