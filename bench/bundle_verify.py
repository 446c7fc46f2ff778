"""Build, sign, serialize and verify a bundle of 1,000 prompts; print the timings."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from promptctl.bundle.format import build_bundle, bundle_prompt_to_prompt, serialize
from promptctl.bundle.signing import generate_keypair, sign, verify_bundle
from promptctl.promptfile.hashing import content_hash
from promptctl.promptfile.model import DEFAULT_PROVIDERS, MessageTemplate, ModelConfig, Prompt

N = 1000


def _prompts() -> list[Prompt]:
    built = [
        Prompt(
            id=f"team{i % 20}/prompt{i}",
            version="1.0.0",
            path=Path(f"prompts/team{i % 20}/prompt{i}.yaml"),
            model=ModelConfig(use="openai/gpt-4o-mini", params={"temperature": 0}),
            messages=(
                MessageTemplate(role="system", template="You are helpful. " * 20),
                MessageTemplate(role="user", template="Question {{ q }}"),
            ),
            inputs={"q": {"type": "string"}},
        )
        for i in range(N)
    ]
    # real hashes: verification recomputes every prompt's content hash
    return [dataclasses.replace(p, content_hash=content_hash(p)) for p in built]


def _ms(start: float) -> str:
    return f"{(time.perf_counter() - start) * 1000:.1f} ms"


def main() -> None:
    prompts = _prompts()
    with tempfile.TemporaryDirectory() as tmp:
        private, public = generate_keypair(Path(tmp))
        t = time.perf_counter()
        doc = build_bundle(
            prompts,
            providers=DEFAULT_PROVIDERS,
            eval_summaries={},
            git_commit=None,
            created_from="bench",
        )
        print(f"build {N} prompts: {_ms(t)}")
        t = time.perf_counter()
        data = serialize(sign(doc, private.read_bytes()))
        print(f"sign + serialize: {_ms(t)} ({len(data) / 1e6:.2f} MB)")
        t = time.perf_counter()
        verified = verify_bundle(data, public_key=public)
        print(f"verify (strict parse, digest, content hashes, signature): {_ms(t)}")
        t = time.perf_counter()
        rebuilt = [bundle_prompt_to_prompt(e) for e in verified.doc["prompts"]]
        print(f"entries -> Prompt dataclasses: {_ms(t)} ({len(rebuilt)} prompts)")


if __name__ == "__main__":
    main()
