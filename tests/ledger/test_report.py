import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger.records import call
from promptctl.errors import ConfigError, UsageError
from promptctl.ledger import Ledger
from promptctl.ledger.report import build_report, parse_since, read_rows
from promptctl.promptfile.model import PriceOverride
from promptctl.report.costs import report_csv, report_json

DAY = 86_400.0
T0 = datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp()


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.record(call(ts=T0, cost=0.010, tags=("support", "vip")))
        ledger.record(call(ts=T0 + 60, cost=0.030, tags=("support",)))
        ledger.record(call(ts=T0 + DAY, prompt="faq", target="local/llama", cost=None, tags=()))
        ledger.record(
            call(ts=T0 + DAY, prompt="faq", target="anthropic/claude", cost=0.002, source="eval")
        )
    return path


def test_group_by_prompt_sorts_top_spender_first_and_keeps_unknown_apart(ledger_path: Path) -> None:
    report = build_report(read_rows(ledger_path), by="prompt")
    assert [g.key for g in report.groups] == ["support/triage", "faq"]
    triage, faq = report.groups
    assert triage.calls == 2 and triage.cost_usd == pytest.approx(0.04)
    assert triage.cost_per_call == pytest.approx(0.02)
    assert faq.unknown_cost_calls == 1 and faq.cost_usd == pytest.approx(0.002)
    assert faq.cost_per_call == pytest.approx(0.002)  # over known-cost calls only
    assert report.total.calls == 4 and report.total.cost_usd == pytest.approx(0.042)
    assert report.unpriced_models == ["local/llama"]


def test_failed_and_cached_calls_of_an_unpriced_model_are_not_unknown_cost(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.record(call(target="local/llama3", cost=None, outcome="error"))
        ledger.record(call(target="local/llama3", cost=None, outcome="cached"))
        ledger.record(call(target="anthropic/claude-haiku-4-5", cost=0.002))
    report = build_report(read_rows(path), by="model")
    local = next(g for g in report.groups if g.key == "local/llama3")
    assert (local.calls, local.errors, local.unknown_cost_calls) == (2, 1, 0)
    assert local.cost_known and local.cost_usd == 0.0
    assert report.total.unknown_cost_calls == 0 and report.unpriced_models == []
    assert report.total.cost_per_call == pytest.approx(0.001)  # failed call left out
    assert json.loads(report_json(report))["total"]["errors"] == 1


def test_a_bucket_with_only_unpriced_answers_has_unknown_cost(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.record(call(target="local/llama3", cost=None))
        ledger.record(call(target="local/llama3", cost=None, outcome="error"))
    (local,) = build_report(read_rows(path), by="model").groups
    assert not local.cost_known and local.cost_per_call is None
    assert (local.errors, local.unknown_cost_calls) == (1, 1)


def test_interrupted_streams_may_be_billed_other_errors_not(tmp_path: Path) -> None:
    """A stream stopped early or broken after its first token was generating: billed."""
    import dataclasses

    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        for kind in ("stream_interrupted", "cancelled", "rate_limit"):
            row = dataclasses.replace(call(cost=None, outcome="error"), error_kind=kind)
            ledger.record(row)
    report = build_report(read_rows(path), by="model")
    assert (report.total.errors, report.total.unknown_cost_calls) == (3, 2)
    assert report.cancelled_calls == 2


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("model", {"openai/gpt-4o-mini": 2, "local/llama": 1, "anthropic/claude": 1}),
        ("provider", {"openai": 2, "local": 1, "anthropic": 1}),
        ("tag", {"support": 3, "vip": 1, "(untagged)": 1}),
        ("day", {"2026-11-20": 2, "2026-11-21": 2}),
        ("source", {"runtime": 3, "eval": 1}),
    ],
)
def test_grouping_keys(ledger_path: Path, by: str, expected: dict[str, int]) -> None:
    report = build_report(read_rows(ledger_path), by=by)
    assert {g.key: g.calls for g in report.groups} == expected


def test_since_filters_rows(ledger_path: Path) -> None:
    rows = read_rows(ledger_path, since=T0 + DAY / 2)
    assert sorted(r.prompt_id or "" for r in rows) == ["faq", "faq"]


