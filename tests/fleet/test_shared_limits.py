"""Rate limits, retry-after pauses and breakers shared by processes through a real Redis."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from fakes.servers import RedisServer
from fleet.worker import Forked, spawn, start_together
from promptctl.promptfile.model import ProviderSettings
from promptctl.providers.shared_state import SharedState
from promptctl.runtime import Runtime
from runtime.helpers import prompt, write_bundle

KEYS = {"OPENAI_API_KEY": "sk-test-openai-0123456789abcdef"}


def _bundle(tmp_path: Path, fake: FakeLLM, **settings: Any) -> Path:
    providers = fake_providers(fake)
    openai = ProviderSettings(**{**providers["openai"].__dict__, **settings})
    path = tmp_path / "app.bundle.json"
    write_bundle(path, [prompt()], {"openai": openai})
    return path


def _started(job: dict[str, Any]) -> Forked:
    proc = spawn(job)
    start_together([proc])
    return proc


def _results(proc: Forked) -> tuple[list[dict[str, Any]], str]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()], err


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def test_four_processes_share_one_rate_limit(tmp_path: Path, fake_llm: FakeLLM, redis_url: str):
    # 6 requests per 1 s window: the limiter is parametrised by (rate, window), the same
    # Lua script for 60 per 60 s, whose admissions the next test checks at production
    # parameters; here the timing, scaled down 60x. Alone, each process could send all
    # of its 3 at once; together the 12 need two windows.
    bundle = _bundle(tmp_path, fake_llm, rpm=6)
    jobs = [
        {"bundle": str(bundle), "env": KEYS, "redis": redis_url, "window_s": 1.0}
        | {"calls": 3, "name": f"p{i}"}
        for i in range(4)
    ]
    procs = [spawn(job) for job in jobs]
    start_together(procs)  # every process loaded before the first call
    results = [_results(proc) for proc in procs]
    assert not any("unreachable" in err for _, err in results)  # Redis decided every call
    lines = [line for out, _ in results for line in out]
    assert len(lines) == 12 and all(line["ok"] for line in lines)
    arrivals = [r.at for r in fake_llm.requests]
    assert len(arrivals) == 12
    assert _max_in_window(arrivals, 1.0) <= 6
    # and the limit bound the fleet: 12 requests at 6 per second wait for a second window
    assert max(arrivals) - min(arrivals) >= 1.0


def test_sixty_per_minute_admits_sixty_then_the_rest_wait_for_the_oldest_to_age_out(
    redis_url: str,
):
    # the production parameters (60 requests, 60 s window), 4 clients of their own asking
    # 30 times each at once: no waiting needed to check who is admitted and for how long
    clients = [SharedState(redis_url, window_s=60.0, timeout_s=5.0) for _ in range(4)]
    waits: list[float | None] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def ask(state: SharedState) -> None:
        barrier.wait()
        for _ in range(30):
            wait = state.admit("openai", 60, None)
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=ask, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    admitted = [w for w in waits if w == 0]
    refused = [w for w in waits if w]
    assert len(admitted) == 60 and len(refused) == 60
    assert all(w is not None and 58.0 < w <= 60.0 for w in refused)  # the oldest start + 60 s


def test_a_retry_after_seen_by_one_process_pauses_the_others(
    tmp_path: Path, fake_llm: FakeLLM, redis_url: str
):
    bundle = tmp_path / "app.bundle.json"
    warm = prompt("warm/up", use="anthropic/claude-3-5-haiku-latest")
    write_bundle(bundle, [prompt(), warm], fake_providers(fake_llm))
    # the first OpenAI request anyone sends; a 1 s pause: both processes are loaded and
    # warmed up before either calls, so b is already waiting for the pause when it starts
    fake_llm.rate_limit(retry_after=1, wire="openai")
    env = KEYS | {"ANTHROPIC_API_KEY": "sk-ant-test-0123456789"}
    job = {"bundle": str(bundle), "env": env, "redis": redis_url, "calls": 1, "warmup": "warm/up"}
    first = spawn(job | {"name": "a"})
    # the other process calls as soon as the first one's 429 is known to the fleet
    other = spawn(job | {"name": "b", "wait_for_key": "promptctl:pause:openai"})
    start_together([first, other])
    (a_line,), _ = _results(first)
    (b_line,), _ = _results(other)
    assert a_line["ok"] and b_line["ok"]
    wall = time.time() - time.monotonic()  # server arrivals are monotonic: to wall clock
    a_requests = [r for r in fake_llm.requests if "a-0" in json.dumps(r.body)]
    (b_request,) = [r for r in fake_llm.requests if "b-0" in json.dumps(r.body)]
    assert len(a_requests) == 2  # the 429, then its own retry
    limited_at = a_requests[0].at
    assert b_line["t0"] < limited_at + wall + 1.0  # b was calling during the pause ...
    assert b_request.at - limited_at >= 0.95  # ... and reached the provider after it


def test_a_breaker_opened_by_one_process_is_open_for_the_others(
    tmp_path: Path, fake_llm: FakeLLM, redis_url: str
):
    bundle = _bundle(tmp_path, fake_llm, max_retries=0)
    options = {"breaker_threshold": 2, "breaker_cooldown_s": 30.0}
    for _ in range(2):
        fake_llm.error(500)
    job = {"bundle": str(bundle), "env": KEYS, "redis": redis_url, "gateway_options": options}
    lines, _ = _results(_started(job | {"calls": 2, "name": "a"}))
    assert [line["kind"] for line in lines] == ["server", "server"]
    lines, _ = _results(_started(job | {"calls": 3, "name": "b"}))
    assert [line["kind"] for line in lines] == ["circuit_open"] * 3
    assert len(fake_llm.requests) == 2  # the second process never called the provider


def test_half_open_lets_one_probe_through_for_the_whole_fleet(redis_url: str):
    fleet = [SharedState(redis_url) for _ in range(4)]  # four processes' connections
    target = "openai/gpt-4o-mini"
    for _ in range(3):
        fleet[0].breaker_failure(target, threshold=3, cooldown_s=0.5)
    assert {s.breaker_allow(target, lease_s=5) for s in fleet} == {-1}  # open for all
    time.sleep(0.6)
    verdicts: list[int | None] = []
    barrier = threading.Barrier(8)

    def ask(state: SharedState) -> None:
        barrier.wait()
        verdicts.append(state.breaker_allow(target, lease_s=5))

    threads = [threading.Thread(target=ask, args=(fleet[i % 4],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(v for v in verdicts if v is not None) == [-1] * 7 + [2]
    fleet[3].breaker_success(target)  # the probe answered: closed for everyone
    assert {s.breaker_allow(target, lease_s=5) for s in fleet} == {0}


def test_a_failed_probe_reopens_the_breaker_at_once(redis_url: str):
    a, b = SharedState(redis_url), SharedState(redis_url)
    target = "openai/gpt-4o"
    for _ in range(2):
        a.breaker_failure(target, threshold=2, cooldown_s=0.5)
    time.sleep(0.6)
    assert b.breaker_allow(target, lease_s=5) == 2
    assert b.breaker_failure(target, threshold=2, cooldown_s=0.5) is True
    assert a.breaker_allow(target, lease_s=5) == -1


def test_token_rate_is_charged_to_the_fleet(redis_url: str):
    a, b = SharedState(redis_url, window_s=1.0), SharedState(redis_url, window_s=1.0)
    assert a.admit("openai", None, 100) == 0
    a.spend("openai", 100, 150)  # 50 tokens of debt at 100 tokens per second
    wait = b.admit("openai", None, 100)
    assert wait is not None and 0.2 <= wait <= 0.52  # ~0.51 s, less what refilled meanwhile
    time.sleep(wait + 0.05)
    assert b.admit("openai", None, 100) == 0


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer.find().start()
    try:
        yield server
    finally:
        server.kill()


def test_redis_killed_mid_run_calls_go_on_under_local_limits(
    tmp_path: Path, fake_llm: FakeLLM, own_redis: RedisServer, caplog: pytest.LogCaptureFixture
):
    bundle = _bundle(tmp_path, fake_llm, rpm=3)
    now = [1000.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the local limiter's waits, on a fake clock
        waits.append(seconds)
        now[0] += seconds

    shared = SharedState(own_redis.url, window_s=60.0, timeout_s=0.2)
    options = {"sync_sleep": sleep, "clock": lambda: now[0]}
    runtime = Runtime.load(bundle, env=KEYS, shared_state=shared, gateway_options=options)
    with runtime, caplog.at_level(logging.WARNING, "promptctl.shared_state"):
        for n in range(2):
            runtime.run("support/triage", ticket=f"before-{n}")
        assert waits == []  # the fleet's limit (3 per minute) was not reached
        own_redis.kill()
        for n in range(5):
            runtime.run("support/triage", ticket=f"after-{n}")
    assert len(fake_llm.requests) == 7  # no call failed because Redis was gone
    # the process's own limiter took over: 3 per minute, so the 4th call after the kill
    # waited for a minute-long window
    assert len(waits) == 1 and 59.0 <= waits[0] <= 60.0
    down = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(down) == 1 and own_redis.url.split("//")[1] in down[0].getMessage()


def test_a_pause_is_bounded_by_the_longest_retry_wait(redis_url: str):
    """One answer's `retry-after: 86400` (or a hostile server's 1e300) must not stop the
    fleet for a day: a pause lasts at most MAX_WAIT_S; a non-finite one is ignored."""
    import redis

    from promptctl.providers.retry import MAX_WAIT_S

    shared = SharedState(redis_url)
    client = redis.Redis.from_url(redis_url)
    try:
        for seconds in (86_400.0, 1e300):
            shared.pause("openai", seconds)
            ttl_ms = client.pttl("promptctl:pause:openai")
            assert 0 < ttl_ms <= MAX_WAIT_S * 1000, (seconds, ttl_ms)
            client.delete("promptctl:pause:openai")
        for seconds in (float("inf"), float("nan"), -1.0):
            shared.pause("openai", seconds)
            assert client.pttl("promptctl:pause:openai") == -2, seconds  # no such key
    finally:
        client.close()
        shared.close()
