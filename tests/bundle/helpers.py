"""Prompt objects built directly (the loader lives on another branch)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

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
    digest = hashlib.sha256(f"{prompt_id}|{version}|{template}".encode()).hexdigest()
    base = root if root is not None else Path("/repo")
    return Prompt(
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
        content_hash=f"sha256:{digest}",
    )


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


def publish_worker(release_dir: str, prompt_id: str, template: str, start: Any, out: Any) -> None:
    """Runs in a child process: build one bundle and publish it (see test_release)."""
    from promptctl.bundle.format import build_bundle, serialize
    from promptctl.bundle.release import ReleaseDir
    from promptctl.errors import PublishError
    from promptctl.promptfile.model import DEFAULT_PROVIDERS

    doc = build_bundle(
        [make_prompt(prompt_id, "1.0.0", template=template)],
        providers=DEFAULT_PROVIDERS,
        eval_summaries={},
        git_commit=None,
        created_from="race",
    )
    start.wait(5)
    try:
        result = ReleaseDir(Path(release_dir)).publish(doc, serialize(doc))
        out.put(("ok", prompt_id, template, result.path.name))
    except PublishError as exc:
        out.put(("refused", prompt_id, template, str(exc)))
