"""From a case to the requests the runner sends: the call plan of `promptctl.plan.call`.

The same `plan_call` as the runtime's, so a test sends what an application sends.

Repeats of one test on one target send the same request (only the cache key's repeat
index differs), so `RequestBuilder` renders each (prompt, target, test) once and reuses
it; prices are looked up once per target. A render or input problem is raised as the
PromptctlError it is and becomes that case's `error` (kind `render`) in the runner.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from promptctl.evals.budget import (
    DEFAULT_OUTPUT_TOKENS,
    estimate_chain_cost,
    estimate_cost,
    estimate_request_cost,
    input_token_bound,
    tool_steps_bound,
)
from promptctl.evals.cases import Case
from promptctl.evals.tool_steps import MAX_CALLS_PER_STEP, MAX_MODEL_CALLS, result_text
from promptctl.plan.call import plan_call
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.chat import ChatMessage, ResponseFormat
from promptctl.promptfile.history import Trim
from promptctl.promptfile.model import Project

if TYPE_CHECKING:
    from promptctl.providers.pricing import Price

__all__ = ["PreparedCase", "RequestBuilder", "judge_request"]


class PreparedCase:
    """The request for a case, its fallbacks, and the budget's bound of its cost (the
    most expensive target of the chain, plus its `llm-rubric` judge calls).

    The bound is computed when first read (`estimate_usd`): a run without `--max-cost`
    needs it only for an answer of unknown cost, and a cached answer costs nothing."""

    __slots__ = ("_bound", "_estimate", "fallbacks", "request", "trims")

    def __init__(
        self,
        request: ChatRequest,
        fallbacks: tuple[ChatRequest, ...],
        estimate_usd: float | Callable[[], float | None] | None,
        trims: tuple[Trim, ...] = (),  # history left out, per target (as the runtime's)
    ) -> None:
        self.request = request
        self.fallbacks = fallbacks
        self.trims = trims
        self._bound = estimate_usd if callable(estimate_usd) else None
        self._estimate = None if callable(estimate_usd) else estimate_usd

    @property
    def estimate_usd(self) -> float | None:
        bound = self._bound
        if bound is not None:
            self._estimate, self._bound = bound(), None
        return self._estimate


class RequestBuilder:
    """Builds (and memoises) the requests of cases for one project and partials table.

    The memo is a small LRU: repeats of a test are adjacent in case order, so a few
    hundred entries catch them all without holding every request of a big run in memory.
    """

    def __init__(
        self, project: Project, partials: Mapping[str, str], *, memo_size: int = 512
    ) -> None:
        self._project = project
        self._partials = partials
        self._memo_size = memo_size
        self._done: OrderedDict[tuple[int, str, str], PreparedCase] = OrderedDict()
        self._prices: dict[str, Price | None] = {}

    def prepare(self, case: Case) -> PreparedCase:
        key = (id(case.prompt), case.target.use, case.test.name)
        prepared = self._done.get(key)
        if prepared is None:
            prepared = self._build(case)
            self._done[key] = prepared
            if len(self._done) > self._memo_size:
                self._done.popitem(last=False)
        return prepared

    def clear(self) -> None:
        self._done.clear()

    def _build(self, case: Case) -> PreparedCase:
        plan = plan_call(case.prompt, case.test.vars, target=case.target, partials=self._partials)
        request, fallbacks = plan.request, plan.fallbacks
        return PreparedCase(
            request, fallbacks, lambda: self._bound(case, request, fallbacks), plan.trims
        )

    def _bound(
        self, case: Case, request: ChatRequest, fallbacks: tuple[ChatRequest, ...]
    ) -> float | None:
        chain = estimate_chain_cost(self._estimate(r) for r in (request, *fallbacks))
        if chain is not None and case.test.tool_results:
            chain = _tool_steps(case, request, fallbacks, self._estimate)
        judged = self._judge_estimate(case, request)
        return None if chain is None and judged is None else (chain or 0.0) + (judged or 0.0)

    def _estimate(self, request: ChatRequest) -> float | None:
        price = self._price(request.target)
        return None if price is None else estimate_request_cost(request, price.input, price.output)

    def _judge_estimate(self, case: Case, request: ChatRequest) -> float | None:
        """The `llm-rubric` calls' bound: the rubric page (<= 4096 tokens), the case's input
        and its output (<= 8 tokens per output token), 400 tokens of verdict each."""
        total: float | None = None
        output_bound = request.max_tokens or DEFAULT_OUTPUT_TOKENS
        for spec in case.test.asserts:
            if spec.type != "llm-rubric":
                continue
            price = self._price(str(spec.options.get("model") or self._project.judge))
            if price is None:
                continue
            tokens = 4096 + input_token_bound(request) + 8 * output_bound
            max_tokens = int(JUDGE_PARAMS["max_tokens"])
            total = (total or 0.0) + (
                estimate_cost(tokens, max_tokens, price.input, price.output) or 0.0
            )
        return total

    def _price(self, target: str) -> Price | None:
        if target not in self._prices:
            from promptctl.providers.pricing import price_for  # for a bound only: lazily

            self._prices[target] = price_for(target, self._project)
        return self._prices[target]


JUDGE_PARAMS: Mapping[str, Any] = {"temperature": 0, "max_tokens": 400}


def judge_request(
    model: str, messages: Sequence[ChatMessage], response_format: ResponseFormat
) -> ChatRequest:
    """The judge's call: the rubric prompt's params (temperature 0, 400 tokens)."""
    provider, _, name = model.partition("/")
    return ChatRequest(
        provider=provider,
        model=name,
        messages=tuple(messages),
        temperature=float(JUDGE_PARAMS["temperature"]),
        max_tokens=int(JUDGE_PARAMS["max_tokens"]),
        response_format=response_format,
    )


def _tool_steps(
    case: Case,
    request: ChatRequest,
    fallbacks: tuple[ChatRequest, ...],
    estimate: Callable[[ChatRequest], float | None],
) -> float | None:
    """The bound of a multi-step tool case: `MAX_MODEL_CALLS` calls, each as large as the
    last can be (every step answered with `MAX_CALLS_PER_STEP` of the largest result)."""
    largest = max(len(result_text(v).encode("utf-8")) for v in case.test.tool_results.values())
    results = MAX_CALLS_PER_STEP * largest
    per_call = estimate_chain_cost(
        estimate(tool_steps_bound(r, MAX_MODEL_CALLS, results)) for r in (request, *fallbacks)
    )
    return None if per_call is None else per_call * MAX_MODEL_CALLS
