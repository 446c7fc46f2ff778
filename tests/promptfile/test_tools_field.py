"""`tools:` and `tool_choice` in a prompt file: loaded, hashed, bundled, planned."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from promptctl.bundle.format import build_bundle, bundle_prompt_to_prompt
from promptctl.plan.call import plan_call
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.chat import ChatMessage, ToolSpec
from promptctl.promptfile.hashing import content_hash
from promptctl.promptfile.loader import load_prompt
from promptctl.promptfile.model import DEFAULT_PROVIDERS, Project, Prompt

BASE = """\
version: 1.0.0
model: {use: openai/gpt-4o-mini}
inputs: {q: {type: string}}
messages:
  - user: "{{ q }}"
"""
TOOLS = """\
tools:
  - name: lookup_order
    description: Find an order.
    parameters: {type: object, required: [id], properties: {id: {type: string}}}
  - name: escalate
tool_choice: required
"""


def _load(tmp_path: Path, text: str) -> Prompt:
    project = Project(root=tmp_path, prompts_dir=tmp_path / "prompts")
    (tmp_path / "prompts").mkdir(exist_ok=True)
    path = tmp_path / "prompts" / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return load_prompt(path, project)


def test_tools_load_and_reach_the_request(tmp_path: Path) -> None:
    prompt = _load(tmp_path, BASE + TOOLS)
    assert prompt.tools == (
        ToolSpec(
            "lookup_order",
            "Find an order.",
            {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
        ),
        ToolSpec("escalate", "", {"type": "object", "properties": {}}),
    )
    assert prompt.tool_choice == "required"
    request = plan_call(prompt, {"q": "hi"}).request
    assert [t.name for t in request.tools] == ["lookup_order", "escalate"]
    assert request.tool_choice == "required"
    # parameters are key-sorted like output schemas: bundle and working tree send one body
    assert list(request.tools[0].parameters) == ["properties", "required", "type"]


def test_tools_change_the_hash_and_survive_the_bundle(tmp_path: Path) -> None:
    plain = _load(tmp_path, BASE)
    with_tools = _load(tmp_path, BASE + TOOLS)
    assert plain.content_hash != with_tools.content_hash
    doc = build_bundle(
        [with_tools],
        providers=dict(DEFAULT_PROVIDERS),
        eval_summaries={},
        git_commit=None,
        created_from="test",
    )
    (entry,) = doc["prompts"]
    back = bundle_prompt_to_prompt(entry)
    assert back.tools == with_tools.tools
    assert back.tool_choice == "required"
    assert content_hash(back) == with_tools.content_hash
    assert (
        "tools"
        not in build_bundle(
            [plain],
            providers=dict(DEFAULT_PROVIDERS),
            eval_summaries={},
            git_commit=None,
            created_from="test",
        )["prompts"][0]
    )


def test_requests_without_tools_keep_their_cache_keys() -> None:
    """Recordings and caches made before tools existed still hit."""
    request = ChatRequest("openai", "m", (ChatMessage("user", "hi"),), temperature=0.0)
    before = {  # the canonical form as it was: no tool fields anywhere
        "extra": {},
        "max_tokens": None,
        "messages": [{"content": "hi", "role": "user"}],
        "model": "m",
        "provider": "openai",
        "response_format": {"name": "output", "schema": None, "type": "text"},
        "seed": None,
        "stop": [],
        "temperature": 0.0,
        "top_p": None,
    }
    assert request.canonical() == before
    canonical = json.dumps(before, sort_keys=True, separators=(",", ":"))
    payload = '{"repeat":0,"request":' + canonical + "}"
    assert request.cache_key() == hashlib.sha256(payload.encode()).hexdigest()
    tooled = ChatRequest("openai", "m", request.messages, temperature=0.0, tools=(ToolSpec("t"),))
    assert tooled.canonical()["tools"] == [
        {"name": "t", "description": "", "parameters": {"type": "object", "properties": {}}}
    ]
    assert tooled.cache_key() != request.cache_key()
