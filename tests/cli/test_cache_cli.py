"""`promptctl cache` and `promptctl test` on a damaged cache file."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes.cli import invoke
from fakes.llm_server import FakeLLM
from promptctl.providers.cache import ResponseCache
from promptctl.providers.types import ChatResponse

PROMPT = """\
version: 1.0.0
model: {use: openai/gpt-4o-mini, params: {max_tokens: 5}}
inputs: {q: {type: string}}
messages:
  - user: "{{ q }}"
tests:
  - {name: one, vars: {q: a}, assert: [{type: contains, value: ok}]}
  - {name: two, vars: {q: b}, assert: [{type: contains, value: ok}]}
"""


def test_a_damaged_cache_is_named_cleared_and_never_fails_a_run(
    tmp_path: Path, fake_llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    """(In a process of its own the warning is a line on stderr; in-process pytest's log
    capture takes it.)"""
    (tmp_path / "promptctl.yaml").write_text(
        f"providers:\n  openai: {{kind: openai, base_url: '{fake_llm.openai_base}'}}\n"
    )
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "p.yaml").write_text(PROMPT)
    path = tmp_path / ".promptctl" / "cache.sqlite"
    seed = ResponseCache(path)
    seed.put("k", ChatResponse(text="x", target="openai/gpt-4o-mini"))
    seed.close()
    path.write_bytes(b"not a database at all\n" * 300)
    env = {"OPENAI_API_KEY": "sk-test-0123456789"}
    fake_llm.reply("ok")

    stats = invoke("cache", "stats", cwd=tmp_path, env=env)
    assert stats.returncode == 2
    assert stats.stderr.startswith(f"error: the response cache {path} is damaged: ")
    assert "Traceback" not in stats.stdout + stats.stderr

    with caplog.at_level("WARNING"):
        run = invoke("test", cwd=tmp_path, env=env)  # the cases call the provider: no cache
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed, 0 failed" in run.stdout
    said = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert len(said) == 1 and f"the response cache {path} is damaged" in said[0]
    caplog.clear()
    assert fake_llm.calls["openai"] == 2

    cleared = invoke("cache", "clear", cwd=tmp_path, env=env)
    assert cleared.returncode == 0
    assert cleared.stdout == f"removed the damaged cache file {path}\n"
    with caplog.at_level("WARNING"):
        again = invoke("test", cwd=tmp_path, env=env)
    assert again.returncode == 0
    assert not [r for r in caplog.records if "damaged" in r.getMessage()]
    assert invoke("test", cwd=tmp_path, env=env).returncode == 0
    assert fake_llm.calls["openai"] == 4  # the new cache answered the third run
