"""The token estimate against the real OpenAI tokenizers (o200k_base, cl100k_base).

tiktoken downloads its BPE files at first use, which a machine without the internet
cannot; the `bpe-openai` wheel ships the same two files. They are handed to tiktoken
through its own cache, and tiktoken checks them against the SHA-256 it expects for
OpenAI's published files, so these are the real vocabularies (both in the dev extra).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakes.servers import missing
from promptctl.plan.call import plan_call
from promptctl.promptfile.context_windows import estimate_tokens
from promptctl.promptfile.history import estimate_message, estimate_messages
from promptctl.promptfile.loader import load_prompts
from promptctl.promptfile.project import load_project

REPO = Path(__file__).resolve().parents[2]
_URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"


@pytest.fixture(scope="module")
def encodings() -> Iterator[dict[str, Any]]:
    try:
        import tiktoken
    except ImportError:
        missing("tiktoken", "pip install tiktoken bpe-openai (the dev extra)")
    spec = importlib.util.find_spec("bpe_openai")  # its files only: importing it warns
    if spec is None or spec.origin is None:
        missing("bpe-openai (the BPE files)", "pip install bpe-openai (the dev extra)")
    data = Path(spec.origin).parent / "data"
    saved = os.environ.get("TIKTOKEN_CACHE_DIR")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TIKTOKEN_CACHE_DIR"] = cache
        try:
            out = {}
            for name in ("o200k_base", "cl100k_base"):
                bpe = gzip.decompress((data / f"{name}.tiktoken.gz").read_bytes())
                key = hashlib.sha1(_URL.format(name).encode()).hexdigest()
                Path(cache, key).write_bytes(bpe)
                out[name] = tiktoken.get_encoding(name)  # checks the file's SHA-256
            yield out
        finally:
            if saved is None:
                os.environ.pop("TIKTOKEN_CACHE_DIR", None)
            else:
                os.environ["TIKTOKEN_CACHE_DIR"] = saved


def _real(encodings: dict[str, Any], text: str) -> int:
    return max(len(e.encode(text, disallowed_special=())) for e in encodings.values())


def test_the_vocabularies_are_the_real_ones(encodings: dict[str, Any]) -> None:
    # known encodings of OpenAI's tokenizers: a wrong file would give other ids
    assert encodings["o200k_base"].encode("Hello, world!") == [13225, 11, 2375, 0]
    assert encodings["cl100k_base"].encode("Hello, world!") == [9906, 11, 1917, 0]


def test_the_estimate_is_at_least_the_real_count_on_the_shipped_prompts(
    encodings: dict[str, Any],
) -> None:
    """Every rendered message of every example test, and each whole request as OpenAI
    counts a chat (3 tokens per message, 3 to prime the reply)."""
    loaded = load_prompts(load_project(REPO / "promptctl.yaml"))
    checked = 0
    for prompt in loaded.prompts:
        for test in prompt.tests:
            plan = plan_call(prompt, test.vars, partials=loaded.partials, fit=False)
            messages = plan.request.messages
            real = [_real(encodings, m.content) + 3 for m in messages]
            for m, count in zip(messages, real, strict=True):
                assert estimate_message(m) >= count, (prompt.id, test.name, m.content)
            assert estimate_messages(messages) >= sum(real) + 3
            checked += len(messages)
    assert checked > 20


def _corpus() -> list[tuple[str, str]]:
    """Real text of this repository: README, docs, the package's source and prompts."""
    files = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    files += sorted((REPO / "src" / "promptctl").rglob("*.py"))
    files += sorted((REPO / "prompts").rglob("*.yaml"))
    return [(str(f.relative_to(REPO)), f.read_text(encoding="utf-8")) for f in files]


def test_the_estimate_is_at_least_the_real_count_on_real_text(
    encodings: dict[str, Any],
) -> None:
    """Each paragraph (blank-line separated) and each whole file; the overall error
    documented in docs/runtime.md ("Context")."""
    paragraphs = estimated = real_total = 0
    worst = (10.0, "")
    for name, text in _corpus():
        for para in (p for p in re.split(r"\n\s*\n", text) if p.strip()):
            real, estimate = _real(encodings, para), estimate_tokens(para)
            assert estimate >= real, (name, para)
            worst = min(worst, (estimate / real, para))
            paragraphs += 1
            estimated += estimate
            real_total += real
        assert estimate_tokens(text) >= _real(encodings, text), name
    assert paragraphs > 2000
    # conservative, but not wildly: ~1.5x the real count overall (docs/runtime.md)
    assert 1.2 < estimated / real_total < 1.8, estimated / real_total
    assert worst[0] >= 1.0
