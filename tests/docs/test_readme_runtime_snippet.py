"""README's "In your application" snippet runs as written against the fake server
(only where the bundle, key and ledger live is redirected)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.promptfile.project import load_project
from promptctl.publish.selection import select_for_publish
from promptctl.runtime import Runtime
from runtime.helpers import write_bundle

ROOT = Path(__file__).resolve().parents[2]


def _snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## In your application", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "README's 'In your application' has no python block"
    return match.group(1)


def test_the_readme_runtime_snippet_runs(
    tmp_path: Path,
    fake_llm: FakeLLM,
    fake_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "app"
    (root / "prompts" / "support").mkdir(parents=True)
    (root / "promptctl.yaml").write_text("prompts: prompts\n", encoding="utf-8")
    source = (ROOT / "prompts" / "support" / "reply.yaml").read_text(encoding="utf-8")
    (root / "prompts" / "support" / "reply.yaml").write_text(source, encoding="utf-8")
    shutil.copytree(ROOT / "prompts" / "_partials", root / "prompts" / "_partials")
    selection = select_for_publish(load_project(root / "promptctl.yaml"), ["support/reply"])
    bundle = tmp_path / "app.bundle.json"
    write_bundle(bundle, list(selection.prompts), fake_providers(fake_llm, max_retries=0))
    ledger = tmp_path / "ledger.sqlite"
    original = Runtime.load.__func__  # type: ignore[attr-defined]

    def load(cls: type[Runtime], path: Any, **kw: Any) -> Runtime:
        assert path == "releases" and "public_key" in kw and "ledger" in kw
        return original(cls, bundle, env=fake_env, ledger=str(ledger))

    monkeypatch.setattr(Runtime, "load", classmethod(load))
    fake_llm.reply("Your order ships today.")
    scope: dict[str, Any] = {}
    exec(compile(_snippet(), "README.md", "exec"), scope)
    rt = scope["rt"]
    try:
        assert scope["result"].text == "Your order ships today."
        out = capsys.readouterr().out
        assert out.startswith("Your order ships today.\nopenai/gpt-4o-mini: first token after ")
        emb = scope["emb"]
        assert len(emb.vectors) == 2 and emb.dimensions == len(emb.vectors[0]) > 0
    finally:
        rt.close()
    assert {r.wire for r in fake_llm.requests} == {"openai", "openai-embed"}  # all on the fake
