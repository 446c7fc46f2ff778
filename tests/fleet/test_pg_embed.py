"""Embedding calls in the fleet's PostgreSQL ledger: the `operation` column (m005)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.runtime import Runtime
from runtime.helpers import prompt, write_bundle


def _connect(url: str, **kwargs: Any) -> Any:
    """psycopg.connect, imported here: every xdist worker collects this file, one runs it."""
    import psycopg

    return psycopg.connect(url, **kwargs)


KEYS = {"OPENAI_API_KEY": "sk-test-openai-0123456789abcdef"}


def test_embed_and_chat_rows_are_told_apart(tmp_path: Path, fake_llm: FakeLLM, pg_url: str):
    bundle = tmp_path / "app.bundle.json"
    write_bundle(bundle, [prompt()], fake_providers(fake_llm))
    with Runtime.load(bundle, env=KEYS, ledger=pg_url) as runtime:
        texts = [f"passage {i}" for i in range(2050)]  # two requests: 2048 + 2
        result = runtime.embed(texts, model="openai/text-embedding-3-small", dimensions=4)
        runtime.run("support/triage", ticket="a")
    with _connect(pg_url) as db:
        rows = db.execute(
            "SELECT operation, input_tokens, cost_usd FROM calls ORDER BY operation, input_tokens"
        ).fetchall()
    assert [(op, tokens) for op, tokens, _ in rows] == [("chat", 10), ("embed", 4), ("embed", 4096)]
    assert sum(cost for op, _, cost in rows if op == "embed") == pytest.approx(result.cost_usd)