def test_parse_since_durations_and_dates() -> None:
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    assert parse_since("7d", now=now) == now.timestamp() - 7 * DAY
    assert parse_since("24h", now=now) == now.timestamp() - DAY
    assert parse_since("2026-11-01", now=now) == datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    with pytest.raises(UsageError, match="neither a duration"):
        parse_since("last week", now=now)


def test_cache_savings_stored_estimated_or_unknown(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    with Ledger(path) as ledger:
        ledger.record(call(cached=0), cost_saved_usd=None)  # nothing cached: saves 0
        ledger.record(call(cached=1_000_000))  # prompt cache read, price known
        ledger.record(call(target="x/unpriced", cached=10))  # no price: unknown
        ledger.record(call(outcome="cached", cost=0.0), cost_saved_usd=0.5)  # stored
    prices = {"openai/gpt-4o-mini": PriceOverride(input=0.15, output=0.6, cached_input=0.075)}
    total = build_report(read_rows(path), prices=prices).total
    assert total.saved_usd == pytest.approx(0.075 + 0.5)
    assert total.unknown_savings_calls == 1


def test_json_and_csv_carry_the_same_numbers(ledger_path: Path) -> None:
    report = build_report(read_rows(ledger_path), by="source")
    doc = json.loads(report_json(report))
    assert doc["total"]["unknown_cost_calls"] == 1
    assert [g["key"] for g in doc["groups"]] == ["runtime", "eval"]
    lines = report_csv(report).splitlines()
    assert lines[0].startswith("source,calls,errors,cost_usd,unknown_cost_calls")
    assert lines[1].startswith("runtime,3,0,0.04000000,1,")
    assert lines[-1].startswith("total,4,")


def test_unknown_group_and_missing_ledger_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot group by 'team'"):
        build_report([], by="team")
    with pytest.raises(ConfigError, match="no ledger at"):
        read_rows(tmp_path / "none.sqlite")


def test_one_hour_cache_writes_count_as_cache_writes(tmp_path: Path) -> None:
    import dataclasses

    from promptctl.providers.types import Usage

    path = tmp_path / "ledger.sqlite"
    folded = Usage(input_tokens=900, cache_write_tokens=600, cache_write_1h_tokens=400)
    unfolded = Usage(input_tokens=500, cache_write_tokens=0, cache_write_1h_tokens=300)
    with Ledger(path) as ledger:
        ledger.record(dataclasses.replace(call(ts=T0, prompt="a"), usage=folded))
        ledger.record(dataclasses.replace(call(ts=T0 + 1, prompt="b"), usage=unfolded))
    report = build_report(read_rows(path), by="prompt")
    by_key = {g.key: g for g in report.groups}
    assert (by_key["a"].cache_write_tokens, by_key["a"].cache_write_1h_tokens) == (600, 400)
    assert (by_key["b"].cache_write_tokens, by_key["b"].cache_write_1h_tokens) == (300, 300)
    total = json.loads(report_json(report))["total"]
    assert (total["cache_write_tokens"], total["cache_write_1h_tokens"]) == (900, 700)
    header = report_csv(report).splitlines()[0].split(",")
    assert header[-3:-1] == ["cache_write_tokens", "cache_write_1h_tokens"]


def test_a_ledger_from_before_m002_reads_without_migrating(tmp_path: Path) -> None:
    """costs opens the ledger read-only, so no migration runs: the new column reads as 0."""
    import sqlite3

    from promptctl.ledger.migrations import m001_initial

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    m001_initial(db)
    db.execute(
        "INSERT INTO calls (ts, source, provider, target, outcome, cache_write_tokens, cost_usd)"
        " VALUES (1, 'runtime', 'anthropic', 'anthropic/claude', 'ok', 70, 0.5)"
    )
    db.close()
    (row,) = read_rows(path)
    assert (row.cache_write_tokens, row.cache_write_1h_tokens, row.cost_usd) == (70, 0, 0.5)
    columns = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(calls)")]
    assert "cache_write_1h_tokens" not in columns  # still untouched


def test_a_file_that_is_not_a_ledger_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_text("hello")
    with pytest.raises(ConfigError, match="cannot read ledger"):
        read_rows(path)
