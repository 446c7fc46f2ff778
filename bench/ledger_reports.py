"""`promptctl calls` and `costs --forecast` on a large ledger: query and forecast times.

A month of traffic: 500,000 rows over 30 days, 20 prompts on 3 models. `calls` must
answer its newest-50 query from the index without reading the table; the forecast reads
one month and fits one line per group.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from promptctl.ledger.calls import CallFilter, read_calls
from promptctl.ledger.forecast import drivers, forecast_groups, read_day_spend, spend_keys
from promptctl.ledger.store import connect

N = 500_000
TODAY = datetime(2026, 12, 15, tzinfo=UTC)


def _fill(path: Path) -> None:
    db = connect(path)
    start = (TODAY - timedelta(days=30)).timestamp()
    step = 30 * 86_400 / N
    models = ("openai/gpt-4o", "openai/gpt-4o-mini", "anthropic/claude-haiku-4-5")
    rows = [
        (
            start + i * step,
            "runtime",
            f"team/p{i % 20}",
            "1.0.0",
            json.dumps(["t"]),
            models[i % 3].split("/")[0],
            models[i % 3],
            "ok",
            400,
            20,
            0.0004 + (i % 7) * 1e-5,
        )
        for i in range(N)
    ]
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO calls (ts, source, prompt_id, prompt_version, tags, provider, target, "
        "outcome, input_tokens, output_tokens, cost_usd) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    db.execute("COMMIT")
    db.close()


def _best(fn: object, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.sqlite"
        _fill(path)
        newest = _best(lambda: read_calls(path, CallFilter(limit=50)))
        by_prompt = _best(lambda: read_calls(path, CallFilter(prompt="team/p7", limit=50)))
        by_tag = _best(lambda: read_calls(path, CallFilter(tag="t", limit=50)))
        t = time.perf_counter()
        rows = read_day_spend(path, since=(TODAY - timedelta(days=30)).timestamp())
        read_s = time.perf_counter() - t
        t = time.perf_counter()
        forecast_groups(rows, TODAY.date(), lambda r: spend_keys(r, "prompt"))
        drivers(rows, TODAY.date())
        fit_s = time.perf_counter() - t
    print(
        f"calls, newest 50 of {N:,}: {newest * 1000:.1f} ms; --prompt: {by_prompt * 1000:.1f} ms; "
        f"--tag: {by_tag * 1000:.1f} ms"
    )
    print(
        f"forecast: {N:,} rows summed in SQL to {len(rows):,} day groups in {read_s:.2f} s; "
        f"fit 20 groups + drivers {fit_s * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
