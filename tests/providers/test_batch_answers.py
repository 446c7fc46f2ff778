"""Batch APIs' answers are read as untrusted, like live answers: a count that is text, a
list where an object goes, a result line that is not JSON or nests past the stack is a
`bad_response`, never a traceback out of `promptctl test --batch`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from test_batch_conformance import _Resp

from promptctl.errors import ProviderError
from promptctl.promptfile.model import DEFAULT_PROVIDERS
from promptctl.providers.batch import batch_client


@dataclass
class _Http:
    """Answers each GET with the first canned body whose key is in the URL."""

    answers: dict[str, bytes] = field(default_factory=dict)

    def get(self, url: str, **kwargs: Any) -> _Resp:
        body = next(b for part, b in self.answers.items() if part in url)
        return _Resp(200, body)


def _j(value: Any) -> bytes:
    return json.dumps(value).encode()


DEEP = b"[" * 100_000 + b"]" * 100_000

CASES: list[tuple[str, str, dict[str, bytes]]] = [
    (
        "openai",
        "status",
        {"/batches/": _j({"status": "completed", "request_counts": {"completed": "abc"}})},
    ),
    ("openai", "status", {"/batches/": _j([1, 2])}),
    ("openai", "results", {"/files/": b"{not json\n", "/batches/": _j({"output_file_id": "f1"})}),
    ("openai", "results", {"/files/": DEEP + b"\n", "/batches/": _j({"output_file_id": "f1"})}),
    (
        "openai",
        "results",
        {"/files/": b'"a string line"\n', "/batches/": _j({"output_file_id": "f1"})},
    ),
    (
        "anthropic",
        "status",
        {"/batches/": _j({"request_counts": [1], "processing_status": "ended"})},
    ),
    (
        "anthropic",
        "results",
        {"/results": b"[1]\n", "/batches/": _j({"results_url": "https://x/results"})},
    ),
    ("gemini", "status", {"batches/": _j({"batchStats": {"requestCount": "many"}, "state": "x"})}),
    (
        "gemini",
        "results",
        {"batches/": _j({"response": {"inlinedResponses": {"inlinedResponses": [1]}}})},
    ),
]


@pytest.mark.parametrize(("kind", "call", "answers"), CASES)
def test_a_malformed_batch_answer_is_a_bad_response(
    kind: str, call: str, answers: dict[str, bytes]
) -> None:
    client = batch_client(DEFAULT_PROVIDERS[kind], "sk-test-0123456789", _Http(answers))
    assert client is not None
    with pytest.raises(ProviderError) as info:
        if call == "status":
            client.status("batches/b1")
        else:
            client.results("batches/b1", ["case-0"])
    assert info.value.kind == "bad_response"
    assert "the batch API's answer is malformed" in info.value.message
