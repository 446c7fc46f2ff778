"""Money is never lost from the ledger: real processes killed mid-run against the fake.

SIGKILL: every answer a caller received has its ledger row (paid calls are committed
before `run()` returns). SIGINT: calls in flight when Ctrl-C lands are recorded too,
as `cancelled` with an unknown cost, so rows >= requests the provider served.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.ledger.store import connect
from runtime.helpers import prompt, write_bundle

KEY = "sk-test-durable-0123456789abcdef"

# Four threads calling the runtime; one line on stdout per answer the caller received.
APP = """
import sys, threading
from promptctl.runtime import Runtime
rt = Runtime.load(sys.argv[1], ledger=sys.argv[2], env={"OPENAI_API_KEY": sys.argv[3]})
lock = threading.Lock()
def work():
    while True:
        rt.run("support/triage", ticket="t")
        with lock:
            sys.stdout.write("answered\\n")
            sys.stdout.flush()
threads = [threading.Thread(target=work, daemon=True) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
"""


def _rows(path: Path, where: str = "1") -> int:
    db = connect(path, readonly=True)
    try:
        return int(db.execute(f"SELECT count(*) FROM calls WHERE {where}").fetchone()[0])
    finally:
        db.close()


def _read_lines(proc: subprocess.Popen[str], seen: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_mid_run_loses_no_answered_call(
    tmp_path: Path, fake_llm: FakeLLM, seed: int
) -> None:
    rng = random.Random(seed)
    bundle = tmp_path / "app.bundle.json"
    write_bundle(bundle, [prompt()], fake_providers(fake_llm, max_retries=0))
    ledger = tmp_path / "ledger.sqlite"
    fake_llm.latency_s = 0.003
    proc = subprocess.Popen(
        [sys.executable, "-c", APP, str(bundle), str(ledger), KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    answered: list[str] = []
    reader = threading.Thread(target=_read_lines, args=(proc, answered))
    reader.start()
    target = rng.randint(20, 120)  # a random point in the run
    deadline = time.monotonic() + 30
    while len(answered) < target and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    reader.join(timeout=10)
    assert proc.stdout is not None
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    served = fake_llm.calls["openai"]
    assert len(answered) >= target
    rows = _rows(ledger, "outcome = 'ok'")
    # every answer the application got is in the ledger; nothing is invented
    assert len(answered) <= rows <= served, (len(answered), rows, served)


PROMPT_FILE = """\
id: demo/slow
version: 1.0.0
model:
  use: openai/gpt-4o-mini
  params: {max_tokens: 10}
inputs:
  n: {type: integer}
messages:
  - user: "case {{ n }}"
tests:
""" + "".join(f"  - name: c{i}\n    vars: {{n: {i}}}\n" for i in range(60))


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as `cmd &` in a script starts it


@pytest.mark.parametrize(
    ("sig", "ignoring_sigint"),
    [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGTERM, True)],
    ids=["SIGINT", "SIGTERM", "SIGTERM with SIGINT ignored"],
)
def test_sigint_records_calls_in_flight_as_cancelled(
    tmp_path: Path, fake_llm: FakeLLM, sig: signal.Signals, ignoring_sigint: bool
) -> None:
    """Ctrl-C, or SIGTERM (a cancelled CI job, a stopped container): the run stops the
    same way, exit 130, finished cases in the results file, calls in flight recorded."""
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0, timeout_s: 30}\n"
    )
    (tmp_path / "prompts" / "demo").mkdir(parents=True)
    (tmp_path / "prompts" / "demo" / "slow.yaml").write_text(PROMPT_FILE)
    fake_llm.latency_s = 0.25
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "promptctl", "test", "--concurrency", "8", "--no-cache"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint if ignoring_sigint else None,
    )
    deadline = time.monotonic() + 30
    while fake_llm.calls["openai"] < 12 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(sig)  # some calls answered, up to 8 in flight
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    results = json.loads(next((tmp_path / ".promptctl" / "runs").glob("*.json")).read_text())
    assert results["run"]["interrupted"] is True and "interrupted" in err
    served = fake_llm.calls["openai"]
    ledger = tmp_path / ".promptctl" / "ledger.sqlite"
    answered = _rows(ledger, "outcome = 'ok'")
    cancelled = _rows(ledger, "error_kind = 'cancelled'")
    assert answered < served  # some were in flight when Ctrl-C landed…
    assert answered + cancelled >= served, (answered, cancelled, served)  # …and are recorded
    assert _rows(ledger, "error_kind = 'cancelled' AND cost_usd IS NOT NULL") == 0
    assert "Traceback" not in err


# One thread calling the runtime in a loop; Ctrl-C lands while a call is in flight.
APP_SIGINT = """
import sys
from promptctl.runtime import Runtime
rt = Runtime.load(sys.argv[1], ledger=sys.argv[2], env={"OPENAI_API_KEY": sys.argv[3]})
try:
    while True:
        rt.run("support/triage", ticket="t")
        sys.stdout.write("answered\\n")
        sys.stdout.flush()
except KeyboardInterrupt:
    rt.close()
    sys.exit(130)
"""


def test_sigint_in_a_runtime_call_records_it_as_cancelled(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    bundle = tmp_path / "app.bundle.json"
    write_bundle(bundle, [prompt()], fake_providers(fake_llm, max_retries=0, timeout_s=30))
    ledger = tmp_path / "ledger.sqlite"
    fake_llm.latency_s = 0.3
    proc = subprocess.Popen(
        [sys.executable, "-c", APP_SIGINT, str(bundle), str(ledger), KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while fake_llm.calls["openai"] < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # the third call is in flight (the fake answers after 0.3 s)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    served = fake_llm.calls["openai"]
    answered = out.count("answered")
    assert _rows(ledger, "outcome = 'ok'") >= answered
    assert _rows(ledger, "error_kind = 'cancelled' AND cost_usd IS NULL AND usage_known = 0") == 1
    assert _rows(ledger) >= served, (answered, served)
