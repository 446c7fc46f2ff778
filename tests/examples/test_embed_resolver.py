"""examples/embed_resolver.py run against the fake server: retrieval picks the right context."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.promptfile.project import load_project
from promptctl.publish.selection import select_for_publish
from promptctl.runtime import Runtime
from runtime.helpers import write_bundle

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "embed_resolver.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("embed_resolver", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bundle(tmp_path: Path, fake_llm: FakeLLM) -> Path:
    """A bundle of the prompt file the example's docstring tells users to copy."""
    root = tmp_path / "app"
    (root / "prompts" / "support").mkdir(parents=True)
    (root / "promptctl.yaml").write_text("prompts: prompts\n", encoding="utf-8")
    source = (EXAMPLE.parent / "answer.yaml").read_text(encoding="utf-8")
    (root / "prompts" / "support" / "answer.yaml").write_text(source, encoding="utf-8")
    project = load_project(root / "promptctl.yaml")
    selection = select_for_publish(project, ["support/answer"])
    path = tmp_path / "app.bundle.json"
    write_bundle(path, list(selection.prompts), fake_providers(fake_llm, max_retries=0))
    return path


def _sent_prompt(fake: FakeLLM) -> str:
    chat = [r for r in fake.requests if r.wire == "openai"]
    content: str = chat[-1].body["messages"][-1]["content"]
    return content


def test_the_closest_articles_become_the_context(
    bundle: Path, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    example = _example()
    fake_llm.reply("Within five business days.")
    with Runtime.load(bundle, env=fake_env, ledger=False) as rt:
        index = example.Index(rt, example.ARTICLES)
        example.attach(rt, index)
        result = example.answer(rt, "When are refunds paid back?")
    assert result.text == "Within five business days." and result.context_degraded == ()
    sent = _sent_prompt(fake_llm)
    assert sent.startswith(f"Articles:\n- {example.ARTICLES[0]}\n- ")  # the refund article first
    assert example.ARTICLES[2] not in sent  # the password article is not close
    embeds = [r.body for r in fake_llm.requests if r.wire == "openai-embed"]
    assert [len(b["input"]) for b in embeds] == [5, 1]  # index once, then the query
    assert {(b["model"], b["dimensions"]) for b in embeds} == {("text-embedding-3-small", 256)}
    assert index.dimensions == 256 and index.cost_usd is not None and index.cost_usd > 0


def test_an_embeddings_outage_degrades_to_no_context(
    bundle: Path, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    example = _example()
    with Runtime.load(bundle, env=fake_env, ledger=False) as rt:
        index = example.Index(rt, example.ARTICLES)
        example.attach(rt, index)
        fake_llm.error(503, wire="openai-embed")  # the query's embedding fails
        result = example.answer(rt, "When are refunds paid back?")
    assert [name for name, _ in result.context_degraded] == ["context"]
    assert _sent_prompt(fake_llm).startswith("Articles:\n\n\nQuestion:")


def test_main_prints_the_answer(
    bundle: Path,
    fake_llm: FakeLLM,
    fake_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in fake_env.items():
        monkeypatch.setenv(name, value)
    fake_llm.reply("Five days.")
    assert _example().main(["embed_resolver.py", str(bundle), "refunds?"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Five days."
    assert out[1].startswith("[openai/gpt-4o-mini; index built with openai/text-embedding-3-small")
    assert _example().main(["embed_resolver.py"]) == 2
