"""A live `promptctl test` answered plainly imports no httpx2; a fully cached one builds
no HTTP client and loads no provider adapter
nor the gateway's call path (chain, attempt, limits, retry, pricing);
with plain input schemas and valid inputs, no run imports jsonschema (compiled checks);
a run without `llm-rubric` or embedding assertions imports neither the judge nor the
embedding modules, and one whose messages are plain text or `{{ name }}` not Jinja; a
cached one not the email package either (HTTP-date `Retry-After` only); and one whose
prompts hold no `pattern` not the regex library (a prompt file's own shape is checked
with `re`: those patterns are promptctl's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fakes.llm_server import FakeLLM

# Runs the real entry point in a fresh interpreter, then reports what got imported.
_RUNNER = """
import json, sys
sys.argv = ["promptctl", "test", "--quiet", "--format", "json"]
from promptctl.cli.main import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
http = sorted(
    m for m in sys.modules
    if m.split(".")[0] in ("httpx", "httpx2", "httpcore2", "h11", "anyio")
    or m in ("promptctl.providers._http", "promptctl.providers._transport")
    or m.startswith(("promptctl.providers.openai", "promptctl.providers.anthropic"))
    or m in [f"promptctl.providers.{n}" for n in ("attempt", "chain", "limits", "retry", "pricing")]
)
schema = sorted(m for m in sys.modules if m.split(".")[0] == "jsonschema")
unused = sorted(
    m for m in sys.modules
    if m.startswith(("promptctl.evals.judge", "promptctl.providers.embed"))
    or m.split(".")[0] in ("email", "jinja2", "regex")
)
report = {"code": code, "http": http, "schema": schema, "unused": unused}
sys.stderr.write("\\n@@" + json.dumps(report) + "\\n")
"""

PROMPT = """\
id: demo/qa
version: 1.0.0
model: {use: openai/gpt-4o-mini, params: {temperature: 0, max_tokens: 5}}
inputs: {q: {type: string}}
messages:
  - user: "{{ q }}"
tests:
  - {name: one, vars: {q: a}, assert: [{type: contains, value: fake}]}
  - {name: two, vars: {q: b}, assert: [{type: contains, value: fake}]}
"""


def _run(root: Path) -> tuple[dict[str, object], dict[str, object]]:
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-imports-0123456789"}
    out = subprocess.run(
        [sys.executable, "-c", _RUNNER],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = json.loads(out.stderr.rsplit("@@", 1)[1])
    return report, json.loads(out.stdout)


def test_cached_rerun_imports_no_http_client(tmp_path: Path, fake_llm: FakeLLM) -> None:
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0}\n"
    )
    (tmp_path / "prompts" / "demo").mkdir(parents=True)
    (tmp_path / "prompts" / "demo" / "qa.yaml").write_text(PROMPT)

    first, doc = _run(tmp_path)  # answers come over HTTP: the client is there
    assert first["code"] == 0
    assert "promptctl.providers._http" in first["http"]
    assert "promptctl.providers.openai" in first["http"]
    # plain answers: httpx2 itself is not imported (providers/_direct.py)
    assert [m for m in first["http"] if m.split(".")[0] in ("httpx2", "httpcore2", "h11")] == []
    assert "promptctl.providers.chain" in first["http"]  # the call path, for the calls
    assert first["schema"] == []  # files, config and inputs passed the compiled checks
    assert [c["cached"] for c in doc["cases"]] == [False, False]

    again, doc = _run(tmp_path)
    assert again["code"] == 0
    assert [c["cached"] for c in doc["cases"]] == [True, True]
    assert again["http"] == [] and again["schema"] == []
    assert again["unused"] == []
    assert first["unused"] == []
    assert fake_llm.calls["openai"] == 2
