"""Answers' ledger rows written in batches (providers/answer_records.py), against the fake
server and a real SQLite ledger: a caller never holds an answer whose row is not on disk."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from provider_helpers import chat

from fakes.llm_server import FakeLLM
from promptctl.ledger import Ledger
from promptctl.promptfile.model import Project
from promptctl.providers.answer_records import MAX_BATCH
from promptctl.providers.gateway import Gateway
from promptctl.providers.types import CallContext


def _rows(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {str(r[0]) for r in db.execute("SELECT test FROM calls WHERE outcome = 'ok'")}
    finally:
        db.close()


def _test(i: int) -> CallContext:
    return CallContext(source="eval", test=f"t{i}")


def _gateway(project: Project, ledger: Ledger, window_s: float = 0.0) -> Gateway:
    return Gateway(
        project,
        mode="live",
        env={"OPENAI_API_KEY": "sk-x"},
        on_call=ledger.record,
        on_call_blocks=True,
        commit_window_s=window_s,
    )


def _count_commits(ledger: Ledger) -> list[int]:
    """The size of each batch the loop commits (the ledger's `try_record_many`)."""
    sizes: list[int] = []
    commit = ledger.try_record_many

    def counted(records: list[Any]) -> bool:
        sizes.append(len(records))
        return commit(records)

    ledger.try_record_many = counted  # type: ignore[method-assign]
    return sizes


def _answer_all(gateway: Gateway, path: Path, n: int, stagger_s: float = 0.0) -> list[float]:
    """`n` calls (the i-th `i * stagger_s` late), each checking, as soon as its caller has
    the answer, that its row is committed (read by another connection, as after a kill
    -9); returns how long each call took."""
    missing: list[str] = []
    waited: list[float] = []

    async def one(i: int) -> None:
        await asyncio.sleep(i * stagger_s)
        started = time.monotonic()
        await gateway.complete(chat("openai/gpt-4o-mini", ("user", f"q{i}")), context=_test(i))
        waited.append(time.monotonic() - started)
        if f"t{i}" not in _rows(path):
            missing.append(f"t{i}")

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(n)))
        await gateway.aclose()

    asyncio.run(main())
    assert missing == []
    return waited


@pytest.mark.parametrize("window_s", [0.0, 0.25])
def test_a_commit_window_groups_answers_of_many_loop_turns_and_still_commits_first(
    fake_project: Project, fake_llm: FakeLLM, tmp_path: Path, window_s: float
) -> None:
    """Ten answers arriving ~5 ms apart: without a window, one commit each; with one,
    they share a commit, and each caller still gets its answer only after its row."""
    fake_llm.latency_s = 0.01
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)
    sizes = _count_commits(ledger)
    waited = _answer_all(_gateway(fake_project, ledger, window_s), path, 10, stagger_s=0.005)
    ledger.close()
    assert _rows(path) == {f"t{i}" for i in range(10)}
    assert sum(sizes) == 10
    if window_s:
        assert len(sizes) <= 2
        assert max(waited) >= window_s * 0.9  # the first answer waited for the others
    else:  # (on a loaded machine a stalled loop may see two or three in one turn)
        assert len(sizes) >= 4
        assert max(waited) < 0.2


def test_a_full_batch_is_committed_without_waiting_out_the_window(
    fake_project: Project, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)
    sizes = _count_commits(ledger)
    gateway = _gateway(fake_project, ledger, window_s=60.0)

    async def main() -> float:
        started = time.monotonic()
        calls = (
            gateway.complete(chat("openai/gpt-4o-mini", ("user", f"q{i}")), context=_test(i))
            for i in range(MAX_BATCH)
        )
        await asyncio.wait_for(asyncio.gather(*calls), timeout=30)
        elapsed = time.monotonic() - started
        await gateway.aclose()
        return elapsed

    assert asyncio.run(main()) < 30
    ledger.close()
    assert sizes == [MAX_BATCH]
    assert len(_rows(path)) == MAX_BATCH


def test_a_caller_cancelled_in_the_window_leaves_its_row_to_be_committed(
    fake_project: Project, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    """Ctrl-C while an answer waits for its commit: the paid call is still recorded
    (the write is shielded, and `aclose` waits for the window's commit)."""
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)
    gateway = _gateway(fake_project, ledger, window_s=1.0)
    answers = gateway.calls.answers
    assert answers is not None

    async def main() -> bool:
        call = asyncio.ensure_future(
            gateway.complete(chat("openai/gpt-4o-mini", ("user", "q")), context=_test(0))
        )
        while not answers.pending:  # answered: its row waits in the window
            await asyncio.sleep(0.002)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        before = "t0" in _rows(path)
        await gateway.aclose()
        return before

    assert asyncio.run(main()) is False  # not committed before the window closed
    ledger.close()
    assert _rows(path) == {"t0"}


