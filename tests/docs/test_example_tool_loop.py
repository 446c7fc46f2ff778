"""examples/tool_loop.py runs against the fake server: the tool loop docs/runtime.md shows.

The example's prompt (examples/order_status.yaml) is published into a bundle whose
providers point at the fake; the fake asks for `lookup_order` until a tool result is in
the conversation, then answers with what that result said. So the printed answer can
only carry the order's status if the loop ran the tool and sent its result back.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from fakes.llm_server import FakeLLM, Logged
from promptctl.bundle.format import build_bundle, serialize
from promptctl.promptfile.project import load_project
from promptctl.publish.selection import select_for_publish
from promptctl.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "tool_loop.py"
KEYS = {
    "OPENAI_API_KEY": "sk-test-openai-0123456789abcdef",
    "ANTHROPIC_API_KEY": "sk-ant-test-0123456789abcdef",
    "GEMINI_API_KEY": "AIzaFakeGeminiKey0123456789abcdef",
}


def _tool_result(logged: Logged) -> str | None:
    """The tool result in a request of any wire, if there is one."""
    body = logged.body
    for m in body.get("messages", []):
        if m.get("role") == "tool":
            return str(m["content"])
        for block in m.get("content") if isinstance(m.get("content"), list) else []:
            if block.get("type") == "tool_result":
                return str(block["content"])
    for c in body.get("contents", []):
        for part in c["parts"]:
            if "functionResponse" in part:
                return json.dumps(part["functionResponse"]["response"]["output"])
    return None


@pytest.fixture
def bundle(tmp_path: Path, fake_llm: FakeLLM) -> Path:
    root = tmp_path / "app"
    (root / "prompts" / "support").mkdir(parents=True)
    common = "api_key_env: {env}, max_retries: 0, timeout_s: 5"
    (root / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}', "
        + common.format(env="OPENAI_API_KEY")
        + "}\n"
        f"  anthropic: {{kind: anthropic, base_url: '{fake_llm.anthropic_base}', "
        + common.format(env="ANTHROPIC_API_KEY")
        + "}\n"
        f"  gemini: {{kind: gemini, base_url: '{fake_llm.gemini_base}', "
        + common.format(env="GEMINI_API_KEY")
        + "}\n",
        encoding="utf-8",
    )
    source = (ROOT / "examples" / "order_status.yaml").read_text(encoding="utf-8")
    (root / "prompts" / "support" / "order_status.yaml").write_text(source, encoding="utf-8")
    project = load_project(root / "promptctl.yaml")
    selection = select_for_publish(project, ["support/order_status"])
    doc = build_bundle(
        selection.prompts,
        providers=project.providers,
        eval_summaries={},
        git_commit=None,
        created_from="test",
    )
    path = tmp_path / "app.bundle.json"
    path.write_bytes(serialize(doc))
    fake_llm.reply_tool_calls(
        lambda r: None if _tool_result(r) else [("lookup_order", {"order_id": "A-204518"})]
    )
    fake_llm.reply(lambda r: f"Your order: {_tool_result(r)}")
    return path


def test_the_example_runs_the_tool_and_answers(bundle: Path, fake_llm: FakeLLM) -> None:
    env = {**os.environ, **KEYS, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), str(bundle), "Where is my order A-204518?"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    first_line = done.stdout.splitlines()[0]
    assert json.loads(first_line.removeprefix("Your order: ")) == {
        "order_id": "A-204518",
        "status": "shipped",
        "eta": "2026-12-07",
    }
    assert "answered by openai/gpt-4o-mini" in done.stdout
    assert len(fake_llm.requests) == 2  # the call, then the call with the tool's result


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tool_loop", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("target", ["anthropic/claude-haiku-4-5", "gemini/gemini-2.5-flash"])
def test_the_same_loop_on_the_other_wires(bundle: Path, fake_llm: FakeLLM, target: str) -> None:
    pins = {"support/order_status": target}
    with Runtime.load(bundle, env=KEYS, ledger=False, targets=pins) as rt:
        result = _example().answer(rt, "Where is my order A-204518?")
    assert result.model == target and result.tool_calls == ()
    assert json.loads(result.text.removeprefix("Your order: "))["status"] == "shipped"


def test_a_bad_call_is_answered_with_an_error_the_model_sees(
    bundle: Path, fake_llm: FakeLLM
) -> None:
    fake_llm.reply_tool_calls(
        lambda r: None if _tool_result(r) else [("lookup_order", {"order_id": "12"})]
    )
    with Runtime.load(bundle, env=KEYS, ledger=False) as rt:
        result = _example().answer(rt, "Where is 12?")
    error = json.loads(result.text.removeprefix("Your order: "))["error"]
    assert "does not match '^A-[0-9]{6}$'" in error  # the schema check, sent back


def test_the_example_prompt_lints_clean_and_its_tool_test_passes(
    bundle: Path,
    fake_llm: FakeLLM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The documented `tool_results:` test, from YAML, through `promptctl test`."""
    from fakes.cli import run as run_cli

    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path / "app")
    rc, out, err = run_cli(["lint", "--no-version-check", "--strict"], monkeypatch, capsys)
    assert rc == 0, out + err
    results = tmp_path / "r.json"
    args = ["test", "support/order_status", "--mode", "live", "--no-cache"]
    args += ["--output", str(results)]
    rc, out, err = run_cli(args, monkeypatch, capsys)
    assert rc == 0, out + err
    (case,) = json.loads(results.read_text())["cases"]
    assert case["status"] == "pass"
    assert [c["name"] for c in case["tool_calls"]] == ["lookup_order"]
    # the test's own tool result reached the model, and its answer was scored
    assert json.loads(case["output"].removeprefix("Your order: "))["status"] == "shipped"
