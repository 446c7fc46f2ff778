"""Closing: one event loop's `aclose()` leaves shared resources to the others; `close()` ends."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.errors import PromptctlError
from promptctl.ledger.store import connect
from promptctl.runtime import Runtime

from .helpers import prompt, write_bundle


def _rows(path: Path) -> int:
    db = connect(path, readonly=True)
    try:
        return int(db.execute("SELECT count(*) FROM calls").fetchone()[0])
    finally:
        db.close()


def test_aclose_in_one_loop_keeps_the_ledger_for_threads_still_calling(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    bundle = tmp_path / "app.bundle.json"
    write_bundle(bundle, [prompt()], fake_providers(fake_llm, max_retries=0))
    ledger = tmp_path / "ledger.sqlite"
    fake_llm.latency_s = 0.002
    rt = Runtime.load(bundle, env=fake_env, ledger=ledger)
    errors: list[BaseException] = []
    started = threading.Barrier(5)

    def caller() -> None:
        started.wait()
        try:
            for _ in range(40):
                rt.run("support/triage", ticket="t")
        except BaseException as exc:  # reported below
            errors.append(exc)

    async def one_loop() -> None:
        started.wait()
        for _ in range(5):
            await rt.arun("support/triage", ticket="a")
        await rt.aclose()  # while the threads are still calling

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    asyncio.run(one_loop())
    for t in threads:
        t.join()
    assert errors == []
    assert rt.run("support/triage", ticket="after aclose").ok
    rt.close()
    served = fake_llm.calls["openai"]
    assert served == 4 * 40 + 5 + 1
    assert _rows(ledger) == served  # every paid call has its row

    with pytest.raises(PromptctlError, match="Runtime is closed") as info:
        rt.run("support/triage", ticket="t")
    assert "aclose()" in (info.value.hint or "")

    async def after_close() -> None:
        await rt.arun("support/triage", ticket="t")

    with pytest.raises(PromptctlError, match="Runtime is closed"):
        asyncio.run(after_close())
    assert fake_llm.calls["openai"] == served
