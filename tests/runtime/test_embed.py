"""`Runtime.embed` / `aembed` against the fake server, with the SQLite ledger."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM, fake_providers
from fakes.more_wires import text_vector
from promptctl.errors import ProviderError, UsageError
from promptctl.runtime import EmbedResult, Runtime

from .helpers import prompt, write_bundle

FAST = {"retry_base_s": 0.001}
TEXTS = ["refunds take five days", "we ship worldwide"]


@pytest.fixture
def bundle_path(tmp_path: Path, fake_llm: FakeLLM) -> Path:
    """A bundle whose prompts use only openai: gemini is added per deployment."""
    path = tmp_path / "app.bundle.json"
    write_bundle(path, [prompt()], fake_providers(fake_llm, max_retries=1))
    return path


def _load(bundle: Path, env: dict[str, str], fake: FakeLLM, ledger: Path | bool) -> Runtime:
    gemini = {"kind": "gemini", "base_url": fake.gemini_base, "api_key_env": "GEMINI_API_KEY"}
    return Runtime.load(
        bundle,
        env=env,
        ledger=ledger,
        gateway_options=FAST,
        providers={"gemini": gemini},
        tags=("search",),
    )


def test_embed_returns_vectors_and_writes_ledger_rows(
    bundle_path: Path, fake_env: dict[str, str], fake_llm: FakeLLM, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    with _load(bundle_path, fake_env, fake_llm, ledger) as rt:
        result = rt.embed(TEXTS, model="openai/text-embedding-3-small", dimensions=256)
        rt.run("support/triage", ticket="hello")  # a chat call in the same ledger
    assert isinstance(result, EmbedResult)
    assert result.vectors == [text_vector(t, 256) for t in TEXTS]
    assert result.model == "openai/text-embedding-3-small" and result.dimensions == 256
    assert result.usage.input_tokens == 7
    db = sqlite3.connect(ledger)
    rows = db.execute(
        "SELECT operation, source, target, input_tokens, output_tokens, cost_usd, tags, "
        "prompt_id FROM calls ORDER BY id"
    ).fetchall()
    db.close()
    assert rows[0][:5] == ("embed", "runtime", "openai/text-embedding-3-small", 7, 0)
    assert rows[0][5] == pytest.approx(7 * 0.02e-6) == result.cost_usd
    assert rows[0][6:] == ('["search"]', None)
    assert [r[0] for r in rows[1:]] == ["chat"]


def test_aembed_sends_batches_concurrently_and_records_each(
    bundle_path: Path, fake_env: dict[str, str], fake_llm: FakeLLM, tmp_path: Path
) -> None:
    texts = [f"document {i} about returns" for i in range(230)]
    fake_llm.latency_s = 0.2
    ledger = tmp_path / "ledger.sqlite"

    async def go() -> EmbedResult:
        async with _load(bundle_path, fake_env, fake_llm, ledger) as rt:
            return await rt.aembed(texts, model="gemini/gemini-embedding-001", dimensions=32)

    result = asyncio.run(go())
    assert result.vectors == [text_vector(t, 32) for t in texts]
    assert result.requests == 3
    arrivals = sorted(r.at for r in fake_llm.requests)
    assert arrivals[-1] - arrivals[0] < 0.15  # all three sent before the first answered
    db = sqlite3.connect(ledger)
    rows = db.execute("SELECT operation, input_tokens FROM calls").fetchall()
    db.close()
    assert sorted(rows) == sorted([("embed", 400), ("embed", 400), ("embed", 120)])
    assert result.usage.input_tokens == 920


def test_embed_fails_over_and_says_why(
    bundle_path: Path, fake_env: dict[str, str], fake_llm: FakeLLM
) -> None:
    for _ in range(2):  # 1 + max_retries
        fake_llm.error(500, wire="openai-embed")
    with _load(bundle_path, fake_env, fake_llm, False) as rt:
        result = rt.embed(
            TEXTS,
            model="openai/text-embedding-3-small",
            fallbacks=["gemini/gemini-embedding-001"],
            dimensions=768,
        )
    assert result.model == "gemini/gemini-embedding-001"
    assert [(s.target, s.reason) for s in result.fallbacks_tried] == [
        ("openai/text-embedding-3-small", "server")
    ]


def test_unknown_provider_and_closed_runtime_are_clear_errors(
    bundle_path: Path, fake_env: dict[str, str], fake_llm: FakeLLM
) -> None:
    rt = _load(bundle_path, fake_env, fake_llm, False)
    with pytest.raises(ProviderError, match="unknown provider 'voyage'"):
        rt.embed(TEXTS, model="voyage/voyage-3")
    rt.close()
    with pytest.raises(UsageError, match="closed"):
        rt.embed(TEXTS, model="openai/text-embedding-3-small")
    assert fake_llm.requests == []


def test_calls_shows_and_filters_embedding_requests(
    bundle_path: Path,
    fake_env: dict[str, str],
    fake_llm: FakeLLM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    with _load(bundle_path, fake_env, fake_llm, ledger) as rt:
        rt.embed(TEXTS, model="openai/text-embedding-3-small")
        rt.run("support/triage", ticket="hello")
    args = ["calls", "--ledger", str(ledger), "--format", "json"]
    code, out, err = run([*args, "--operation", "embed"], monkeypatch, capsys)
    assert code == 0, err
    (row,) = json.loads(out)["calls"]
    assert (row["operation"], row["target"]) == ("embed", "openai/text-embedding-3-small")
    code, out, _ = run(["calls", "--ledger", str(ledger)], monkeypatch, capsys)
    assert code == 0
    lines = [line for line in out.splitlines() if "openai/" in line]
    assert ["embed: ok" in line for line in lines] == [False, True]  # newest first
    code, _, err = run([*args, "--operation", "speech"], monkeypatch, capsys)
    assert code == 2 and "chat, embed" in err


def test_embed_and_aembed_pass_the_task_type_to_gemini(
    bundle_path: Path, fake_env: dict[str, str], fake_llm: FakeLLM
) -> None:
    with _load(bundle_path, fake_env, fake_llm, False) as rt:
        rt.embed(TEXTS, model="gemini/gemini-embedding-001", task_type="RETRIEVAL_DOCUMENT")
        query = "how long do refunds take"
        asyncio.run(
            rt.aembed(query, model="gemini/gemini-embedding-001", task_type="RETRIEVAL_QUERY")
        )
    sent = [[r["taskType"] for r in req.body["requests"]] for req in fake_llm.requests]
    assert sent == [["RETRIEVAL_DOCUMENT"] * 2, ["RETRIEVAL_QUERY"]]
