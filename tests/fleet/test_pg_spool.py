"""The PostgreSQL ledger's spool: what a crash leaves is written exactly once, by the
next process on the ledger; odd text survives the COPY format."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from promptctl.ledger.postgres import PgLedger
from promptctl.ledger.report import read_rows
from promptctl.providers.types import CallContext, CallRecord, Usage


def _connect(url: str, **kwargs: Any) -> Any:
    """psycopg.connect, imported here: every xdist worker collects this file, one runs it."""
    import psycopg

    return psycopg.connect(url, **kwargs)


# a process on the ledger: 100 rows committed, then 200 rows recorded while the table
# is locked (they reach the spool, not the database), then it is killed
_CRASHING = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from test_pg_spool import record
    from promptctl.ledger.postgres import PgLedger

    ledger = PgLedger(sys.argv[1])
    for n in range(100):
        ledger.record(record(n))
    assert ledger.flush()
    print(ledger._spool.path, flush=True)
    sys.stdin.readline()  # the test locks the table
    for n in range(100, 300):
        ledger.record(record(n))
    time.sleep(0.3)  # > the 10 ms batch window: fsynced
    print("spooled", flush=True)
    time.sleep(60)  # killed here
    """
)


def record(n: int, prompt_id: str = "support/triage") -> CallRecord:
    return CallRecord(
        timestamp=1_700_000_000.0 + n,
        context=CallContext(source="runtime", prompt_id=prompt_id, prompt_version="1"),
        target="openai/gpt-4o-mini",
        model_reported="",
        outcome="ok",
        usage=Usage(input_tokens=n, output_tokens=1),
        cost_usd=0.001,
    )


def _tokens(url: str) -> list[int]:
    with _connect(url) as db:
        return sorted(r[0] for r in db.execute("SELECT input_tokens FROM calls"))


def test_a_crashed_process_rows_are_written_once_by_the_next_one(
    pg_url: str, _ledger_spool: Path, caplog: pytest.LogCaptureFixture
):
    with subprocess.Popen(
        [sys.executable, "-c", _CRASHING, pg_url, str(Path(__file__).parent)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            spool = Path(proc.stdout.readline().strip())
            assert _tokens(pg_url) == list(range(100))
            with _connect(pg_url) as locker:
                locker.execute("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE")  # COPY now waits
                proc.stdin.write("go\n")
                proc.stdin.flush()
                assert proc.stdout.readline().strip() == "spooled"
                os.kill(proc.pid, signal.SIGKILL)  # mid-COPY, nothing closed
                proc.wait()
                locker.rollback()
        finally:
            proc.kill()
    assert _tokens(pg_url) == list(range(100))
    with open(spool, "ab") as f:  # and its last write was torn by the crash
        f.write(b"#300 00000000\n1700000300.0\truntime")

    with caplog.at_level(logging.WARNING, "promptctl.ledger"):
        first, second = PgLedger(pg_url), PgLedger(pg_url)  # both find it; one drains it
        deadline = time.monotonic() + 30
        while spool.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        first.close()
        second.close()
    assert not spool.exists()
    assert _tokens(pg_url) == list(range(300))  # each row once: 0-99 were not resent
    assert any("torn frame" in r.getMessage() for r in caplog.records)
    with _connect(pg_url) as db:
        assert db.execute("SELECT count(*) FROM _ledger_spools").fetchone() == (0,)
    assert not list(_ledger_spool.glob("*/*.spool"))


def test_text_with_tabs_newlines_backslashes_and_nul_arrives_as_written(pg_url: str):
    odd = "a\tb\nc\\d\re 'é' \"q\" \\N"
    rec = record(1, prompt_id=odd)
    rec = dataclasses.replace(
        rec, context=dataclasses.replace(rec.context, tags=("x\ty", "nul\0")), fallback_from=""
    )
    with PgLedger(pg_url) as ledger:
        ledger.record(rec)
    (row,) = read_rows(pg_url)
    assert row.prompt_id == odd
    with _connect(pg_url) as db:
        stored = db.execute("SELECT tags, fallback_from, model_reported FROM calls").fetchone()
    # JSON keeps the tab and the NUL escaped; an empty string is not NULL
    assert stored == ('["x\\ty", "nul\\u0000"]', "", None)


def test_a_row_that_cannot_be_written_is_counted_and_the_writer_goes_on(pg_url: str):
    good = record(1)
    bad = dataclasses.replace(good, context=dataclasses.replace(good.context, tags=(object(),)))
    with PgLedger(pg_url) as ledger:
        ledger.record(bad)  # its tags are not JSON
        assert ledger.flush()
        assert ledger.dropped == 1 and "cannot encode" in (ledger.last_error or "")
        ledger.record(good)
        assert ledger.flush()
    assert _tokens(pg_url) == [1]


def test_a_failing_scan_of_other_spools_does_not_stop_this_process_rows(
    pg_url: str,
    _ledger_spool: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    """The drain thread also adopts spools of dead processes; whatever goes wrong there
    (a race with another process, a bug) is logged, and this process's rows still reach
    PostgreSQL."""
    from promptctl.ledger.spool import Spool

    def broken(*_: Any, **__: Any) -> list[Path]:
        raise RuntimeError("the orphan scan broke")

    monkeypatch.setattr(Spool, "orphans", staticmethod(broken))
    with caplog.at_level(logging.WARNING, "promptctl.ledger"):
        ledger = PgLedger(pg_url)
        for n in range(20):
            ledger.record(record(n))
        assert ledger.flush(timeout=30)
        ledger.close()
    assert _tokens(pg_url) == list(range(20))
    assert any("the orphan scan broke" in r.getMessage() for r in caplog.records)
