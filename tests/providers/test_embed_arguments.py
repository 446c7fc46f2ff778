"""A caller's wrong-shaped arguments to `Runtime.embed`/`stream` get a clear UsageError
before any request, never a silent answer for the wrong texts or a TypeError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.errors import UsageError
from promptctl.runtime import Runtime
from runtime.helpers import prompt, write_bundle

MODEL = "openai/text-embedding-3-small"


@pytest.fixture
def runtime(tmp_path: Path, fake_llm: FakeLLM) -> Any:
    bundle = tmp_path / "app.bundle.json"
    write_bundle(bundle, [prompt()], fake_providers(fake_llm, max_retries=0))
    rt = Runtime.load(bundle, env={"OPENAI_API_KEY": "sk-test-args-0123456789"}, ledger=False)
    yield rt
    rt.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"texts": {"refund policy": 1}}, "texts is a dict: pass a string or a list"),
        ({"texts": b"refund"}, "texts is a bytes"),
        ({"texts": {"a", "b"}}, "texts is a set"),
        ({"texts": ["a"], "dimensions": 1.5}, "dimensions=1.5 is not a positive integer"),
        ({"texts": ["a"], "dimensions": "8"}, "dimensions='8' is not a positive integer"),
        (
            {"texts": ["a"], "fallbacks": "openai/text-embedding-3-large"},
            r"fallbacks='openai/text-embedding-3-large' is a string",
        ),
    ],
)
def test_wrong_shaped_embed_arguments_are_usage_errors(
    runtime: Runtime, fake_llm: FakeLLM, kwargs: dict[str, Any], message: str
) -> None:
    texts = kwargs.pop("texts")
    with pytest.raises(UsageError, match=message) as info:
        runtime.embed(texts, model=MODEL, **kwargs)
    assert "--" not in str(info.value) + str(info.value.hint or "")  # no CLI flag hints
    assert fake_llm.requests == []


@pytest.mark.parametrize("first_token_s", ["1", True, float("nan")])
def test_a_first_token_deadline_that_is_not_a_number_is_a_usage_error(
    runtime: Runtime, fake_llm: FakeLLM, first_token_s: Any
) -> None:
    with pytest.raises(UsageError, match="first_token_s="):
        runtime.stream("support/triage", first_token_s=first_token_s, ticket="x")
    assert fake_llm.requests == []
