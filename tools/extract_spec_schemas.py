"""Vendor the provider request schemas the conformance tests need into tests/providers/specs/.

Also the schemas of streamed events (`*_stream`), which the fake server's SSE must match.

Why: the full OpenAPI specs (3.5 MB, in `<checkout>/../shared/specs`) are not in the
repository, so on a fresh machine the conformance tests had nothing to validate against.
This keeps only each request schema and every component it references (transitively,
at the same JSON pointers, so `$ref`s resolve inside the small file), converts OpenAPI 3.0
`nullable: true` to JSON Schema, and records the source file, its upstream commit (from
SOURCES.md) and its sha256. tests/providers/test_vendored_specs.py re-runs the extraction
when the shared specs exist and fails if the vendored copies are stale.

Run: .venv/bin/python tools/extract_spec_schemas.py [SPECS_DIR]
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPECS = ROOT / ".." / "shared" / "specs"
OUT = ROOT / "tests" / "providers" / "specs"

# vendored name -> (source file, JSON pointer of the request schema, or None for Anthropic,
# whose messages request schema is found through the /v1/messages operation)
SPECS: dict[str, tuple[str, str | None]] = {
    "openai": ("openai-openapi.yaml", "/components/schemas/CreateChatCompletionRequest"),
    "anthropic": ("anthropic-openapi.json", None),
    "gemini": ("gemini-openapi-20241016.json", "/components/schemas/GenerateContentRequest"),
    # the batch APIs (`promptctl test --batch`); "op:PATH" is the schema of POST PATH
    "openai_batch": ("openai-openapi.yaml", "/components/schemas/CreateBatchRequest"),
    "openai_file": ("openai-openapi.yaml", "/components/schemas/CreateFileRequest"),
    "anthropic_batch": ("anthropic-openapi.json", "op:/v1/messages/batches"),
    # the Responses API (kind openai-responses) and the embeddings endpoints
    "openai_responses": ("openai-openapi.yaml", "/components/schemas/CreateResponse"),
    "openai_embeddings": ("openai-openapi.yaml", "/components/schemas/CreateEmbeddingRequest"),
    # what the fake server answers on /v1/responses must be a valid `Response`
    "openai_response_object": ("openai-openapi.yaml", "/components/schemas/Response"),
    "gemini_embed": (
        "gemini-openapi-20241016.json",
        "/components/schemas/BatchEmbedContentsRequest",
    ),
    # streamed answers: one server-sent event's data (the fake server's events are checked
    # against these, tests/providers/test_stream_conformance.py)
    "openai_stream": (
        "openai-openapi.yaml",
        "/components/schemas/CreateChatCompletionStreamResponse",
    ),
    "anthropic_stream": ("anthropic-openapi.json", "/components/schemas/MessageStreamEvent"),
    "gemini_stream": (
        "gemini-openapi-20241016.json",
        "/components/schemas/GenerateContentResponse",
    ),
    "openai_responses_stream": ("openai-openapi.yaml", "/components/schemas/ResponseStreamEvent"),
}


def nullable(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` -> JSON Schema `anyOf [.., null]`; `type: null` dropped."""
    if isinstance(node, dict):
        out = {
            k: nullable(v)
            for k, v in node.items()
            if k != "nullable" and not (k == "type" and v is None)
        }
        if node.get("nullable") is True:
            return {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [nullable(v) for v in node]
    return node


def _parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.strip("/").split("/")]


def _get(doc: Any, pointer: str) -> Any:
    for part in _parts(pointer):
        doc = doc[part]
    return doc


def _put(doc: dict[str, Any], pointer: str, value: Any) -> None:
    *parents, last = _parts(pointer)
    for part in parents:
        doc = doc.setdefault(part, {})
    doc[last] = value


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _commit(specs: Path, file: str) -> str:
    """The upstream commit SOURCES.md records for `file` (first 40-hex id on its row)."""
    for line in (specs / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        if line.startswith(f"| {file} |"):
            match = re.search(r"\b[0-9a-f]{40}\b", line)
            if match:
                return match[0]
    raise SystemExit(f"SOURCES.md has no commit for {file}")


def _load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".yaml":
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return json.loads(text)


@functools.lru_cache(maxsize=4)
def _spec_of(path: Path) -> Any:
    """A whole vendor spec, parsed once per process (OpenAI's is ~2 MB of YAML, ~1 s);
    `extract` only reads it."""
    return nullable(_load(path))


def extract(specs: Path, name: str) -> dict[str, Any]:
    """The small, self-contained schema document for one provider."""
    file, pointer = SPECS[name]
    path = specs / file
    spec = _spec_of(path)
    if pointer is None or pointer.startswith("op:"):
        route = "/v1/messages" if pointer is None else pointer.removeprefix("op:")
        operation = spec["paths"][route]["post"]
        pointer = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        pointer = pointer.removeprefix("#")
    out: dict[str, Any] = {
        "source": {
            "file": file,
            "commit": _commit(specs, file),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        },
        "request_schema": pointer,
    }
    todo, seen = [pointer], set()
    while todo:  # the closure of $refs; ends since each pointer is copied once
        ptr = todo.pop()
        if ptr in seen:
            continue
        seen.add(ptr)
        node = _get(spec, ptr)
        _put(out, ptr, node)
        todo += [r.removeprefix("#") for r in _refs(node) if r.startswith("#/")]
    return out


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    specs = Path(argv[0]) if argv else DEFAULT_SPECS
    OUT.mkdir(parents=True, exist_ok=True)
    for name in SPECS:
        target = OUT / f"{name}.json"
        target.write_text(render(extract(specs, name)), encoding="utf-8")
        print(f"{target.relative_to(ROOT)}: {target.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
