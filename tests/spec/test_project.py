from __future__ import annotations

from pathlib import Path

import pytest

from promptctl.errors import ConfigError
from promptctl.spec.model import DEFAULT_PROVIDERS
from promptctl.spec.project import find_project, load_project, project_at


def test_find_project_walks_up(tmp_path: Path) -> None:
    (tmp_path / "promptctl.yaml").write_text("prompts: src/prompts\njudge: anthropic/claude\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    project = find_project(deep)
    assert project.root == tmp_path.resolve()
    assert project.prompts_dir == tmp_path.resolve() / "src" / "prompts"
    assert project.judge == "anthropic/claude"


def test_no_config_gives_defaults_at_start(tmp_path: Path) -> None:
    project = find_project(tmp_path)
    assert project.config_path is None
    assert project.prompts_dir == tmp_path.resolve() / "prompts"
    assert project.providers["openai"] == DEFAULT_PROVIDERS["openai"]


def test_providers_merge_over_defaults(tmp_path: Path) -> None:
    config = tmp_path / "promptctl.yaml"
    config.write_text(
        "providers:\n"
        "  openai: {timeout_s: 5}\n"
        "  local: {kind: openai-compatible, base_url: 'http://127.0.0.1:8080/v1'}\n"
        "pricing:\n  local/m: {input: 0.1, output: 0.2}\n"
        "gate: {alpha: 0.1}\n"
    )
    project = load_project(config)
    assert project.providers["openai"].timeout_s == 5
    assert project.providers["openai"].base_url == DEFAULT_PROVIDERS["openai"].base_url
    assert project.providers["local"].kind == "openai-compatible"
    assert "anthropic" in project.providers
    assert project.pricing["local/m"].output == 0.2
    assert project.gate.alpha == 0.1


def test_unknown_key_suggests(tmp_path: Path) -> None:
    config = tmp_path / "promptctl.yaml"
    config.write_text("prompts: p\nprovider:\n  openai: {}\n")
    with pytest.raises(ConfigError) as exc:
        load_project(config)
    assert exc.value.message == "unknown key 'provider'"
    assert exc.value.hint == "did you mean 'providers'?"
    assert exc.value.location is not None and exc.value.location.line == 2


def test_new_provider_needs_kind(tmp_path: Path) -> None:
    config = tmp_path / "promptctl.yaml"
    config.write_text("providers:\n  mine: {base_url: 'http://x'}\n")
    with pytest.raises(ConfigError, match="provider 'mine' needs a `kind`"):
        load_project(config)


def test_duplicate_key_in_config(tmp_path: Path) -> None:
    config = tmp_path / "promptctl.yaml"
    config.write_text("judge: a/b\njudge: c/d\n")
    with pytest.raises(ConfigError, match="duplicate key 'judge'"):
        load_project(config)


def test_empty_config_is_defaults(tmp_path: Path) -> None:
    config = tmp_path / "promptctl.yaml"
    config.write_text("# nothing\n")
    assert load_project(config).config_path == config.resolve()


def test_project_at_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        project_at(tmp_path / "nope")
