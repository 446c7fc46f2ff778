"""Running one case: prepare, reserve budget (unless answered from cache), call, score, settle.

Split from the session's worker pool: a case never raises. Whatever goes wrong in it
(render, provider, judge, a bug) becomes that case's `error` row, so the pool above only
schedules and never has to know how a case can fail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from promptctl.errors import PromptctlError, ProviderError
from promptctl.evals.cases import Case
from promptctl.evals.prepare import PreparedCase, RequestBuilder, judge_request
from promptctl.evals.results import CaseError, CaseResult
from promptctl.evals.scoring import error_result, score_case, skipped_result
from promptctl.evals.tool_steps import complete_with_tools
from promptctl.plan.request import ChatRequest, wants_stream
from promptctl.promptfile.chat import ChatMessage, ResponseFormat
from promptctl.promptfile.model import Project
from promptctl.providers.types import CallContext, ChatResponse

if TYPE_CHECKING:
    from promptctl.evals.budget import Budget
    from promptctl.evals.judge import Judge
    from promptctl.providers.gateway import Gateway

__all__ = ["CaseRunner"]

# Errors raised before any request left: every key of the chain unset, an unknown
# provider, no recording in replay. They cost nothing; any other error may have been
# billed (sent, then timed out or cut) and counts its estimate, as an unknown cost does.
_NOTHING_SENT = frozenset({"config", "replay_missing"})


class CaseRunner:
    """Runs cases of one evaluation through one Gateway under one budget."""

    def __init__(
        self,
        project: Project,
        builder: RequestBuilder,
        budget: Budget,
        gateway: Gateway,
        *,
        stream: bool = False,
    ) -> None:
        self.project = project
        self.builder = builder
        self.budget = budget
        self.gateway = gateway
        self.stream = stream  # every case; else those whose params say `stream: true`

    async def run(self, case: Case, judge: Judge) -> CaseResult:
        """The case's result row (`error` or `skipped` rather than an exception)."""
        try:
            prepared = self.builder.prepare(case)
            # (the key encodes the whole request: a value JSON has not, an output schema
            # holding `!!binary`, fails here, before any call)
            request_hash = prepared.request.cache_key(repeat=case.repeat)
        except ProviderError as exc:  # context_length: no target's window takes it
            return _case_error(case, exc.kind, exc)
        except PromptctlError as exc:
            return _case_error(case, "render", exc)
        except Exception as exc:  # one broken case must not stop the run (nor its rendering)
            return error_result(case, exc)
        # an answer from recordings or the cache costs nothing: hold budget only for calls
        # (without --max-cost nothing is held: an answer of unknown cost counts its bound)
        limited = self.budget.max_cost_usd is not None
        reserved = None
        if limited and not self._free(case, prepared):
            reserved = prepared.estimate_usd
            if reserved is not None and not await self.budget.reserve(reserved):
                return skipped_result(case)
        actual: float | None = None
        try:
            response = await self._complete(case, prepared)
            actual = response.cost_usd if not response.cached else 0.0
            result = await score_case(
                case,
                response,
                project_root=self.project.root,
                judge=judge,
                request_hash=request_hash,
            )
            if result.cost_usd is not None and not response.cached:
                actual = result.cost_usd
            trimmed = tuple(t for t in prepared.trims if t.target == response.target)
            if trimmed:
                result = dataclasses.replace(result, context_trimmed=trimmed)
        except ProviderError as exc:
            if exc.kind in _NOTHING_SENT:
                actual = 0.0
            return _case_error(case, exc.kind, exc, request_hash)
        except PromptctlError as exc:
            return _case_error(case, "render", exc, request_hash)
        except Exception as exc:  # one broken case must not stop the run
            return error_result(case, exc, request_hash=request_hash)
        finally:
            if not limited and actual is None:
                actual = prepared.estimate_usd
            self.budget.settle(reserved, actual)
        return result

    async def judge_complete(
        self, messages: list[ChatMessage], response_format: ResponseFormat, model: str | None
    ) -> ChatResponse:
        """The `PromptJudge` completion: the project's judge model through the Gateway."""
        request = judge_request(model or self.project.judge, messages, response_format)
        context = CallContext(source="judge", prompt_id="promptctl/judge")
        try:
            return await self.gateway.complete(request, context=context)
        except ProviderError as exc:  # the case errors: say it was the judge, not the model
            target = f"{exc.provider}/{exc.model}: " if exc.provider and exc.model else ""
            raw = exc.message.removeprefix(target).removeprefix(f"{exc.kind}: ")
            raise ProviderError(
                exc.kind,
                f"the judge's call (llm-rubric) failed: {raw}",
                provider=exc.provider,
                model=exc.model,
                status=exc.status,
                retry_after_s=exc.retry_after_s,
                hint=exc.hint,
            ) from None

    def _free(self, case: Case, prepared: PreparedCase) -> bool:
        """Whether the case's answer comes without a provider call (replay never calls)."""
        if self.gateway.mode == "replay":
            return True
        if case.test.tool_results:  # a cached first step says nothing of the later ones
            return False
        return self.gateway.has_answer(prepared.request, repeat=case.repeat)

    async def _complete(self, case: Case, prepared: PreparedCase) -> ChatResponse:
        prompt = case.prompt
        context = CallContext(
            source="eval",
            prompt_id=prompt.id,
            prompt_version=prompt.version,
            prompt_hash=prompt.content_hash,
            test=case.test.name,
            tags=prompt.tags,
            context_trimmed=prepared.trims,
        )
        streamed = self.stream or wants_stream({**prompt.model.params, **case.target.params})
        if not streamed and not case.test.tool_results:  # one call: no steps to drive
            return await self.gateway.complete(
                prepared.request, fallbacks=prepared.fallbacks, repeat=case.repeat, context=context
            )

        async def complete(request: ChatRequest, fallbacks: Sequence[ChatRequest]) -> ChatResponse:
            if streamed:  # the same request, streamed: what an application's `stream()` sees
                items = self.gateway.stream(
                    request, fallbacks=fallbacks, repeat=case.repeat, context=context
                )
                async for item in items:
                    if isinstance(item, ChatResponse):
                        return item
                raise AssertionError("a stream ended without its response")  # a bug
            return await self.gateway.complete(
                request, fallbacks=fallbacks, repeat=case.repeat, context=context
            )

        return await complete_with_tools(
            complete, prepared.request, prepared.fallbacks, case.test.tool_results
        )


def _case_error(
    case: Case, kind: str, exc: PromptctlError, request_hash: str | None = None
) -> CaseResult:
    """An `error` row; the message (with the hint) drops the `kind: ` the report prints."""
    message = str(exc)
    if isinstance(exc, ProviderError):
        message = message.replace(f"{exc.kind}: ", "", 1)
    error = CaseError(kind, message)
    return CaseResult.for_case(case, status="error", request_hash=request_hash, error=error)
