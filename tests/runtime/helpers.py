"""Build bundle files for runtime tests (prompts built directly, providers on the fake)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from promptctl.bundle.format import build_bundle, serialize
from promptctl.bundle.signing import sign
from promptctl.promptfile.hashing import content_hash
from promptctl.promptfile.model import (
    MessageTemplate,
    ModelConfig,
    OutputSpec,
    Prompt,
    ProviderSettings,
    Route,
    Target,
)


def prompt(
    prompt_id: str = "support/triage",
    version: str = "1.0.0",
    *,
    template: str = "Ticket: {{ ticket }}",
    use: str = "openai/gpt-4o-mini",
    fallbacks: Sequence[Target] = (),
    routes: Sequence[Route] = (),
    inputs: Mapping[str, Mapping[str, Any]] | None = None,
    output: OutputSpec | None = None,
    tags: tuple[str, ...] = ("support",),
) -> Prompt:
    built = Prompt(
        id=prompt_id,
        version=version,
        path=Path("prompts") / f"{prompt_id}.yaml",
        model=ModelConfig(
            use=use, params={"temperature": 0}, fallbacks=tuple(fallbacks), routes=tuple(routes)
        ),
        messages=(
            MessageTemplate(role="system", template="Be brief."),
            MessageTemplate(role="user", template=template),
        ),
        status="approved",
        tags=tags,
        inputs={k: dict(v) for k, v in (inputs or {"ticket": {"type": "string"}}).items()},
        output=output or OutputSpec(),
    )
    # the real hash: the runtime re-checks each prompt's content against it at load
    return dataclasses.replace(built, content_hash=content_hash(built))


def write_bundle(
    path: Path,
    prompts: Sequence[Prompt],
    providers: Mapping[str, ProviderSettings],
    *,
    private_key: bytes | None = None,
    sequence: int = 0,
) -> bytes:
    doc = build_bundle(
        prompts,
        providers=providers,
        eval_summaries={},
        git_commit=None,
        created_from="test",
        sequence=sequence,
    )
    if private_key is not None:
        doc = sign(doc, private_key)
    data = serialize(doc)
    path.write_bytes(data)
    return data
