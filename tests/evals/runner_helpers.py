"""Prompts for the runner tests, built directly (no loader), talking to the fake server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptctl.promptfile.model import (
    AssertionSpec,
    MessageTemplate,
    ModelConfig,
    Prompt,
    Target,
    TestCase,
)


def a(type_: str, value: Any = None, **options: Any) -> AssertionSpec:
    return AssertionSpec(
        type=type_.removeprefix("not-"),
        value=value,
        negate=type_.startswith("not-"),
        threshold=options.pop("threshold", None),
        options=options,
    )


def tcase(name: str, q: str, *asserts: AssertionSpec, repeat: int | None = None) -> TestCase:
    return TestCase(name=name, vars={"q": q}, asserts=asserts, repeat=repeat)


def prompt(
    pid: str,
    *tests: TestCase,
    use: str = "openai/gpt-4o-mini",
    fallbacks: tuple[Target, ...] = (),
    params: dict[str, Any] | None = None,
) -> Prompt:
    return Prompt(
        id=pid,
        version="1.0.0",
        path=Path(f"prompts/{pid}.yaml"),
        model=ModelConfig(use=use, params=params or {"max_tokens": 50}, fallbacks=fallbacks),
        messages=(
            MessageTemplate("system", "You answer briefly."),
            MessageTemplate("user", "Question: {{ q }}"),
        ),
        inputs={"q": {"type": "string"}},
        tests=tests,
        content_hash=f"sha256:{pid}",
    )


def question(body: Any) -> str:
    """The `q` the fake server received (the last user message of an OpenAI body)."""
    text: str = body["messages"][-1]["content"]
    return text.removeprefix("Question: ")
