"""`promptctl providers` and `promptctl cache` through the real CLI app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptctl.cli.main import app
from promptctl.providers.cache import ResponseCache
from promptctl.providers.types import ChatResponse


def test_providers_json_says_whether_key_is_set_never_its_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-secret-0123456789")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    result = CliRunner().invoke(
        app, ["providers", "--format", "json", "--match", "gpt-4o-mini", "--project", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "sk-cli-secret" not in result.output
    data = json.loads(result.output)
    by_name = {p["name"]: p for p in data["providers"]}
    assert by_name["openai"]["key_set"] is True and by_name["anthropic"]["key_set"] is False
    mini = {p["model"]: p for p in data["prices"]}["openai/gpt-4o-mini"]
    assert (mini["input"], mini["output"], mini["cached_input"]) == (0.15, 0.6, 0.075)
    assert mini["source"].startswith("genai-prices ")


def test_providers_rejects_unknown_format(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["providers", "--format", "xml", "--project", str(tmp_path)])
    assert result.exit_code != 0


def test_cache_stats_and_clear(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / ".promptctl" / "cache.sqlite")
    cache.put("a", ChatResponse(text="x", target="openai/gpt-4o-mini"))
    cache.put("b", ChatResponse(text="y", target="anthropic/claude-haiku-4-5"))
    cache.close()
    runner = CliRunner()
    stats = runner.invoke(app, ["cache", "stats", "--format", "json", "--project", str(tmp_path)])
    assert stats.exit_code == 0, stats.output
    data = json.loads(stats.output)
    assert data["entries"] == 2
    assert data["by_target"] == {"anthropic/claude-haiku-4-5": 1, "openai/gpt-4o-mini": 1}
    cleared = runner.invoke(app, ["cache", "clear", "--project", str(tmp_path)])
    assert cleared.exit_code == 0 and "removed 2" in cleared.output
    after = runner.invoke(app, ["cache", "stats", "--format", "json", "--project", str(tmp_path)])
    assert json.loads(after.output)["entries"] == 0
