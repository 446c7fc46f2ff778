"""The shipped lifecycle table, its lookup, states, `lifecycle:` overrides and the clock."""

from __future__ import annotations

import datetime
import json
from importlib import resources
from pathlib import Path

import pytest

from promptctl.errors import ConfigError
from promptctl.promptfile.project import load_project
from promptctl.providers.lifecycle import describe, lifecycle_for, status, today

D = datetime.date


def _rows() -> list[dict[str, object]]:
    text = resources.files("promptctl.providers").joinpath("data/lifecycle.json").read_text()
    rows: list[dict[str, object]] = json.loads(text)["models"]
    return rows


def test_every_row_is_dated_sourced_and_consistent() -> None:
    rows = _rows()
    vendors = {r["vendor"] for r in rows}
    assert vendors == {"openai", "anthropic", "google"}
    names: set[str] = set()
    for r in rows:
        assert str(r["source"]).startswith("https://"), r
        D.fromisoformat(str(r["checked"]))
        shutdown = D.fromisoformat(str(r["shutdown"]))
        if r["deprecated"]:
            assert D.fromisoformat(str(r["deprecated"])) < shutdown, r
        for name in [r["model"], *r["aliases"]]:  # type: ignore[misc]
            key = f"{r['vendor']}/{name}"
            assert key not in names, f"{key} is listed twice"
            names.add(key)


def test_aliases_and_provider_kinds_resolve() -> None:
    row = lifecycle_for("openai/gpt-4-32k")
    assert row is not None and row.shutdown == D(2025, 6, 6)
    assert row.replacement == "openai/gpt-4o"
    haiku = lifecycle_for("anthropic/claude-3-5-haiku-latest")
    assert haiku is not None and haiku.replacement == "anthropic/claude-haiku-4-5"
    # gemini providers look in Google's rows; "models/" prefixes are the same model
    assert lifecycle_for("gemini/models/gemini-1.5-pro") is not None
    assert lifecycle_for("openai/gpt-4o-mini") is None


def test_states_around_the_shutdown_date() -> None:
    row = lifecycle_for("anthropic/claude-opus-4-5")
    assert row is not None and row.shutdown == D(2027, 1, 22)
    assert row.state(D(2026, 10, 1)) == "active"  # before the announcement, 113 days left
    assert row.state(D(2026, 11, 23), warn_days=30) == "deprecated"  # announced, 60 days left
    assert row.state(D(2026, 11, 23)) == "retiring"  # within the default 90 days
    assert row.state(D(2027, 1, 21)) == "retiring"
    assert row.state(D(2027, 1, 22)) == "retired"
    assert describe(row, D(2027, 1, 12)) == (
        "anthropic/claude-opus-4-5 shuts down on 2027-01-22 (in 10 days); "
        "replacement anthropic/claude-opus-5-5"
    )
    assert "(3 days ago)" in describe(row, D(2027, 1, 25))


def test_today_comes_from_the_env_or_the_clock() -> None:
    assert today({"PROMPTCTL_TODAY": "2026-03-01"}) == D(2026, 3, 1)
    assert today({}) == datetime.datetime.now(datetime.UTC).date()
    with pytest.raises(ConfigError, match="PROMPTCTL_TODAY='2026-13-01' is not a date"):
        today({"PROMPTCTL_TODAY": "2026-13-01"})


def test_config_rows_add_and_override(tmp_path: Path) -> None:
    (tmp_path / "promptctl.yaml").write_text(
        "lifecycle:\n"
        "  warn_days: 10\n"
        "  models:\n"
        "    openai/gpt-4-32k: {shutdown: 2030-01-01}\n"
        "    azure/prod-gpt4: {deprecated: '2026-01-01', shutdown: 2026-06-30,"
        " replacement: azure/prod-gpt41, source: ticket OPS-12}\n"
    )
    project = load_project(tmp_path / "promptctl.yaml")
    assert status("openai/gpt-4-32k", project, D(2026, 12, 5))[0] == "active"
    state, row = status("azure/prod-gpt4", project, D(2026, 6, 25))
    assert state == "retiring" and row is not None and row.source == "ticket OPS-12"
    assert status("azure/prod-gpt4", project, D(2026, 6, 1))[0] == "deprecated"  # 29 > 10 days


def test_config_date_that_is_not_a_date_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "promptctl.yaml").write_text(
        "lifecycle:\n  models:\n    local/m: {shutdown: next spring}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path / "promptctl.yaml")
    assert "lifecycle.models.local/m.shutdown: 'next spring' is not a date" in str(info.value)
    assert info.value.location is not None and info.value.location.line == 3


def test_the_refresh_tool_accepts_the_shipped_file_and_catches_mistakes() -> None:
    import importlib.util

    tool = Path(__file__).resolve().parents[2] / "tools" / "refresh_lifecycle.py"
    spec = importlib.util.spec_from_file_location("refresh_lifecycle", tool)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    doc = json.loads(tool.parents[1].joinpath(module.PATH).read_text())
    assert module.problems(doc) == []
    bad = {"models": [dict(doc["models"][0], shutdown="2020-01-01", source="http://x")]}
    assert module.problems(bad) == [
        f"models[0] openai/{doc['models'][0]['model']}: deprecated after shutdown",
        f"models[0] openai/{doc['models'][0]['model']}: source must be an https URL",
    ]
