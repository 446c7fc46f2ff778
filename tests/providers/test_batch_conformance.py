"""What the batch clients send, validated against the vendors' vendored request schemas
(OpenAI CreateFileRequest + CreateBatchRequest + each line's CreateChatCompletionRequest,
Anthropic BetaCreateMessageBatchParams); see test_conformance.py for the method."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from test_conformance import _requests, _spec, _validate

from promptctl.promptfile.model import DEFAULT_PROVIDERS
from promptctl.providers.batch import AnthropicBatch, OpenAIBatch


@dataclass
class _Resp:
    status_code: int
    content: bytes


@dataclass
class _Http:
    """Records what a batch client posts; answers with canned ids."""

    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def post(self, url: str, **kwargs: Any) -> _Resp:
        self.posts.append((url, kwargs))
        return _Resp(200, json.dumps({"id": "x-1"}).encode())


def _items(model: str) -> list[tuple[str, Any]]:
    return [(f"case-{i}", r) for i, r in enumerate(_requests(model))]


def test_openai_upload_batch_and_every_line_match_the_spec() -> None:
    http = _Http()
    batch_id = OpenAIBatch(DEFAULT_PROVIDERS["openai"], "sk-k", http).submit(_items("gpt-4o-mini"))
    assert batch_id == "x-1"
    (upload_url, upload), (batch_url, create) = http.posts
    assert upload_url.endswith("/v1/files") and batch_url.endswith("/v1/batches")
    name, data, _ = upload["files"]["file"]
    _validate("openai_file", {**upload["data"], "file": name})
    _validate("openai_batch", create["json"])
    lines = [json.loads(x) for x in data.splitlines()]
    assert [line["custom_id"] for line in lines] == [
        f"case-{i}" for i in range(len(_requests("gpt-4o-mini")))
    ]
    for line in lines:
        assert (line["method"], line["url"]) == ("POST", "/v1/chat/completions")
        _validate("openai", line["body"])
    assert upload["headers"]["authorization"] == "Bearer sk-k"
    assert "content-type" not in upload["headers"]  # multipart sets its own


def test_anthropic_batch_matches_the_spec() -> None:
    http = _Http()
    AnthropicBatch(DEFAULT_PROVIDERS["anthropic"], "k", http).submit(_items("claude-haiku-4-5"))
    ((url, sent),) = http.posts
    assert url.endswith("/v1/messages/batches")
    _validate("anthropic_batch", sent["json"])
    assert sent["headers"]["x-api-key"] == "k"


@pytest.mark.parametrize(
    ("spec", "body"),
    [
        (
            "openai_batch",
            {"input_file_id": "f", "endpoint": "/v1/chat", "completion_window": "24h"},
        ),
        (
            "openai_batch",
            {"input_file_id": "f", "endpoint": "/v1/chat/completions", "window": "24h"},
        ),
        ("openai_file", {"file": "x", "purpose": "batches"}),
        ("anthropic_batch", {"requests": [{"id": "a", "params": {}}]}),
    ],
)
def test_a_wrong_batch_body_fails_validation(spec: str, body: dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        _validate(spec, body)


BATCH_SPECS = ("openai_batch", "openai_file", "anthropic_batch")


@pytest.mark.parametrize("name", BATCH_SPECS)
def test_vendored_batch_schema_records_its_source(name: str) -> None:
    source = _spec(name)["source"]
    assert set(source) == {"file", "commit", "sha256"} and len(source["commit"]) == 40
