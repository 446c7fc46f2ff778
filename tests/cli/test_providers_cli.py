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


def _narrow_console(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    import promptctl.cli.providers as cmd

    monkeypatch.setattr(cmd, "console", lambda: Console(width=80, highlight=False))


PROMPT = """\
version: 1.0.0
model:
  use: anthropic/claude-3-5-haiku-latest
  fallbacks: [local/not-priced-model-with-a-long-name]
messages: [{user: hi}]
"""
CONFIG = """\
providers:
  local: {kind: openai-compatible, base_url: "http://127.0.0.1:1/v1"}
judge: openai/gpt-4o-mini
pricing:
  local/my-model: {input: 0.1, output: 0.2}
"""


def test_providers_lists_the_projects_models_untruncated_at_80_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "a.yaml").write_text(PROMPT)
    (tmp_path / "promptctl.yaml").write_text(CONFIG)
    _narrow_console(monkeypatch)
    result = CliRunner().invoke(app, ["providers", "--project", str(tmp_path)])
    assert result.exit_code == 0, result.output
    prices = result.output.split("┃ model")[1].splitlines()
    models = [line.split("│")[1].strip() for line in prices if line.startswith("│")]
    assert models == [
        "anthropic/claude-3-5-haiku-latest",
        "local/my-model *",
        "local/not-priced-model-with-a-long-name ?",
        "openai/gpt-4o-mini",
    ]


def test_providers_all_and_match_search_the_whole_table(tmp_path: Path) -> None:
    runner = CliRunner()
    used = runner.invoke(app, ["providers", "--format", "json", "--project", str(tmp_path)])
    every = runner.invoke(
        app, ["providers", "--all", "--format", "json", "--project", str(tmp_path)]
    )
    matched = runner.invoke(
        app, ["providers", "-m", "claude", "--format", "json", "--project", str(tmp_path)]
    )
    used_models = [p["model"] for p in json.loads(used.output)["prices"]]
    all_models = [p["model"] for p in json.loads(every.output)["prices"]]
    assert used_models == ["openai/gpt-4o-mini"]  # no prompts: just the default judge
    assert len(all_models) > 50 and "openai/gpt-4o-mini" in all_models
    claude = [p["model"] for p in json.loads(matched.output)["prices"]]
    assert claude and all("claude" in m for m in claude)
