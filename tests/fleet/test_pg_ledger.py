"""The call ledger in a real PostgreSQL, written by many processes at once."""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from fakes.cli import invoke
from fakes.llm_server import FakeLLM, fake_providers
from fakes.servers import PostgresServer
from fleet.worker import spawn, start_together
from promptctl.errors import ConfigError
from promptctl.ledger.migrations import MIGRATIONS, PG_MIGRATIONS
from promptctl.ledger.postgres import PgLedger, pg_connect
from promptctl.ledger.report import read_rows
from promptctl.providers.types import CallContext, CallRecord, Usage
from promptctl.runtime import Runtime
from runtime.helpers import prompt, write_bundle


def _connect(url: str, **kwargs: Any) -> Any:
    """psycopg.connect, imported here: every xdist worker collects this file, one runs it."""
    import psycopg

    return psycopg.connect(url, **kwargs)


KEYS = {"OPENAI_API_KEY": "sk-test-openai-0123456789abcdef"}


def _count(url: str) -> int:
    with _connect(url) as db:
        row = db.execute("SELECT count(*) FROM calls").fetchone()
        assert row is not None
        return int(row[0])


def _record(n: int, outcome: str = "ok") -> CallRecord:
    return CallRecord(
        timestamp=time.time(),
        context=CallContext(source="runtime", prompt_id="support/triage", prompt_version="1"),
        target="openai/gpt-4o-mini",
        model_reported="gpt-4o-mini",
        outcome=outcome,  # type: ignore[arg-type]
        usage=Usage(input_tokens=100 + n, output_tokens=10),
        cost_usd=0.001 * (n % 7 + 1),
        latency_ms=12.5,
        request_hash=f"h{n}",
    )


def spools(directory: Path) -> list[Path]:
    return list(directory.glob("*/*.spool"))


def test_the_postgres_migrations_mirror_the_sqlite_ones():
    assert [name for name, _ in PG_MIGRATIONS] == [m.__name__ for m in MIGRATIONS]


