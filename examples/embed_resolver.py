"""Retrieval for a prompt's context: embeddings inside a context resolver.

The application keeps a few help-centre articles, embeds them once at start-up with
`Runtime.embed`, and registers a resolver for the prompt's `context` input that embeds
the question and returns the closest articles. The prompt never knows where its context
comes from, and neither the index nor the resolver names a vendor SDK: the embedding
model is one `provider/model` string, called with the runtime's retries, breaker,
limits and ledger (every embedding request is a ledger row with its cost).

Two rules worth copying:
- Query vectors must come from the model that built the index: `Index` pins the model
  that actually answered (`result.model`) and its dimension. A fallback is only taken to
  a model of the same dimension (`dimensions=` says it), and only when that model's
  vectors are comparable to the index's (e.g. the same model on another provider).
- An outage of the embeddings API should not fail the answer: the resolver has a
  `fallback` (no context), and `result.context_degraded` says when it was used.

Run (the bundle holds the prompt `support/answer`, inputs `question` and `context`: copy
examples/answer.yaml to prompts/support/answer.yaml, `promptctl test` it, `promptctl publish`):
    OPENAI_API_KEY=... python examples/embed_resolver.py releases/ "How long do refunds take?"
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

from promptctl.runtime import RunResult, Runtime

EMBED_MODEL = "openai/text-embedding-3-small"
ARTICLES = (
    "Refunds are paid back to the original card within five business days.",
    "Orders ship worldwide; delivery takes two to seven days depending on the country.",
    "To reset your password, use the 'Forgot password' link on the sign-in page.",
    "Invoices can be downloaded as PDF from the Billing page of your account.",
    "Our support team answers chat messages from 8:00 to 20:00 CET on weekdays.",
)


class Index:
    """A tiny in-memory vector index: texts and their unit-length vectors."""

    def __init__(
        self,
        rt: Runtime,
        texts: Sequence[str],
        *,
        model: str = EMBED_MODEL,
        fallbacks: Sequence[str] = (),
        dimensions: int | None = 256,
    ) -> None:
        built = rt.embed(texts, model=model, fallbacks=fallbacks, dimensions=dimensions)
        self.texts = list(texts)
        self.vectors = [_unit(v) for v in built.vectors]
        self.model = built.model  # the model that answered: queries must use it too
        self.dimensions = built.dimensions
        self.cost_usd = built.cost_usd

    def search(self, rt: Runtime, query: str, k: int = 2) -> list[str]:
        """The `k` texts closest to `query` by cosine similarity."""
        answer = rt.embed([query], model=self.model, dimensions=self.dimensions)
        q = _unit(answer.vectors[0])
        scores = [sum(a * b for a, b in zip(q, v, strict=True)) for v in self.vectors]
        best = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
        return [self.texts[i] for i in best]


def attach(rt: Runtime, index: Index, *, k: int = 2) -> None:
    """Fill the prompt's `context` input from the index, within 5 s, else with none."""

    def context(inputs: Any) -> str:
        return "\n".join(f"- {text}" for text in index.search(rt, inputs["question"], k))

    rt.resolver("context", context, reads=("question",), timeout_s=5.0, fallback="")


def answer(rt: Runtime, question: str) -> RunResult:
    return rt.run("support/answer", question=question)


def _unit(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def main(argv: Sequence[str]) -> int:
    if len(argv) != 3:
        print("usage: embed_resolver.py BUNDLE_OR_RELEASE_DIR QUESTION", file=sys.stderr)
        return 2
    with Runtime.load(argv[1]) as rt:
        index = Index(rt, ARTICLES)
        attach(rt, index)
        result = answer(rt, argv[2])
    print(result.text)
    cost = (index.cost_usd or 0.0) + (result.cost_usd or 0.0)
    print(f"[{result.model}; index built with {index.model}; ${cost:.6f} in all]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
