"""Multi-step tool cases: `tool_results` answer the model's calls, then it answers."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest
from runner_helpers import a, prompt, tcase

from fakes.llm_server import FakeLLM, Logged
from promptctl.evals.runner import EvalOptions, run_eval
from promptctl.evals.tool_steps import MAX_MODEL_CALLS
from promptctl.promptfile.chat import ToolSpec
from promptctl.promptfile.model import Project, Prompt

LOOKUP = ToolSpec(
    "lookup_order",
    "Find an order.",
    {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
)


def _prompt(*tests: object) -> Prompt:
    p = prompt("demo/tools", *tests)  # type: ignore[arg-type]
    return dataclasses.replace(p, tools=(LOOKUP,))


def _answered(logged: Logged) -> bool:
    return any(m["role"] == "tool" for m in logged.body["messages"])


def test_tool_results_continue_the_case_to_the_answer(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str], tmp_path: Path
) -> None:
    fake_llm.reply_tool_calls(lambda r: None if _answered(r) else [("lookup_order", {"id": "A-1"})])
    fake_llm.reply("Your order A-1 has shipped.")
    test = dataclasses.replace(
        tcase(
            "looks up, then answers",
            "where is A-1?",
            a("tool-call", "lookup_order", arguments={"id": "A-1"}),
            a("contains", "shipped"),
        ),
        tool_results={"lookup_order": {"status": "shipped"}},
    )
    options = EvalOptions(output=tmp_path / "run.json")
    run = asyncio.run(run_eval(fake_project, [_prompt(test)], options, env=fake_env))
    (result,) = run.results
    assert result.status == "pass", [x.reason for x in result.assertions]
    assert result.output == "Your order A-1 has shipped."
    # both calls were billed: the fake bills 10 in + 5 out tokens of gpt-4o-mini per call
    assert (result.usage.input_tokens, result.usage.output_tokens) == (20, 10)
    assert result.cost_usd == pytest.approx(2 * 10 * 0.15e-6 + 2 * 5 * 0.6e-6)
    _, second = fake_llm.requests
    assert [m["role"] for m in second.body["messages"]][-2:] == ["assistant", "tool"]
    assert second.body["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_fake_0",
        "content": '{"status": "shipped"}',
    }
    doc = json.loads((tmp_path / "run.json").read_text())
    assert doc["cases"][0]["tool_calls"] == [
        {
            "id": "call_fake_0",
            "name": "lookup_order",
            "arguments": {"id": "A-1"},
            "arguments_valid": True,
            "arguments_error": None,
        }
    ]


def test_a_call_without_a_result_ends_the_case_and_calls_are_capped(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    fake_llm.reply_tool_calls([("lookup_order", {"id": "A-1"})])  # it never stops calling
    looping = dataclasses.replace(
        tcase("loops", "loop", a("not-tool-call")), tool_results={"lookup_order": "pending"}
    )
    no_result = tcase("no result", "stop", a("tool-call", "lookup_order"))
    run = asyncio.run(
        run_eval(fake_project, [_prompt(looping, no_result)], EvalOptions(), env=fake_env)
    )
    by_test = {r.test: r for r in run.results}
    assert len(by_test["loops"].tool_calls) == MAX_MODEL_CALLS
    assert by_test["loops"].status == "fail"  # the model called a tool: not-tool-call fails
    assert len(by_test["no result"].tool_calls) == 1 and by_test["no result"].status == "pass"
    loops = [r for r in fake_llm.requests if "loop" in json.dumps(r.body)]
    assert len(loops) == MAX_MODEL_CALLS


def test_invalid_tool_arguments_fail_the_case_implicitly(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    fake_llm.reply_tool_calls([("lookup_order", {"id": 7})])
    test = tcase("bad args", "q", a("not-contains", "zzz"))
    run = asyncio.run(run_eval(fake_project, [_prompt(test)], EvalOptions(), env=fake_env))
    (result,) = run.results
    assert result.status == "fail"
    implicit = result.assertions[-1]
    assert implicit.type == "tool-call" and not implicit.passed
    assert "at id: 7 is not of type 'string'" in implicit.reason


def test_the_cost_bound_covers_every_step_and_the_tools(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    """`--max-cost` reserves a bound before the case: it must not be below what the case
    costs, whose every step re-sends the tools and the growing conversation."""
    from promptctl.evals.cases import Case
    from promptctl.evals.prepare import RequestBuilder

    fake_llm.usage["openai"] = {"prompt_tokens": 900, "completion_tokens": 50}
    fake_llm.reply_tool_calls([("lookup_order", {"id": "A-1"})])  # it never stops calling
    looping = dataclasses.replace(
        tcase("loops", "loop", a("not-tool-call")), tool_results={"lookup_order": "x" * 500}
    )
    single = tcase("one call", "loop", a("not-tool-call"))
    p = _prompt(looping, single)
    builder = RequestBuilder(fake_project, {})
    bound = builder.prepare(Case(p, p.model.primary, looping)).estimate_usd
    one = builder.prepare(Case(p, p.model.primary, single)).estimate_usd
    assert bound is not None and one is not None
    assert bound > MAX_MODEL_CALLS * one  # each step is longer than the first
    run = asyncio.run(run_eval(fake_project, [_prompt(looping)], EvalOptions(), env=fake_env))
    (result,) = run.results
    assert result.cost_usd is not None and 0 < result.cost_usd <= bound


def test_input_bound_counts_tools_schemas_and_tool_turns() -> None:
    from promptctl.evals.budget import input_token_bound
    from promptctl.plan.request import ChatRequest
    from promptctl.promptfile.chat import ChatMessage, ResponseFormat, ToolCall

    plain = ChatRequest("openai", "m", (ChatMessage("user", "hi"),))
    tools = dataclasses.replace(plain, tools=(LOOKUP,))
    params = len(json.dumps(dict(LOOKUP.parameters)))
    assert input_token_bound(tools) - input_token_bound(plain) > params
    schema = {"type": "object", "properties": {"a": {"type": "string", "description": "d" * 300}}}
    shaped = dataclasses.replace(plain, response_format=ResponseFormat("json_schema", schema))
    assert input_token_bound(shaped) - input_token_bound(plain) > 300
    call = ToolCall("call_1", "lookup_order", {"id": "A" * 400})
    turn = (
        ChatMessage("assistant", "", tool_calls=(call,)),
        ChatMessage("tool", "ok", tool_call_id="call_1"),
    )
    history = dataclasses.replace(plain, messages=(*plain.messages, *turn))
    assert input_token_bound(history) - input_token_bound(plain) > 400
