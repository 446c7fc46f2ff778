"""The judge behind `llm-rubric`: a protocol, a verdict parser, and a prompt-file judge.

The judge's own prompt is `rubric.yaml` next to this module, a normal promptctl prompt file
(`id: promptctl/judge`), so users can read, lint and test it like their own prompts.
`PromptJudge` takes the completion function as a callable, so the evals layer stays free of
the provider layer: the runner passes one that goes through the gateway (cache, retries,
ledger), which is how judge calls get cached and costed like any other call.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
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


_FENCED = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def _candidates(text: str) -> Sequence[Any]:
    """JSON objects found in `text`: the whole text, fenced blocks, then any `{...}` span."""
    found: list[Any] = []
    stripped = text.strip()
    with contextlib.suppress(ValueError):
        found.append(json.loads(stripped))
    for block in _FENCED.findall(text):
        with contextlib.suppress(ValueError):
            found.append(json.loads(block.strip()))
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        found.append(value)
    return found


def parse_verdict(text: str, *, cost_usd: float | None = None) -> JudgeVerdict:
    """Parse a judge reply, tolerating code fences and prose around the JSON object.

    The first object with a boolean `pass` or a numeric `score` in [0, 1] wins. A missing
    score is 1/0 from `pass`; a missing `pass` is score >= 0.5. Raises JudgeError otherwise.
    """
    for value in _candidates(text):
        if not isinstance(value, dict):
            continue
        passed, raw_score = value.get("pass"), value.get("score")
        score: float | None = None
        if isinstance(raw_score, int | float) and not isinstance(raw_score, bool):
            if not 0 <= raw_score <= 1:
                continue
            score = float(raw_score)
        if isinstance(passed, bool) or score is not None:
            score_f = score if score is not None else (1.0 if passed else 0.0)
            final = passed if isinstance(passed, bool) else score_f >= 0.5
            return JudgeVerdict(final, score_f, str(value.get("reason", "")), cost_usd)
    snippet = text.strip().replace("\n", " ")
    snippet = snippet if len(snippet) <= 120 else snippet[:119] + "…"
    raise JudgeError(
        f"the judge's reply is not a JSON verdict {{pass, score, reason}}: {snippet!r}",
        cost_usd,
    )
