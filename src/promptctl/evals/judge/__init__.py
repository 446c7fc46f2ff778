"""The judge behind `llm-rubric`: a protocol, a verdict parser, and a prompt-file judge.

The judge's own prompt is `rubric.yaml` next to this module, a normal promptctl prompt file
(`id: promptctl/judge`), so users can read, lint and test it like their own prompts.
`PromptJudge` takes the completion function as a callable, so the evals layer stays free of
the provider layer: the runner passes one that goes through the gateway (cache, retries,
ledger), which is how judge calls get cached and costed like any other call.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, Protocol

from promptctl.promptfile.chat import ChatMessage, ResponseFormat
from promptctl.providers.types import ChatResponse

__all__ = [
    "JUDGE_PROMPT_ID",
    "Judge",
    "JudgeComplete",
    "JudgeError",
    "JudgeRender",
    "JudgeVerdict",
    "PromptJudge",
    "judge_prompt_text",
    "parse_verdict",
]

JUDGE_PROMPT_ID = "promptctl/judge"
_ROLES: dict[str, Literal["system", "user", "assistant"]] = {
    "system": "system",
    "user": "user",
    "assistant": "assistant",
}


@dataclass(frozen=True)
class JudgeVerdict:
    passed: bool
    score: float
    reason: str
    cost_usd: float | None = None


class JudgeError(Exception):
    """The judge answered but its reply is unusable; the call's cost is still known."""

    def __init__(self, message: str, cost_usd: float | None = None) -> None:
        super().__init__(message)
        self.cost_usd = cost_usd


class Judge(Protocol):
    """Anything that can grade an output against a rubric.

    `model` is a per-assertion override (`{type: llm-rubric, model: provider/model}`);
    None means the project's configured judge. Raises JudgeError for an unusable reply;
    a provider failure propagates as ProviderError (the case is then an error, not a fail).
    """

    async def grade(
        self, rubric: str, output: str, vars: Mapping[str, Any], *, model: str | None = None
    ) -> JudgeVerdict: ...


JudgeComplete = Callable[[list[ChatMessage], ResponseFormat, str | None], Awaitable[ChatResponse]]
JudgeRender = Callable[[Mapping[str, Any]], list[ChatMessage]]


def judge_prompt_text() -> str:
    """The shipped judge prompt file (YAML text)."""
    return resources.files(__package__).joinpath("rubric.yaml").read_text(encoding="utf-8")


@functools.cache
def _load_template() -> tuple[tuple[tuple[str, str], ...], Mapping[str, Any] | None]:
    """(role, template) pairs and the verdict schema, parsed once per process."""
    import yaml

    data = yaml.safe_load(judge_prompt_text())
    messages = tuple(
        (role, str(text)) for entry in data["messages"] for role, text in entry.items()
    )
    return messages, data.get("output", {}).get("schema")


class PromptJudge:
    """A judge that renders `rubric.yaml` and asks a model through `complete`.

    `complete(messages, response_format, model)` performs the call (model None = the
    configured judge). `render(vars)` may replace the built-in minimal renderer, e.g. with
    promptctl's full renderer on the loaded judge prompt; the built-in one renders the
    shipped templates in promptctl's one sandboxed Jinja2 environment (strict undefined).
    """

    def __init__(self, complete: JudgeComplete, *, render: JudgeRender | None = None) -> None:
        self._complete = complete
        self._render = render
        templates, schema = _load_template()
        self._templates = templates
        self.response_format = ResponseFormat(type="json_schema", schema=schema, name="verdict")

    def render(self, vars: Mapping[str, Any]) -> list[ChatMessage]:
        if self._render is not None:
            return self._render(vars)
        from promptctl.render import render_template

        out: list[ChatMessage] = []
        for role, text in self._templates:
            if role in _ROLES:
                content = render_template(text, vars)
                out.append(ChatMessage(role=_ROLES[role], content=content))
        return out

    async def grade(
        self, rubric: str, output: str, vars: Mapping[str, Any], *, model: str | None = None
    ) -> JudgeVerdict:
        messages = self.render({"rubric": rubric, "output": output})
        response = await self._complete(messages, self.response_format, model)
        return parse_verdict(response.text, cost_usd=response.cost_usd)


_FENCE = re.compile(r"^```(?:json|JSON)?[ \t]*\n(.*?)\n?```$", re.DOTALL)
_FIELDS = {"pass": "a boolean", "score": "a number from 0 to 1", "reason": "a string"}


def _top_level_objects(text: str) -> list[Any]:
    """JSON objects at the top level of `text`, in order (nested ones are not counted)."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    i = text.find("{")
    while i != -1:
        try:
            value, end = decoder.raw_decode(text, i)
        except ValueError:
            i = text.find("{", i + 1)
            continue
        found.append(value)
        i = text.find("{", end)
    return found


def _fail(why: str, text: str, cost_usd: float | None) -> JudgeError:
    snippet = text.strip().replace("\n", " ")
    snippet = snippet if len(snippet) <= 120 else snippet[:119] + "…"
    return JudgeError(
        f"the judge's reply is not a JSON verdict {{pass, score, reason}} ({why}): {snippet!r}",
        cost_usd,
    )


def parse_verdict(text: str, *, cost_usd: float | None = None) -> JudgeVerdict:
    """Parse a judge reply strictly; JudgeError unless it holds exactly one verdict.

    The reply must contain one top-level JSON object (prose or a code fence around it is
    tolerated), with `pass` a boolean, `score` a number in [0, 1] and `reason` a string.
    Several objects are refused rather than guessed between: a judge that echoes an
    object from the graded output (`{"pass": true}`) must not decide the verdict.
    """
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    body = fenced.group(1) if fenced else stripped
    try:
        objects = _top_level_objects(body)
    except RecursionError:  # a reply nested past the stack: no verdict is read out of it
        raise _fail("nested too deeply", text, cost_usd) from None
    if not objects:
        raise _fail("no JSON object", text, cost_usd)
    if len(objects) > 1:
        raise _fail(f"{len(objects)} JSON objects, expected exactly one", text, cost_usd)
    value = objects[0]
    passed, score, reason = value.get("pass"), value.get("score"), value.get("reason")
    bad = [
        name
        for name, ok in (
            ("pass", isinstance(passed, bool)),
            ("score", _is_unit(score)),
            ("reason", isinstance(reason, str)),
        )
        if not ok
    ]
    if bad:
        wanted = ", ".join(f"`{name}` must be {_FIELDS[name]}" for name in bad)
        raise _fail(wanted, text, cost_usd)
    return JudgeVerdict(bool(passed), float(score), str(reason), cost_usd)


def _is_unit(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
