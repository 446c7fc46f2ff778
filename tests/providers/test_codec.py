"""providers/codec: the stored form of an answer (cache, recordings)."""

from __future__ import annotations

import dataclasses
import random

import pytest

from promptctl.plan.request import plain_data
from promptctl.providers.codec import response_from_data, response_to_data
from promptctl.providers.types import ChatResponse, SkippedTarget, ToolCall, Usage


def _generic(response: ChatResponse) -> dict[str, object]:
    """What every answer was stored as before the field-by-field path: `plain_data`."""
    data = plain_data(response)
    data.pop("cached", None)
    data.pop("ttft_ms", None)
    return data


def _answers() -> list[ChatResponse]:
    rng = random.Random(5)
    out = [ChatResponse(text="", target="a/b")]
    for _ in range(40):
        out.append(
            ChatResponse(
                text=rng.choice(["ok", 'naïve "quoted"\n', "x" * 50]),
                target=rng.choice(["openai/gpt-4o-mini", "local/m"]),
                finish_reason=rng.choice(["stop", "length", "tool_calls", "content_filter"]),
                usage=Usage(*(rng.randrange(0, 10_000) for _ in range(6))),
                model_reported=rng.choice(["", "gpt-4o-mini-2024-07-18"]),
                latency_ms=rng.random() * 1000,
                request_id=rng.choice([None, "req_1"]),
                cost_usd=rng.choice([None, 0.0, rng.random() / 1000]),
                cached=rng.random() < 0.5,
                attempts=rng.randrange(1, 4),
                usage_known=rng.random() < 0.8,
                attempt_latency_ms=rng.random() * 100,
                ttft_ms=rng.choice([None, 12.5]),
            )
        )
    return out


def test_every_field_of_an_answer_is_known_to_the_stored_form() -> None:
    """A field added to ChatResponse must be added to `response_to_data` too: this list
    is what it writes (besides the two that describe one call only)."""
    names = {f.name for f in dataclasses.fields(ChatResponse)}
    written = set(response_to_data(ChatResponse(text="t", target="a/b")))
    assert names - written == {"cached", "ttft_ms", "tool_calls"}  # tool_calls: when any


@pytest.mark.parametrize("answer", _answers(), ids=range(41))
def test_the_stored_form_is_plain_datas(answer: ChatResponse) -> None:
    """Equal, and in the same key order (a recording's JSON is written as it comes)."""
    ours, theirs = response_to_data(answer), _generic(answer)
    assert ours == theirs
    assert list(ours) == list(theirs) and list(ours["usage"]) == list(theirs["usage"])
    back = response_from_data(response_to_data(answer), cached=True)
    assert back == dataclasses.replace(answer, cached=True, ttft_ms=None)


def test_answers_with_fallbacks_or_tool_calls_keep_the_generic_form() -> None:
    answer = ChatResponse(
        text="",
        target="a/b",
        fallbacks_tried=(SkippedTarget("x/y", "rate_limit", "429"),),
        tool_calls=(ToolCall(id="c1", name="f", arguments={"a": 1}),),
    )
    assert response_to_data(answer) == _generic(answer)
    assert response_to_data(answer)["tool_calls"][0]["name"] == "f"
