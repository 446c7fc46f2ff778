"""Fitting a conversation's history into a budget and a request into a model's window.

Two steps, both oldest-first and by whole turns (a `user` message and the `assistant`
and `system` messages after it, up to the next `user` message; an assistant's tool calls
and the `tool` results answering them belong to the turn too, so a turn is the unit that
keeps a question with its answer and a call with its result):

1. a `history` entry's own budget (`max_tokens` / `max_messages`), at render time;
2. the target's context window minus its output reserve, in `plan_call`.

Token counts are *estimates*, biased upwards (docs/prompt-format.md, "History"):
`ceil(utf8_bytes / 3)` per message plus `MESSAGE_OVERHEAD`. BPE tokenizers (OpenAI's
cl100k/o200k, Anthropic's, Gemini's) average about 4 bytes per token on English prose
and about 3 on code and numbers, so the estimate is ~30% high on prose; it can be low
only for text below 3 bytes per token (e.g. long runs of rare symbols).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from promptctl.promptfile.chat import ChatMessage
from promptctl.promptfile.context_windows import estimate_tokens

__all__ = [
    "MESSAGE_OVERHEAD",
    "OUTPUT_RESERVE",
    "Spliced",
    "Trim",
    "estimate_message",
    "estimate_messages",
    "fit_history",
    "turns",
]

# Role and delimiters per message in the chat formats (OpenAI counts 3), plus one.
MESSAGE_OVERHEAD = 4
# Output tokens kept free when a request sets no `max_tokens`.
OUTPUT_RESERVE = 1024


@dataclass(frozen=True)
class Trim:
    """History left out of one request: by its budget (`budget`) or to fit `target`'s
    window (`window`); `tokens_dropped` is estimated."""

    target: str
    reason: str
    messages_dropped: int
    tokens_dropped: int


@dataclass
class Spliced:
    """What rendering did with `history` entries: where each landed in the messages
    (`spans`, end exclusive) and what their budgets left out."""

    spans: list[tuple[int, int]] = field(default_factory=list)
    messages_dropped: int = 0
    tokens_dropped: int = 0


def estimate_message(message: ChatMessage) -> int:
    """Its text, plus an assistant's tool calls (sent as JSON) and a result's call id."""
    tokens = estimate_tokens(message.content) + MESSAGE_OVERHEAD
    if message.tool_calls:
        tokens += estimate_tokens(json.dumps([c.to_dict() for c in message.tool_calls]))
    if message.tool_call_id:
        tokens += estimate_tokens(message.tool_call_id)
    return tokens


def estimate_messages(messages: Sequence[ChatMessage]) -> int:
    return sum(estimate_message(m) for m in messages)


def turns(messages: Sequence[ChatMessage]) -> list[tuple[int, int]]:
    """`(start, end)` of each turn: a new turn starts at every `user` message."""
    bounds = [i for i, m in enumerate(messages) if m.role == "user" and i > 0]
    starts = [0, *bounds]
    ends = [*bounds, len(messages)]
    return [(s, e) for s, e in zip(starts, ends, strict=True) if e > s]


def fit_history(
    messages: Sequence[ChatMessage],
    *,
    max_tokens: int | None = None,
    max_messages: int | None = None,
) -> tuple[list[ChatMessage], int, int]:
    """The newest whole turns within both budgets; `(kept, messages_dropped, tokens_dropped)`."""
    if max_tokens is None and max_messages is None:
        return list(messages), 0, 0
    # newest first, a turn at a time (a turn starts at each `user` message, as `turns`
    # says); only the kept turns and the first left out are estimated one by one
    keep_from = len(messages)
    tokens = count = turn_tokens = 0
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        turn_tokens += estimate_tokens(message.content) + MESSAGE_OVERHEAD
        if i and message.role != "user":
            continue
        c = count + keep_from - i
        t = tokens + turn_tokens
        if (max_messages is not None and c > max_messages) or (
            max_tokens is not None and t > max_tokens
        ):
            break
        keep_from, tokens, count, turn_tokens = i, t, c, 0
    if not keep_from:
        return list(messages), 0, 0
    # what was left out, in one pass over its joined text: a long conversation's old turns
    # cost one estimate, not one per message (within 2 tokens a message of their sum, never
    # above it: only the per-message rounding up is shared)
    dropped = estimate_tokens("".join(m.content for m in messages[:keep_from]))
    return list(messages[keep_from:]), keep_from, dropped + MESSAGE_OVERHEAD * keep_from
