"""History budgets, window fitting and the token estimate."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from promptctl.errors import ProviderError
from promptctl.plan.call import plan_call
from promptctl.promptfile.chat import ChatMessage
from promptctl.promptfile.context_windows import CONTEXT_WINDOWS, estimate_tokens
from promptctl.promptfile.history import (
    MESSAGE_OVERHEAD,
    OUTPUT_RESERVE,
    estimate_message,
    fit_history,
    turns,
)
from promptctl.promptfile.loader import load_prompts
from promptctl.promptfile.model import MessageTemplate, ModelConfig, Prompt, Target
from promptctl.promptfile.project import load_project

REPO = Path(__file__).resolve().parents[2]


def _msg(role: str, n: int) -> ChatMessage:
    return ChatMessage(role, "x" * n)  # type: ignore[arg-type]


def _conversation(pairs: int, size: int = 30) -> list[ChatMessage]:
    out = []
    for _ in range(pairs):
        out += [_msg("user", size), _msg("assistant", size)]
    return out


def test_turns_start_at_each_user_message() -> None:
    msgs = [_msg("system", 3), _msg("user", 3), _msg("assistant", 3), _msg("assistant", 3)]
    msgs += [_msg("user", 3)]
    assert turns(msgs) == [(0, 1), (1, 4), (4, 5)]


def test_max_messages_keeps_the_newest_whole_turns() -> None:
    history = [_msg("user", 3), _msg("assistant", 3), _msg("assistant", 3)]  # a 3-message turn
    history += _conversation(2)
    kept, dropped, tokens = fit_history(history, max_messages=3)
    assert kept == history[-2:]  # 3 would split the older turn: it goes whole
    each = sum(estimate_message(m) for m in history[:5])
    assert dropped == 5 and each - 2 * 5 <= tokens <= each  # one estimate of the joined text
    assert fit_history(history, max_messages=7) == (history, 0, 0)


def test_max_tokens_and_both_budgets() -> None:
    history = _conversation(10, size=35)  # each message: 10 + 4 tokens
    per_turn = 2 * (10 + MESSAGE_OVERHEAD)
    kept, dropped, _ = fit_history(history, max_tokens=3 * per_turn + 1)
    assert kept == history[-6:] and dropped == 14
    kept, _, _ = fit_history(history, max_tokens=3 * per_turn, max_messages=4)
    assert kept == history[-4:]
    # a newest turn bigger than the budget: nothing fits, nothing is split
    assert fit_history(history, max_tokens=per_turn - 1)[0] == []


def test_estimate_is_upper_biased_on_the_shipped_prompts() -> None:
    """The real count of BPE tokenizers (cl100k/o200k and alike) is at least the number of
    pre-tokenizer pieces (letter runs, 1-3 digit groups, punctuation runs, newlines):
    each piece is one token or more; English prose runs ~4 bytes per token. The estimate
    must stay above both on every rendered test of the example prompts."""
    loaded = load_prompts(load_project(REPO / "promptctl.yaml"))
    pieces = re.compile(r"[^\W\d_]+|\d{1,3}|[^\w\s]+|\n+")
    checked = 0
    for prompt in loaded.prompts:
        for test in prompt.tests:
            plan = plan_call(prompt, test.vars, partials=loaded.partials, fit=False)
            for m in plan.request.messages:
                estimate = estimate_message(m)
                lower_bound = len(pieces.findall(m.content)) + 3
                prose = -(-len(m.content.encode()) // 4) + 3
                assert estimate >= max(lower_bound, prose), (prompt.id, test.name, m.content)
                checked += 1
    assert checked > 20


def test_estimate_counts_bytes_and_each_digit_and_punctuation_mark() -> None:
    assert estimate_tokens("abc" * 10) == 9  # ceil(30 * 2 / 7)
    assert estimate_tokens("1.2.0") == 5 and estimate_tokens("v 1.2") == 4  # 2 bytes + 3
    assert estimate_tokens("é") == 2  # a non-ASCII character, and its 2 bytes / 4
    assert estimate_tokens("日本語") == 6  # 3 characters + ceil(9 / 4)
    assert estimate_tokens("") == 0
    long = "word, " * 1000  # past the remembered size: the same answer
    assert estimate_tokens(long) == 1000 + 1429 and estimate_tokens(long) == 2429


def _prompt(use: str, fallbacks: tuple[Target, ...] = (), system: str = "Help.") -> Prompt:
    return Prompt(
        id="t/h",
        version="1.0.0",
        path=Path("t.yaml"),
        model=ModelConfig(use=use, params={"max_tokens": 1000}, fallbacks=fallbacks),
        messages=(
            MessageTemplate(role="system", template=system),
            MessageTemplate(role=None, history_var="history"),
            MessageTemplate(role="user", template="{{ q }}"),
        ),
        inputs={"q": {"type": "string"}, "history": {"type": "array", "default": []}},
    )


def _history(pairs: int, size: int) -> list[dict[str, str]]:
    out = []
    for i in range(pairs):
        out += [{"role": "user", "content": f"{i}" + "u" * size}]
        out += [{"role": "assistant", "content": f"{i}" + "a" * size}]
    return out


def test_window_trims_oldest_turns_until_it_fits() -> None:
    window = CONTEXT_WINDOWS["mistral/mistral-small-latest"]  # 32,000
    history = _history(100, 1200)  # ~60k tokens estimated
    plan = plan_call(_prompt("mistral/mistral-small-latest"), {"q": "hi", "history": history})
    sent = plan.request.messages
    total = sum(estimate_message(m) for m in sent)
    assert total <= window - 1000
    # the newest turns were kept, in order, whole; one more turn would not have fitted
    spliced = [{"role": m.role, "content": m.content} for m in sent[1:-1]]
    assert spliced == history[len(history) - len(spliced) :] and spliced[0]["role"] == "user"
    older = history[-len(spliced) - 2 : -len(spliced)]
    next_turn = sum(estimate_message(ChatMessage(h["role"], h["content"])) for h in older)  # type: ignore[arg-type]
    assert total + next_turn > window - 1000
    (trim,) = plan.trims
    assert (trim.target, trim.reason) == ("mistral/mistral-small-latest", "window")
    assert trim.messages_dropped == len(history) - len(spliced)


def test_too_small_even_without_history_fails_over_to_a_larger_window() -> None:
    big_system = "s" * 140_000  # 40k tokens: over 32k, under 128k
    prompt = _prompt(
        "mistral/mistral-small-latest",
        fallbacks=(Target(use="openai/gpt-4o-mini"),),
        system=big_system,
    )
    plan = plan_call(prompt, {"q": "hi", "history": _history(3, 30)})
    assert plan.request.target == "openai/gpt-4o-mini" and plan.fallbacks == ()
    assert [t for t, _ in plan.too_long] == ["mistral/mistral-small-latest"]
    assert plan.trims == ()  # the larger window took it whole
    assert len(plan.request.messages) == 8


def test_no_window_large_enough_is_context_length_before_sending() -> None:
    prompt = _prompt("openai/gpt-4o-mini", system="s" * 455_000)  # 130,000 tokens
    with pytest.raises(ProviderError) as info:
        plan_call(prompt, {"q": "hi"})
    assert info.value.kind == "context_length"
    assert "openai/gpt-4o-mini: about 130,0" in info.value.message


def test_unknown_window_is_sent_as_is_and_reserve_defaults() -> None:
    plan = plan_call(_prompt("openai/some-new-model"), {"q": "x", "history": _history(50, 900)})
    assert len(plan.request.messages) == 102 and plan.trims == ()
    assert OUTPUT_RESERVE == 1024


def test_tools_and_tool_turns_count_against_the_window() -> None:
    """Tool definitions ride along with every request, and tool turns of the history
    carry their calls' arguments: both take room the history has to give up."""
    import dataclasses
    import json

    from promptctl.promptfile.chat import ToolCall, ToolSpec

    window = CONTEXT_WINDOWS["mistral/mistral-small-latest"]
    base = _prompt("mistral/mistral-small-latest")
    history = _history(20, 900)
    plain = plan_call(base, {"q": "hi", "history": history}).request.messages
    room = window - 1000 - sum(estimate_message(m) for m in plain)
    assert len(plain) == 2 + len(history) and room > 0  # all of it fits without tools
    words = "d" * (room * 4)  # letters: fewer than 4 bytes a token, so more than the room
    big = {"type": "object", "properties": {"q": {"type": "string", "description": words}}}
    tooled = plan_call(
        dataclasses.replace(base, tools=(ToolSpec("search", "Search.", big),)),
        {"q": "hi", "history": history},
    ).request
    fixed = estimate_tokens(json.dumps([dataclasses.asdict(t) for t in tooled.tools]))
    assert fixed > room
    assert sum(estimate_message(m) for m in tooled.messages) <= window - 1000 - fixed
    assert len(tooled.messages) < len(plain)  # the tools cost history
    call = ToolCall("c1", "search", {"q": "z" * 3000})
    turn = ChatMessage("assistant", "", tool_calls=(call,))
    assert estimate_message(turn) >= estimate_tokens("z" * 3000)
