from __future__ import annotations

from pathlib import Path

import pytest

from promptctl.errors import ConfigError
from promptctl.promptfile.model import DEFAULT_PROVIDERS
from promptctl.promptfile.project import find_project, load_project, project_at


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


def test_an_unknown_dialect_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    """A misspelt dialect used to be ignored silently (the quirks it names not applied)."""
    config = tmp_path / "promptctl.yaml"
    config.write_text(
        "providers:\n  local: {kind: openai-compatible, base_url: 'http://x/v1',"
        " dialect: llamacpp}\n"
    )
    with pytest.raises(ConfigError) as exc:
        load_project(config)
    assert "mistral, ollama, vllm, llama-cpp-python" in exc.value.message
    assert exc.value.location is not None and exc.value.location.line == 2
    config.write_text(
        "providers:\n  local: {kind: openai-compatible, base_url: 'http://x/v1',"
        " dialect: llama-cpp-python}\n"
    )
    assert load_project(config).providers["local"].dialect == "llama-cpp-python"


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


def test_config_schema_names_every_project_field() -> None:
    """The schema (and so `promptctl schema config`) must accept every configurable field."""
    import dataclasses

    from promptctl.ledger.budgets import PERIODS, SCOPES
    from promptctl.promptfile.model import GateConfig, PriceOverride, ProviderSettings
    from promptctl.promptfile.schemas import schema

    props = schema("config")["properties"]
    assert set(props["gate"]["properties"]) == {f.name for f in dataclasses.fields(GateConfig)}
    price = props["pricing"]["additionalProperties"]["properties"]
    assert set(price) == {f.name for f in dataclasses.fields(PriceOverride)}
    provider = props["providers"]["additionalProperties"]["properties"]
    assert set(provider) == {f.name for f in dataclasses.fields(ProviderSettings)} - {"name"}
    assert set(props["budgets"]["properties"]) == set(SCOPES)
    assert set(schema("config")["$defs"]["periods"]["properties"]) == set(PERIODS)


def test_every_config_key_is_documented() -> None:
    from promptctl.promptfile.schemas import schema

    text = (Path(__file__).parents[2] / "docs" / "config.md").read_text(encoding="utf-8")
    full = schema("config")
    props = full["properties"]
    keys = set(props) - {"$schema"}
    for section in ("providers", "pricing"):
        keys |= set(props[section]["additionalProperties"]["properties"])
    keys |= set(props["gate"]["properties"]) | set(props["budgets"]["properties"])
    keys |= set(full["$defs"]["periods"]["properties"])
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, f"docs/config.md does not describe {missing}"


def test_gate_budgets_ledger_and_pricing_load(tmp_path: Path) -> None:
    config = tmp_path / "promptctl.yaml"
    config.write_text(
        "ledger: var/calls.sqlite\n"
        "gate: {flaky_fails: true, min_detectable_drop: 0.2, bootstrap_resamples: 0,\n"
        "       max_p95_latency_increase_pct: 25, require_conclusive: true,"
        " max_error_rate: 0.5}\n"
        "budgets:\n  total: {daily: 5}\n  prompt: {support/triage: {monthly: 20}}\n"
        "pricing:\n  local/m: {input: 1, output: 2, cached_input: 0.5, cache_write: 1.25}\n"
    )
    project = load_project(config)
    assert project.ledger_file == tmp_path.resolve() / "var" / "calls.sqlite"
    gate = project.gate
    assert (gate.flaky_fails, gate.min_detectable_drop, gate.bootstrap_resamples) == (
        True,
        0.2,
        0,
    )
    assert (gate.max_p95_latency_increase_pct, gate.require_conclusive) == (25, True)
    assert gate.max_error_rate == 0.5
    assert project.budgets == {"total": {"daily": 5}, "prompt": {"support/triage": {"monthly": 20}}}
    assert project.pricing["local/m"].cache_write == 1.25
    assert find_project(tmp_path).ledger_file == project.ledger_file
    assert project_at(tmp_path).cache_path == (tmp_path.resolve() / ".promptctl" / "cache.sqlite")