def test_processes_at_work_write_every_call_to_one_ledger_and_costs_adds_them_up(
    tmp_path: Path, fake_llm: FakeLLM, pg_url: str
):
    # 6 processes x 100 calls (~1.5 s of CPU): each spends ~1 s making calls after one
    # common start (asserted below), ~20 drains of 50 ms, so the six write at once
    procs_n, calls = 6, 100
    bundle = tmp_path / "app.bundle.json"
    write_bundle(bundle, [prompt()], fake_providers(fake_llm))
    jobs = [
        {"bundle": str(bundle), "env": KEYS, "ledger": pg_url, "calls": calls, "name": f"p{i}"}
        for i in range(procs_n)
    ]
    procs = [spawn(j) for j in jobs]
    start_together(procs)  # all loaded, then all write at once
    paid = 0.0  # what the callers were told each call cost
    windows = []  # (first call, last answer) of each process
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0
        lines = [json.loads(line) for line in out.splitlines()]
        assert len(lines) == calls and all(line["ok"] for line in lines)
        paid += sum(line["cost"] for line in lines)
        windows.append((lines[0]["t0"], lines[-1]["t"]))
    assert max(w[0] for w in windows) < min(w[1] for w in windows)  # all were at work at once
    assert _count(pg_url) == procs_n * calls == len(fake_llm.requests)
    with _connect(pg_url) as db:
        row = db.execute("SELECT sum(cost_usd), count(DISTINCT prompt_id) FROM calls").fetchone()
        assert row is not None
    total, prompts = row
    assert total == pytest.approx(paid) and total > 0 and prompts == 1
    done = invoke("costs", "--ledger", pg_url, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["total"]["calls"] == procs_n * calls
    assert report["total"]["cost_usd"] == pytest.approx(total)


def test_processes_starting_at_once_migrate_exactly_once(pg_url: str):
    code = (
        "import sys\n"
        "from promptctl.ledger.postgres import pg_connect\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
        "pg_connect(sys.argv[1]).close()\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, pg_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    start_together(procs)  # all loaded, then all connect at once
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with _connect(pg_url) as db:
        names = [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY name")]
    assert names == [m.__name__ for m in MIGRATIONS]  # each once: a race would fail or repeat


def test_postgres_restarted_mid_run_loses_no_paid_row(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    server = PostgresServer.find()  # its own server: this test stops it
    try:
        server.init()
        url = server.url
        ledger = PgLedger(url, retry_interval_s=0.05)
        with caplog.at_level(logging.WARNING, "promptctl.ledger"):
            for n in range(200):
                ledger.record(_record(n))
            assert ledger.flush() and _count(url) == 200
            server.stop()
            for n in range(200, 300):  # the database is down: calls go on
                ledger.record(_record(n))
            assert not ledger.flush(timeout=0.5)  # spooled, not in the database
            server.start()
            for n in range(300, 400):
                ledger.record(_record(n))
            ledger.close()
            assert _count(url) == 400 and ledger.dropped == 0
            rows = read_rows(url)
            assert sorted(int(r.input_tokens) for r in rows) == [100 + n for n in range(400)]
            assert any("unreachable" in r.getMessage() for r in caplog.records)

            # a clean shutdown while the database is down keeps the rows for the next process
            leaving = PgLedger(url, close_timeout_s=0.3)
            server.stop()
            for n in range(400, 450):
                leaving.record(_record(n))
            leaving.close()
            assert leaving.dropped == 0 and any("kept in" in r.getMessage() for r in caplog.records)
            server.start()
            PgLedger(url).close()  # the next process on this ledger, started on the same host
            assert _count(url) == 450
    finally:
        server.remove()


def test_rows_reach_the_database_within_the_batch_window_and_all_at_close(pg_url: str):
    ledger = PgLedger(pg_url, sync_interval_s=0.01)
    for n in range(50):
        ledger.record(_record(n, outcome="cached" if n % 2 else "ok"))
    deadline = time.monotonic() + 10
    while _count(pg_url) < 50 and time.monotonic() < deadline:
        time.sleep(0.01)  # nobody flushes: the writer and the drainer do it on their own
    assert _count(pg_url) == 50
    slow = PgLedger(pg_url, sync_interval_s=30.0)  # a long window: only close() writes
    for n in range(20):
        slow.record(_record(n))
    time.sleep(0.2)
    assert _count(pg_url) == 50
    slow.close()
    ledger.close()
    assert _count(pg_url) == 70 and ledger.dropped == slow.dropped == 0


def test_runtime_takes_the_ledger_url_from_the_environment(
    tmp_path: Path, fake_llm: FakeLLM, pg_url: str
):
    bundle = tmp_path / "app.bundle.json"
    write_bundle(bundle, [prompt()], fake_providers(fake_llm))
    spool = tmp_path / "app-spool"
    env: dict[str, Any] = {**KEYS, "PROMPTCTL_LEDGER": pg_url, "PROMPTCTL_LEDGER_SPOOL": spool}
    with Runtime.load(bundle, env=env) as runtime:
        runtime.run("support/triage", ticket="a")
        runtime.run("support/triage", ticket="b")
        assert len(spools(spool)) == 1  # this process's spool, in the env's directory
    assert _count(pg_url) == 2
    assert not spools(spool)  # drained and removed at close


def test_a_bad_url_is_one_line_without_the_password(postgres_server: PostgresServer):
    bad = f"postgresql://promptctl:Sup3rSecretPw@127.0.0.1:{postgres_server.port}/no_such_db"
    with pytest.raises(ConfigError) as err:
        pg_connect(bad)
    message = str(err.value) + (err.value.hint or "")
    assert "Sup3rSecretPw" not in message and "no_such_db" in message
    assert "promptctl:***@127.0.0.1" in message


def test_budget_check_reads_the_fleet_ledger(tmp_path: Path, pg_url: str):
    ledger = PgLedger(pg_url)
    for n in range(30):
        ledger.record(_record(n))  # 30 calls, 0.001..0.007 USD each
    ledger.close()
    (tmp_path / "promptctl.yaml").write_text("budgets:\n  total: {daily: 0.01}\n")
    done = invoke("costs", "--check", "--ledger", pg_url, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "exceeded" in (done.stdout + done.stderr).lower()


def test_concurrent_threads_share_commits(pg_url: str):
    ledger = PgLedger(pg_url)
    threads = [
        threading.Thread(
            target=lambda k=k: [ledger.record(_record(k * 100 + n)) for n in range(50)]
        )
        for k in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ledger.flush() and _count(pg_url) == 400
    ledger.close()


def test_calls_lists_the_fleet_ledger_with_filters(tmp_path: Path, pg_url: str):
    ledger = PgLedger(pg_url)
    for n in range(6):
        record = _record(n)
        if n % 2:
            tagged = dataclasses.replace(record.context, tags=("vip",))
            record = dataclasses.replace(record, context=tagged)
        ledger.record(record)
    ledger.close()
    done = invoke("calls", "--ledger", pg_url, "--tag", "vip", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["calls"]
    assert [r["input_tokens"] for r in rows] == [105, 103, 101]  # newest first
    assert all(r["tags"] == ["vip"] for r in rows)


def test_calls_reads_a_fleet_ledger_from_before_m006_as_chat(tmp_path: Path, pg_url: str):
    with _connect(pg_url, autocommit=True) as db:
        for _, statements in PG_MIGRATIONS[:5]:
            for statement in statements:
                db.execute(statement)
        db.execute(
            "INSERT INTO calls (ts, source, provider, target, outcome)"
            " VALUES (1, 'eval', 'openai', 'openai/gpt-4o-mini', 'ok')"
        )
    base = ("calls", "--ledger", pg_url, "--format", "json")
    done = invoke(*base, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [r["operation"] for r in json.loads(done.stdout)["calls"]] == ["chat"]
    done = invoke(*base, "--operation", "embed", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["calls"] == []
