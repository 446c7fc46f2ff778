"""Every provider fault through `run` and `arun`: error kind, retries, fallback, message.

Waits are recorded instead of slept (the Gateway's `sleep`/`sync_sleep` options), so
each case is quick; the timeout case costs one client timeout (0.3 s).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fakes.faults import ANTHROPIC, CASES, OPENAI, PRIMARY, TIMEOUT_S, Case
from fakes.llm_server import FakeLLM, fake_providers
from promptctl.errors import ProviderError
from promptctl.promptfile.model import Target
from promptctl.providers.types import CallRecord
from promptctl.runtime import Runtime

from .helpers import prompt, write_bundle

RETRIES = 2


class _Sink:
    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    def record(self, record: CallRecord) -> None:
        self.records.append(record)


@dataclass
class Env:
    rt: Runtime
    fake: FakeLLM
    sink: _Sink
    waits: list[float]
    keys: dict[str, str]


@pytest.fixture
def env(tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]) -> Iterator[Env]:
    path = tmp_path / "app.bundle.json"
    prompts = []
    for wire, target in PRIMARY.items():
        backup = ANTHROPIC if wire == "openai" else OPENAI
        prompts.append(prompt(f"fb/{wire}", use=target, fallbacks=(Target(use=backup),)))
        prompts.append(prompt(f"solo/{wire}", use=target))
    providers = fake_providers(fake_llm, max_retries=RETRIES, timeout_s=TIMEOUT_S)
    write_bundle(path, prompts, providers)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    sink = _Sink()
    options: dict[str, Any] = {"sleep": sleep, "sync_sleep": waits.append, "retry_base_s": 0.001}
    with Runtime.load(path, env=fake_env, ledger=sink, gateway_options=options) as rt:
        yield Env(rt, fake_llm, sink, waits, fake_env)


def _call(env: Env, ref: str, how: str) -> Any:
    if how == "run":
        return env.rt.run(ref, ticket="t")
    return asyncio.run(env.rt.arun(ref, ticket="t"))


def _check_waits(case: Case, waits: list[float]) -> None:
    if not case.retried:
        assert waits == []
    elif case.waits is not None:
        assert tuple(waits) == case.waits
    else:  # full jitter below retry_base_s * 2**n
        assert waits and all(0 <= w <= 0.001 * 2**i for i, w in enumerate(waits))


@pytest.mark.parametrize("how", ["run", "arun"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_one_fault_is_retried_or_falls_over(env: Env, case: Case, how: str) -> None:
    case.inject(env.fake, case.wire)
    started = time.monotonic()
    result = _call(env, f"fb/{case.wire}", how)
    assert time.monotonic() - started < TIMEOUT_S + 1.0
    first = env.sink.records[0]
    assert first.outcome == "error" and first.error_kind == case.kind
    assert first.target == PRIMARY[case.wire]
    if case.retried:  # the primary answers its retry
        assert result.model == PRIMARY[case.wire] and result.fallbacks_tried == ()
        assert env.fake.calls[case.wire] == 2
    else:  # not worth a retry: the fallback answers at once
        assert [(s.target, s.reason) for s in result.fallbacks_tried] == [
            (PRIMARY[case.wire], case.kind)
        ]
        assert result.model != PRIMARY[case.wire]
        assert env.fake.calls[case.wire] == 1
    assert result.text == "hello from fake"
    assert [r.outcome for r in env.sink.records] == ["error", "ok"]
    _check_waits(case, env.waits)


@pytest.mark.parametrize("case", [c for c in CASES if c.name != "timeout"], ids=lambda c: c.name)
def test_a_persistent_fault_raises_a_clear_error_without_the_key(env: Env, case: Case) -> None:
    for _ in range(RETRIES + 1):
        case.inject(env.fake, case.wire)
    with pytest.raises(ProviderError) as info:
        env.rt.run(f"solo/{case.wire}", ticket="t")
    exc = info.value
    assert exc.kind == case.kind
    assert env.fake.calls[case.wire] == (RETRIES + 1 if case.retried else 1)
    text = str(exc)
    assert text.startswith(f"{PRIMARY[case.wire]}: {case.kind}: ")
    assert "Traceback" not in text
    assert not any(key in text for key in env.keys.values())
    assert not any(key in repr(r) for r in env.sink.records for key in env.keys.values())
