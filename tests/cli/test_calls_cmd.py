"""`promptctl calls` and proxy-reported costs, through `promptctl test` on the fake server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM

PROMPT = """\
id: demo/{name}
version: 1.2.0
tags: [{tag}]
model:
  use: {use}
inputs:
  q: {{type: string}}
messages:
  - user: "Q: {{{{ q }}}}"
tests:
  - name: one
    vars: {{q: one}}
    assert: [{{type: contains, value: one}}]
"""


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{base_url: '{fake_llm.openai_base}', max_retries: 0}}\n"
        f"  proxy: {{kind: openai-compatible, base_url: '{fake_llm.openai_base}'}}\n"
    )
    (tmp_path / "prompts" / "demo").mkdir(parents=True)
    for name, tag, use in (
        ("priced", "support", "openai/gpt-4o-mini"),
        ("proxied", "sales", "proxy/team-llama-70b"),
    ):
        (tmp_path / "prompts" / "demo" / f"{name}.yaml").write_text(
            PROMPT.format(name=name, tag=tag, use=use)
        )
    fake_llm.reply("one")
    fake_llm.usage["openai"] = {"prompt_tokens": 1000, "completion_tokens": 100}
    fake_llm.response_headers = {"x-litellm-response-cost": "0.00042"}
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _calls(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> list[dict[str, object]]:
    code, out, err = run(["calls", "--format", "json", *args], monkeypatch, capsys)
    assert code == 0, err
    calls: list[dict[str, object]] = json.loads(out)["calls"]
    return calls


def test_proxy_cost_is_used_only_without_a_price(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["test", "--no-cache"], monkeypatch, capsys)
    assert code == 0, out + err
    rows = {r["prompt_id"]: r for r in _calls([], monkeypatch, capsys)}
    # no price for proxy/team-llama-70b: the proxy's figure
    assert rows["demo/proxied"]["cost_usd"] == pytest.approx(0.00042)
    # gpt-4o-mini has a price (0.15 / 0.60 per 1M): ours wins over the header
    assert rows["demo/priced"]["cost_usd"] == pytest.approx((1000 * 0.15 + 100 * 0.60) / 1e6)
    code, out, _ = run(["costs", "--by", "model", "--format", "json"], monkeypatch, capsys)
    total = json.loads(out)["total"]
    assert total["unknown_cost_calls"] == 0
    assert total["cost_usd"] == pytest.approx(0.00042 + 0.00021)


def test_a_malformed_header_leaves_the_cost_unknown(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_llm.response_headers = {"x-litellm-response-cost": "nan"}
    code, _, _ = run(["test", "demo/proxied", "--no-cache"], monkeypatch, capsys)
    assert code == 0
    (row,) = _calls([], monkeypatch, capsys)
    assert row["cost_usd"] is None


def test_calls_filters_and_shows_errors(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run(["test", "--no-cache"], monkeypatch, capsys)
    fake_llm.error(500, wire="openai")
    fake_llm.error(500, wire="openai")  # the priced prompt (openai, no retries) fails once
    run(["test", "demo/priced", "--no-cache"], monkeypatch, capsys)
    assert len(_calls([], monkeypatch, capsys)) == 3
    newest = _calls(["--limit", "1"], monkeypatch, capsys)
    assert [(r["prompt_id"], r["outcome"], r["error_kind"]) for r in newest] == [
        ("demo/priced", "error", "server")
    ]
    sales = _calls(["--tag", "sales"], monkeypatch, capsys)
    assert [r["prompt_id"] for r in sales] == ["demo/proxied"]
    assert sales[0]["target"] == "proxy/team-llama-70b" and sales[0]["prompt_version"] == "1.2.0"
    assert [r["outcome"] for r in _calls(["--prompt", "demo/priced"], monkeypatch, capsys)] == [
        "error",
        "ok",
    ]
    assert (
        _calls(["--model", "openai/gpt-4o-mini", "--outcome", "ok"], monkeypatch, capsys)[0][
            "input_tokens"
        ]
        == 1000
    )
    assert _calls(["--since", "2099-01-01"], monkeypatch, capsys) == []
    code, out, _ = run(["calls"], monkeypatch, capsys)
    assert code == 0
    assert "error (server)" in out and "demo/proxied" in out and "$0.00042" in out
    code, out, _ = run(["calls", "--format", "csv", "--limit", "1"], monkeypatch, capsys)
    header, line = out.strip().splitlines()
    assert header.startswith("ts,source,prompt_id") and ",error,server," in line


def test_bad_filters_are_usage_errors(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["calls", "--outcome", "fine"], monkeypatch, capsys)
    assert code == 2 and "unknown --outcome 'fine'" in err
    code, _, err = run(["calls", "--since", "yesterday"], monkeypatch, capsys)
    assert code == 2 and "--since 'yesterday'" in err
    for limit in ("0", "-1"):  # not "no calls match": nothing could
        code, _, err = run(["calls", "--limit", limit], monkeypatch, capsys)
        assert code == 2 and f"--limit must be at least 1, got {limit}" in err
    code, _, err = run(["calls"], monkeypatch, capsys)  # nothing recorded yet
    assert code == 2 and "no ledger at" in err


def test_ledger_text_is_printed_as_data_not_markup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from promptctl.ledger import Ledger
    from promptctl.providers.types import CallContext, CallRecord, Usage

    with Ledger(tmp_path / ".promptctl" / "ledger.sqlite") as ledger:
        ledger.record(
            CallRecord(
                timestamp=1.0e9,
                context=CallContext(source="runtime", prompt_id="[red]p[/red]"),
                target="openai/m",
                model_reported="[link=http://evil]m[/link]",
                outcome="ok",
                usage=Usage(input_tokens=1, output_tokens=1),
                cost_usd=0.5,
            )
        )
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["calls"], monkeypatch, capsys)
    assert code == 0
    assert "[red]p[/red]" in out and "[link=http://evil]m[/link]" in out


def test_a_call_without_usage_shows_unknown_tokens_not_zero(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_llm.usage["openai"] = None  # a server that reports no usage
    run(["test", "demo/priced", "--no-cache"], monkeypatch, capsys)
    fake_llm.usage["openai"] = {"prompt_tokens": 1000, "completion_tokens": 100}
    run(["test", "demo/proxied", "--no-cache"], monkeypatch, capsys)
    code, out, _ = run(["calls"], monkeypatch, capsys)
    assert code == 0
    rows = {line.split("│")[2].strip(): line for line in out.splitlines() if "demo/" in line}
    cells = [c.strip() for c in rows["demo/priced"].split("│")]
    assert cells[6:8] == ["?", "?"], cells
    cells = [c.strip() for c in rows["demo/proxied"].split("│")]
    assert cells[6:8] == ["1,000", "100"], cells
