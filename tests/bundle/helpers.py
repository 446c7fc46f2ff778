"""Prompt objects built directly (the loader lives on another branch)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from promptctl.promptfile.hashing import content_hash
from promptctl.promptfile.model import (
    MessageTemplate,
    ModelConfig,
    OutputSpec,
    Prompt,
    Route,
    Target,
)


def make_prompt(
    prompt_id: str = "support/triage",
    version: str = "1.3.0",
    *,
    template: str = "Ticket: {{ ticket }}",
    status: str = "approved",
    owner: str | None = "support-team",
    root: Path | None = None,
) -> Prompt:
    model = ModelConfig(
        use="openai/gpt-4o-mini",
        params={"temperature": 0},
        fallbacks=(Target(use="anthropic/claude-3-5-haiku-latest", params={"max_tokens": 300}),),
        routes=(Route(when="customer_tier == 'enterprise'", use="openai/gpt-4o"),),
    )
    messages = (
        MessageTemplate(role="system", template="Be brief. Classify."),
        MessageTemplate(role=None, history_var="history"),
        MessageTemplate(role="user", template=template),
    )
    base = root if root is not None else Path("/repo")
    built = Prompt(
        id=prompt_id,
        version=version,
        path=base / "prompts" / f"{prompt_id}.yaml",
        model=model,
        messages=messages,
        description="Classify an inbound support ticket.",
        status=status,  # type: ignore[arg-type]
        owner=owner,
        tags=("support", "classification"),
        inputs={"ticket": {"type": "string"}, "history": {"type": "array", "default": []}},
        output=OutputSpec(format="json", schema={"type": "object", "required": ["category"]}),
    )
    # the real hash: verification recomputes it from the content
    return dataclasses.replace(built, content_hash=content_hash(built))


def summary_row(prompt: Prompt, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "prompt": prompt.id,
        "version": prompt.version,
        "content_hash": prompt.content_hash,
        "target": "openai/gpt-4o-mini",
        "cases": 3,
        "passed": 3,
        "failed": 0,
        "errors": 0,
        "skipped": 0,
        "pass_rate": 1.0,
        "pass_rate_ci95": [0.4, 1.0],
        "mean_score": 1.0,
        "input_tokens": 120,
        "output_tokens": 30,
        "cost_usd": 0.00012,
        "latency_p50_ms": 410.0,
        "latency_p95_ms": 800.0,
    }
    row.update(overrides)
    return row


def composer(doc_for: Any, carry: bool = False) -> Any:
    """A `ReleaseDir.publish` compose callback: `doc_for(sequence, carried)` on the head.

    With `carry`, the head's other prompts are carried over, as the publish flow does.
    """
    from promptctl.bundle.format import serialize

    def compose(head: Any) -> tuple[dict[str, Any], bytes]:
        carried = list(head.bundle.doc["prompts"]) if carry and head is not None else []
        doc = doc_for(head.next_sequence if head is not None else 1, carried)
        return doc, serialize(doc)

    return compose


def publish_worker(release_dir: str, prompt_id: str, template: str, start: Any, out: Any) -> None:
    """Runs in a child process: publish one prompt on top of the newest release."""
    from promptctl.bundle.format import build_bundle
    from promptctl.bundle.release import ReleaseDir
    from promptctl.errors import PublishError
    from promptctl.promptfile.model import DEFAULT_PROVIDERS

    def doc_for(sequence: int, carried: list[Any]) -> dict[str, Any]:
        return build_bundle(
            [make_prompt(prompt_id, "1.0.0", template=template)],
            providers=DEFAULT_PROVIDERS,
            eval_summaries={},
            git_commit=None,
            created_from="race",
            sequence=sequence,
            carried=[e for e in carried if e["id"] != prompt_id],
        )

    start.wait(5)
    try:
        result = ReleaseDir(Path(release_dir)).publish(composer(doc_for, carry=True))
        out.put(("ok", prompt_id, template, result.path.name))
    except PublishError as exc:
        out.put(("refused", prompt_id, template, str(exc)))