def test_default_ledger_is_in_the_state_dir(tmp_path: Path) -> None:
    assert find_project(tmp_path).ledger_file == tmp_path.resolve() / ".promptctl" / "ledger.sqlite"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("budgets:\n  total: {hourly: 1}\n", 2, "unknown key 'hourly' in budgets.total"),
        ("budgets:\n  team: {x: {daily: 1}}\n", 2, "unknown key 'team' in budgets"),
        ("budgets:\n  tag:\n    a: {daily: -1}\n", 3, "budgets.tag.a.daily"),
        ("gate: {flaky_fail: true}\n", 1, "unknown key 'flaky_fail' in gate"),
        ("gate: {bootstrap_resamples: 1.5}\n", 1, "gate.bootstrap_resamples: expected integer"),
    ],
)
def test_bad_budgets_and_gate_name_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    config = tmp_path / "promptctl.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_project(config)
    assert fragment in exc.value.message
    assert exc.value.location is not None and exc.value.location.line == line


@pytest.mark.parametrize(
    ("headers", "line", "says"),
    [
        ('{x-a: "b\\r\\nInjected: 1"}', 3, "a CR or LF would start another header"),
        ('{x-a: "trailing\\n"}', 3, "a CR or LF would start another header"),
        ('{x-a: "nul\\0"}', 3, "printable ASCII"),
        ("{x-a: naïve}", 3, "printable ASCII"),
        ('{"x a": ok}', 3, "an HTTP token"),
        ('{"x-a:": ok}', 3, "an HTTP token"),
        ('{"x-a\\n": ok}', 3, "an HTTP token"),
    ],
)
def test_a_header_that_would_break_the_request_is_refused_where_it_is_written(
    tmp_path: Path, headers: str, line: int, says: str
) -> None:
    """`headers:` go into every request's head: a CR or LF in a value (header injection)
    or a name that is not an HTTP token is bad input at load (exit 2, file:line), not a
    network error on every call."""
    config = tmp_path / "promptctl.yaml"
    config.write_text(
        "providers:\n"
        "  local: {kind: openai-compatible, base_url: 'http://x/v1',\n"
        f"          headers: {headers}}}\n"
    )
    with pytest.raises(ConfigError) as exc:
        load_project(config)
    assert exc.value.location is not None and exc.value.location.line == line
    assert says in str(exc.value.hint)


def test_ordinary_headers_load(tmp_path: Path) -> None:
    config = tmp_path / "promptctl.yaml"
    config.write_text(
        "providers:\n  local: {kind: openai-compatible, base_url: 'http://x/v1',"
        " headers: {X-Title: 'my app: v1', HTTP-Referer: 'https://x', x-tab: \"a\\tb\"}}\n"
    )
    headers = load_project(config).providers["local"].headers
    assert headers == {"X-Title": "my app: v1", "HTTP-Referer": "https://x", "x-tab": "a\tb"}


@pytest.mark.parametrize("setting", ["timeout_s", "deadline_s"])
def test_a_timeout_past_a_day_is_refused_at_its_place(setting: str, tmp_path: Path) -> None:
    """A blocking call's socket refused 1e11 s ("Timeout value out of range": a traceback
    on the first call); a day is past any provider's own limit."""
    config = tmp_path / "promptctl.yaml"
    config.write_text(f"providers:\n  openai: {{{setting}: 100000000000}}\n")
    with pytest.raises(ConfigError) as info:
        load_project(config)
    assert f"providers.openai.{setting}" in str(info.value) and "86400" in str(info.value)
    assert info.value.location is not None and info.value.location.line == 2
    config.write_text(f"providers:\n  openai: {{{setting}: 86400}}\n")
    assert load_project(config).providers["openai"] is not None