def test_every_answer_has_its_row_committed_when_the_caller_gets_it(
    fake_project: Project, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    fake_llm.latency_s = 0.01
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)
    _answer_all(_gateway(fake_project, ledger), path, 60)
    ledger.close()
    assert _rows(path) == {f"t{i}" for i in range(60)}
    assert fake_llm.calls["openai"] == 60


@pytest.mark.parametrize("window_s", [0.0, 0.005])
def test_a_locked_ledger_holds_the_answers_back_until_their_rows_are_written(
    fake_project: Project, fake_llm: FakeLLM, tmp_path: Path, window_s: float
) -> None:
    """Another process holds the ledger's write lock: the answers wait (on a worker
    thread's commit, not on the loop, which keeps serving) and none is lost; with an
    evaluation's commit window too."""
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)
    gateway = _gateway(fake_project, ledger, window_s)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release() -> None:
        other.execute("COMMIT")
        released.set()

    ticks = 0

    async def ticker() -> None:  # the loop is not blocked while the lock is held
        nonlocal ticks
        while not released.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    async def main() -> list[bool]:
        timer = threading.Timer(0.4, release)
        timer.start()
        beat = asyncio.ensure_future(ticker())
        started = time.monotonic()
        done = []
        calls = [
            gateway.complete(chat("openai/gpt-4o-mini", ("user", f"q{i}")), context=_test(i))
            for i in range(5)
        ]
        for finished in asyncio.as_completed(calls):
            await finished
            done.append(released.is_set() and time.monotonic() - started >= 0.35)
        await beat
        await gateway.aclose()
        timer.join()
        return done

    assert asyncio.run(main()) == [True] * 5
    assert ticks >= 10
    ledger.close()
    other.close()
    assert _rows(path) == {f"t{i}" for i in range(5)}
    assert ledger.dropped == 0


# Twenty tasks on one event loop calling through the gateway into a SQLite ledger; one
# line on stdout per answer a caller received (its test name).
APP = """
import asyncio, sys
from pathlib import Path
from promptctl.ledger import Ledger
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.chat import ChatMessage
from promptctl.promptfile.model import Project, ProviderSettings
from promptctl.providers.gateway import Gateway
from promptctl.providers.types import CallContext

settings = ProviderSettings("openai", "openai", sys.argv[1], "OPENAI_API_KEY", max_retries=0)
project = Project(root=Path(sys.argv[2]), providers={"openai": settings})
ledger = Ledger(Path(sys.argv[2]) / "ledger.sqlite")
gateway = Gateway(project, mode="live", env={"OPENAI_API_KEY": "sk-x"},
                  on_call=ledger.record, on_call_blocks=True,
                  commit_window_s=float(sys.argv[3]))

async def worker(w):
    for i in range(10**6):
        name = f"w{w}-{i}"
        request = ChatRequest("openai", "gpt-4o-mini", (ChatMessage("user", name),))
        await gateway.complete(request, context=CallContext(test=name))
        sys.stdout.write(name + "\\n")
        sys.stdout.flush()

async def main():
    await asyncio.gather(*(worker(w) for w in range(20)))

asyncio.run(main())
"""


@pytest.mark.parametrize(("seed", "window_s"), [(1, 0.0), (2, 0.0), (3, 0.005)])
def test_sigkill_of_an_evaluation_loop_loses_no_answered_call(
    tmp_path: Path, fake_llm: FakeLLM, seed: int, window_s: float
) -> None:
    """kill -9 at a random point: every answer a caller received has its row (also
    with `promptctl test`'s commit window)."""
    fake_llm.latency_s = 0.002
    proc = subprocess.Popen(
        [sys.executable, "-c", APP, fake_llm.openai_base, str(tmp_path), str(window_s)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    answered: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        answered.extend(line.strip() for line in proc.stdout)

    reader = threading.Thread(target=read)
    reader.start()
    target = random.Random(seed).randint(100, 400)
    deadline = time.monotonic() + 60
    while len(answered) < target and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    reader.join(timeout=10)
    assert proc.stdout is not None
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert len(answered) >= target
    rows = _rows(tmp_path / "ledger.sqlite")
    assert set(answered) <= rows
    assert len(rows) <= fake_llm.calls["openai"]  # nothing invented
