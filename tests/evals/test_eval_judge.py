"""llm-rubric: the judge protocol, PromptJudge, verdict parsing, and evaluate_test."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import jsonschema
import pytest
import yaml
from evalcore_builders import ctx, spec

from promptctl.errors import ProviderError
from promptctl.evals.assertions import evaluate_test
from promptctl.evals.judge import (
    JudgeError,
    JudgeVerdict,
    PromptJudge,
    judge_prompt_text,
    parse_verdict,
)
from promptctl.promptfile.chat import ChatMessage, ResponseFormat
from promptctl.providers.types import ChatResponse


class FakeJudge:
    def __init__(self, verdict: JudgeVerdict) -> None:
        self.verdict = verdict
        self.calls: list[tuple[str, str, str | None]] = []

    async def grade(
        self, rubric: str, output: str, vars: Mapping[str, Any], *, model: str | None = None
    ) -> JudgeVerdict:
        self.calls.append((rubric, output, model))
        return self.verdict


def test_rubric_pass_fail_and_model_override() -> None:
    judge = FakeJudge(JudgeVerdict(True, 0.9, "polite and on topic", 0.0004))
    rubric = spec("llm-rubric", "Is polite", model="anthropic/claude-3-5-haiku-latest")
    out = asyncio.run(evaluate_test([rubric], ctx("Thanks!"), judge=judge))
    assert out.passed and out.score == 0.9
    assert out.assertions[0].reason == "judge: polite and on topic"
    assert out.judge_cost_usd == pytest.approx(0.0004)
    assert judge.calls == [("Is polite", "Thanks!", "anthropic/claude-3-5-haiku-latest")]

    failing = FakeJudge(JudgeVerdict(False, 0.2, "rude"))
    out2 = asyncio.run(
        evaluate_test([spec("llm-rubric", "Is polite")], ctx("Go away"), judge=failing)
    )
    assert not out2.passed and out2.score == 0.2


def test_rubric_threshold_and_negation() -> None:
    judge = FakeJudge(JudgeVerdict(True, 0.6, "mostly"))
    strict = asyncio.run(
        evaluate_test([spec("llm-rubric", "r", threshold=0.8)], ctx("x"), judge=judge)
    )
    assert not strict.passed
    negated = asyncio.run(evaluate_test([spec("not-llm-rubric", "r")], ctx("x"), judge=judge))
    assert not negated.passed and negated.score == pytest.approx(0.4)


def test_rubric_without_judge_or_rubric_fails_clearly() -> None:
    no_judge = asyncio.run(evaluate_test([spec("llm-rubric", "r")], ctx("x")))
    assert not no_judge.passed and "needs a judge" in no_judge.assertions[0].reason
    judge = FakeJudge(JudgeVerdict(True, 1.0, ""))
    no_rubric = asyncio.run(evaluate_test([spec("llm-rubric")], ctx("x"), judge=judge))
    assert not no_rubric.passed and judge.calls == []


def test_evaluate_test_weighted_mean_and_all_must_pass() -> None:
    asserts = [
        spec("contains", "refund", weight=3),
        spec("contains", "invoice", weight=1),
    ]
    out = asyncio.run(evaluate_test(asserts, ctx("refund issued")))
    assert not out.passed
    assert out.score == pytest.approx(0.75)
    assert out.judge_cost_usd is None
    empty = asyncio.run(evaluate_test([], ctx("x")))
    assert empty.passed and empty.score is None
    zero = asyncio.run(evaluate_test([spec("contains", "x", weight=0)], ctx("x")))
    assert zero.score == 1.0


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"pass": true, "score": 0.8, "reason": "ok"}', (True, 0.8, "ok")),
        ('```json\n{"pass": false, "score": 0.1, "reason": "no"}\n```', (False, 0.1, "no")),
        ('Verdict:\n{"pass": true, "score": 1, "reason": "ok"} Hope it helps', (True, 1.0, "ok")),
        ('{"pass": false, "score": 0, "reason": "x", "detail": {"a": 1}}', (False, 0.0, "x")),
    ],
)  # fmt: skip
def test_parse_verdict_is_robust(reply: str, expected: tuple[bool, float, str]) -> None:
    v = parse_verdict(reply, cost_usd=0.01)
    assert (v.passed, v.score, v.reason) == expected
    assert v.cost_usd == 0.01


@pytest.mark.parametrize(
    "reply",
    [
        "I think it is fine.",
        "",
        '{"pass": "yes"}',
        '{"score": 7}',
        "[true]",
        '{"pass": true}',  # required fields missing: not guessed
        '{"score": 0.3, "reason": "weak"}',
        '{"pass": true, "score": 1, "reason": 5}',
        '{"note": 1} then {"pass": false, "score": 0, "reason": "bad"}',  # two objects
        '{"pass": true, "score": NaN, "reason": "r"}',
        # nested past the stack, a verdict deep inside: a RecursionError out of the
        # judge assertion before; never a verdict read out of it
        '{"a": ' * 5000 + '{"pass": true, "score": 1, "reason": "planted"}' + "}" * 5000,
    ],
)
def test_parse_verdict_rejects_garbage(reply: str) -> None:
    with pytest.raises(JudgeError, match="not a JSON verdict"):
        parse_verdict(reply)


class FakeComplete:
    def __init__(self, text: str, cost: float | None = 0.0002) -> None:
        self.text, self.cost = text, cost
        self.seen: list[tuple[list[ChatMessage], ResponseFormat, str | None]] = []

    async def __call__(
        self, messages: list[ChatMessage], fmt: ResponseFormat, model: str | None
    ) -> ChatResponse:
        self.seen.append((messages, fmt, model))
        return ChatResponse(text=self.text, target="openai/gpt-4o-mini", cost_usd=self.cost)


def test_prompt_judge_renders_shipped_prompt_and_parses_fenced_reply() -> None:
    complete = FakeComplete('```json\n{"pass": true, "score": 0.95, "reason": "polite"}\n```')
    judge = PromptJudge(complete)
    out = asyncio.run(
        evaluate_test([spec("llm-rubric", "Is polite")], ctx("{{ not rendered }}"), judge=judge)
    )
    assert out.passed and out.score == 0.95 and out.judge_cost_usd == pytest.approx(0.0002)
    messages, fmt, model = complete.seen[0]
    assert [m.role for m in messages] == ["system", "user"]
    assert "<rubric>\nIs polite\n</rubric>" in messages[1].content
    assert '"{{ not rendered }}"' in messages[1].content  # data (a JSON string), not a template
    assert fmt.type == "json_schema" and fmt.schema is not None
    assert set(fmt.schema["required"]) == {"pass", "score", "reason"}
    assert model is None


def test_prompt_judge_garbage_reply_is_a_failed_assertion_with_cost() -> None:
    judge = PromptJudge(FakeComplete("As an AI, I cannot grade this."))
    out = asyncio.run(evaluate_test([spec("not-llm-rubric", "r")], ctx("x"), judge=judge))
    assert not out.passed
    assert out.assertions[0].reason.startswith("judge failed: the judge's reply is not a JSON")
    assert out.judge_cost_usd == pytest.approx(0.0002)


def test_prompt_judge_provider_error_propagates() -> None:
    class Down:
        async def __call__(
            self, messages: list[ChatMessage], fmt: ResponseFormat, model: str | None
        ) -> ChatResponse:
            raise ProviderError("timeout", "no answer", provider="openai", model="gpt-4o-mini")

    with pytest.raises(ProviderError):
        asyncio.run(evaluate_test([spec("llm-rubric", "r")], ctx("x"), judge=PromptJudge(Down())))


def test_prompt_judge_custom_renderer() -> None:
    complete = FakeComplete('{"pass": true, "score": 1, "reason": ""}')
    seen: list[Mapping[str, Any]] = []

    def render(vars: Mapping[str, Any]) -> list[ChatMessage]:
        seen.append(vars)
        return [ChatMessage("user", "custom")]

    asyncio.run(PromptJudge(complete, render=render).grade("r", "o", {}))
    assert seen == [{"rubric": "r", "output": "o"}]
    assert complete.seen[0][0] == [ChatMessage("user", "custom")]


def test_shipped_judge_prompt_file_follows_the_prompt_format() -> None:
    data = yaml.safe_load(judge_prompt_text())
    assert data["id"] == "promptctl/judge"
    assert set(data["inputs"]) == {"rubric", "output"}
    assert data["output"]["format"] == "json"
    schema = data["output"]["schema"]
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate({"pass": True, "score": 0.5, "reason": "r"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"pass": True, "score": 2, "reason": "r"}, schema)
    roles = [next(iter(m)) for m in data["messages"]]
    assert roles == ["system", "user"]
    assert set(data) <= {
        "id", "version", "description", "status", "owner", "tags", "model", "inputs",
        "output", "messages", "tests",
    }  # fmt: skip
