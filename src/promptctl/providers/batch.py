"""The vendors' batch APIs: many chat requests in one job, answered within 24 h, at a discount.

- OpenAI: upload a JSONL file (`POST /files`, purpose `batch`; one
  `{custom_id, method, url, body}` line per request), `POST /batches`, poll
  `GET /batches/{id}` (validating -> in_progress -> finalizing -> completed | failed |
  expired | cancelled), then read the output and error files (`GET /files/{id}/content`).
- Anthropic Message Batches: `POST /v1/messages/batches` with `{requests: [{custom_id,
  params}]}`, poll `GET /v1/messages/batches/{id}` until `processing_status` is `ended`,
  then read the JSONL at `results_url` (succeeded | errored | canceled | expired).
- Gemini batch mode: `POST /models/{model}:batchGenerateContent` with inlined requests
  (`{batch: {displayName, inputConfig: {requests: {requests: [{request, metadata}]}}}}`;
  one model per batch), poll `GET /batches/{id}` (BATCH_STATE_PENDING / RUNNING /
  SUCCEEDED / FAILED / CANCELLED / EXPIRED); the inlined responses come back in request
  order. The vendored Gemini spec (2024-10-16) predates batch mode, so these bodies are
  checked against the published API reference only.

Each request body is exactly what the live adapter builds, so a batched answer is the
answer to the same request (and is cached under the same key). Both vendors bill batch
calls at 50% of the standard token prices (their pricing pages); `BATCH_DISCOUNT`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from promptctl.errors import ProviderError
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.model import ProviderSettings
from promptctl.providers.base import Parsed, decode_json, error_for_status, load_adapter, scrub
from promptctl.providers.openai import api_base

__all__ = [
    "BATCH_DISCOUNT",
    "BATCH_KINDS",
    "BatchClient",
    "BatchStatus",
    "ItemResult",
    "batch_client",
    "openai_batch_payloads",
]

BATCH_DISCOUNT = 0.5
BATCH_KINDS = ("openai", "anthropic", "gemini")
State = Literal["running", "ended"]


@dataclass(frozen=True)
class BatchStatus:
    id: str
    state: State
    raw: str  # the vendor's own status word
    done: int
    failed: int
    total: int


@dataclass(frozen=True)
class ItemResult:
    custom_id: str
    parsed: Parsed | None
    error: str | None  # why it has no answer (failed, expired, canceled)


class BatchClient(Protocol):
    def submit(self, items: Sequence[tuple[str, ChatRequest]]) -> str: ...

    def status(self, batch_id: str) -> BatchStatus: ...

    def results(self, batch_id: str, order: Sequence[str]) -> list[ItemResult]:
        """Answers by custom id; `order` is the submitted custom ids, in order (Gemini
        returns its answers in request order, without ids)."""
        ...


def batch_client(settings: ProviderSettings, api_key: str | None, http: Any) -> BatchClient | None:
    """The batch client for a provider, or None when its kind has no batch support here."""
    kinds: dict[str, Any] = {"openai": OpenAIBatch, "anthropic": AnthropicBatch}
    kinds["gemini"] = GeminiBatch
    client = kinds.get(settings.kind)
    return None if client is None else _Checked(client(settings, api_key, http))


# What reading a malformed batch answer raises: a count that is text, a list where an
# object goes, a result line that is not JSON (or nests past the stack).
_MALFORMED = (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError)


class _Checked:
    """A batch client whose every answer the provider wrote is read as untrusted: data
    of the wrong shape is `bad_response`, like a live answer's, never a traceback."""

    def __init__(self, inner: BatchClient) -> None:
        self._inner = inner

    def submit(self, items: Sequence[tuple[str, ChatRequest]]) -> str:
        try:  # the id read from the answer; a ValueError here is the client's own check
            return self._inner.submit(items)
        except (TypeError, AttributeError, KeyError, IndexError) as exc:
            raise _malformed(exc) from None

    def status(self, batch_id: str) -> BatchStatus:
        try:
            return self._inner.status(batch_id)
        except _MALFORMED as exc:
            raise _malformed(exc) from None

    def results(self, batch_id: str, order: Sequence[str]) -> list[ItemResult]:
        try:
            return self._inner.results(batch_id, order)
        except _MALFORMED as exc:
            raise _malformed(exc) from None


def _malformed(exc: Exception) -> ProviderError:
    return ProviderError(
        "bad_response",
        scrub(f"the batch API's answer is malformed ({type(exc).__name__}: {exc})")[:300],
    )


def _check(resp: Any, secrets: tuple[str, ...]) -> Any:
    if resp.status_code >= 400:
        text = scrub(resp.content[:300].decode("utf-8", "replace"), secrets)
        raise error_for_status(resp.status_code, f"batch API: HTTP {resp.status_code}: {text}")
    return decode_json(resp.content, resp.status_code)


def _jsonl(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def openai_batch_payloads(
    items: Sequence[tuple[str, ChatRequest]], settings: ProviderSettings, api_key: str | None
) -> bytes:
    """The JSONL input file of one batch: one line per request, the live request's body."""
    adapter = load_adapter("openai")
    lines = []
    for custom_id, request in items:
        wire = adapter.build_request(request, settings, api_key)
        line = {
            "custom_id": custom_id,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": wire.body,
        }
        lines.append(json.dumps(line, separators=(",", ":"), ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode()


class OpenAIBatch:
    def __init__(self, settings: ProviderSettings, api_key: str | None, http: Any) -> None:
        self._settings = settings
        self._key = api_key
        self._http = http
        self._base = api_base(settings)
        self._secrets = (api_key,) if api_key else ()
        # the live adapter's headers (key, `headers:` of promptctl.yaml) minus the JSON type
        probe = load_adapter("openai").build_request(
            ChatRequest("openai", "x", ()), settings, api_key
        )
        self._auth = {k: v for k, v in probe.headers.items() if k.lower() != "content-type"}

    def submit(self, items: Sequence[tuple[str, ChatRequest]]) -> str:
        data = openai_batch_payloads(items, self._settings, self._key)
        auth = self._auth
        upload = _check(
            self._http.post(
                f"{self._base}/files",
                headers=auth,
                data={"purpose": "batch"},
                files={"file": ("promptctl-batch.jsonl", data, "application/jsonl")},
                timeout=self._settings.timeout_s,
            ),
            self._secrets,
        )
        body = {
            "input_file_id": upload["id"],
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
            "metadata": {"source": "promptctl"},
        }
        created = _check(
            self._http.post(
                f"{self._base}/batches", headers=auth, json=body, timeout=self._settings.timeout_s
            ),
            self._secrets,
        )
        return str(created["id"])

    def _get(self, path: str) -> Any:
        return self._http.get(
            f"{self._base}{path}", headers=self._auth, timeout=self._settings.timeout_s
        )

    def status(self, batch_id: str) -> BatchStatus:
        data = _check(self._get(f"/batches/{batch_id}"), self._secrets)
        raw = str(data.get("status"))
        counts = data.get("request_counts") or {}
        ended = raw in ("completed", "failed", "expired", "cancelled")
        return BatchStatus(
            batch_id,
            "ended" if ended else "running",
            raw,
            int(counts.get("completed") or 0),
            int(counts.get("failed") or 0),
            int(counts.get("total") or 0),
        )

    def results(self, batch_id: str, order: Sequence[str]) -> list[ItemResult]:
        data = _check(self._get(f"/batches/{batch_id}"), self._secrets)
        parse = load_adapter("openai").parse_response
        out: list[ItemResult] = []
        for key in ("output_file_id", "error_file_id"):
            file_id = data.get(key)
            if not file_id:
                continue
            resp = self._get(f"/files/{file_id}/content")
            if resp.status_code >= 400:
                _check(resp, self._secrets)
            for line in _jsonl(resp.content):
                out.append(_openai_item(line, parse))
        return out


def _openai_item(line: Mapping[str, Any], parse: Any) -> ItemResult:
    cid = str(line.get("custom_id"))
    response = line.get("response") or {}
    error = line.get("error")
    if error:
        return ItemResult(cid, None, f"{error.get('code')}: {error.get('message')}")
    status = int(response.get("status_code") or 0)
    body = json.dumps(response.get("body")).encode()
    try:
        return ItemResult(cid, parse(status, {}, body), None)
    except ProviderError as exc:
        return ItemResult(cid, None, exc.message)


class AnthropicBatch:
    def __init__(self, settings: ProviderSettings, api_key: str | None, http: Any) -> None:
        self._settings = settings
        self._key = api_key
        self._http = http
        self._base = (settings.base_url or "https://api.anthropic.com").rstrip("/")
        self._secrets = (api_key,) if api_key else ()
        self._headers: dict[str, str] = {}

    def submit(self, items: Sequence[tuple[str, ChatRequest]]) -> str:
        adapter = load_adapter("anthropic")
        requests = []
        for custom_id, request in items:
            wire = adapter.build_request(request, self._settings, self._key)
            self._headers = wire.headers
            requests.append({"custom_id": custom_id, "params": wire.body})
        created = _check(
            self._http.post(
                f"{self._base}/v1/messages/batches",
                headers=self._headers,
                json={"requests": requests},
                timeout=self._settings.timeout_s,
            ),
            self._secrets,
        )
        return str(created["id"])

    def _auth(self) -> dict[str, str]:
        if not self._headers:
            adapter = load_adapter("anthropic")
            probe = ChatRequest("anthropic", "x", ())
            self._headers = adapter.build_request(probe, self._settings, self._key).headers
        return self._headers

    def _view(self, batch_id: str) -> Any:
        resp = self._http.get(
            f"{self._base}/v1/messages/batches/{batch_id}",
            headers=self._auth(),
            timeout=self._settings.timeout_s,
        )
        return _check(resp, self._secrets)

    def status(self, batch_id: str) -> BatchStatus:
        data = self._view(batch_id)
        counts = data.get("request_counts") or {}
        failed = sum(int(counts.get(k) or 0) for k in ("errored", "canceled", "expired"))
        done = int(counts.get("succeeded") or 0)
        raw = str(data.get("processing_status"))
        return BatchStatus(
            batch_id,
            "ended" if raw == "ended" else "running",
            raw,
            done,
            failed,
            done + failed + int(counts.get("processing") or 0),
        )

    def results(self, batch_id: str, order: Sequence[str]) -> list[ItemResult]:
        url = self._view(batch_id).get("results_url") or (
            f"{self._base}/v1/messages/batches/{batch_id}/results"
        )
        resp = self._http.get(url, headers=self._auth(), timeout=self._settings.timeout_s)
        if resp.status_code >= 400:
            _check(resp, self._secrets)
        parse = load_adapter("anthropic").parse_response
        out = []
        for line in _jsonl(resp.content):
            cid = str(line.get("custom_id"))
            result = line.get("result") or {}
            if result.get("type") != "succeeded":
                out.append(ItemResult(cid, None, str(result.get("type") or "unknown")))
                continue
            try:
                parsed = parse(200, {}, json.dumps(result.get("message")).encode())
                out.append(ItemResult(cid, parsed, None))
            except ProviderError as exc:
                out.append(ItemResult(cid, None, exc.message))
        return out


_GEMINI_ENDED = {
    "BATCH_STATE_SUCCEEDED",
    "BATCH_STATE_FAILED",
    "BATCH_STATE_CANCELLED",
    "BATCH_STATE_EXPIRED",
}


class GeminiBatch:
    """One model per batch: the model is part of the URL (the orchestrator groups so)."""

    def __init__(self, settings: ProviderSettings, api_key: str | None, http: Any) -> None:
        self._settings = settings
        self._key = api_key
        self._http = http
        self._base = (
            settings.base_url or "https://generativelanguage.googleapis.com/v1beta"
        ).rstrip("/")
        self._secrets = (api_key,) if api_key else ()
        probe = load_adapter("gemini").build_request(
            ChatRequest("gemini", "x", ()), settings, api_key
        )
        self._headers = probe.headers

    def submit(self, items: Sequence[tuple[str, ChatRequest]]) -> str:
        adapter = load_adapter("gemini")
        models = {request.model for _, request in items}
        if len(models) != 1:
            raise ValueError("a Gemini batch holds one model")
        (model,) = models
        inlined = []
        for custom_id, request in items:
            body = adapter.build_request(request, self._settings, self._key).body
            inlined.append({"request": body, "metadata": {"key": custom_id}})
        payload = {
            "batch": {
                "displayName": "promptctl",
                "inputConfig": {"requests": {"requests": inlined}},
            }
        }
        created = _check(
            self._http.post(
                f"{self._base}/models/{model}:batchGenerateContent",
                headers=self._headers,
                json=payload,
                timeout=self._settings.timeout_s,
            ),
            self._secrets,
        )
        return str(created["name"])

    def _view(self, batch_id: str) -> Any:
        resp = self._http.get(
            f"{self._base}/{batch_id}", headers=self._headers, timeout=self._settings.timeout_s
        )
        return _check(resp, self._secrets)

    @staticmethod
    def _batch(data: Mapping[str, Any]) -> Mapping[str, Any]:
        meta = data.get("metadata")
        return meta if isinstance(meta, Mapping) and "state" in meta else data

    def status(self, batch_id: str) -> BatchStatus:
        batch = self._batch(self._view(batch_id))
        stats = batch.get("batchStats") or {}
        raw = str(batch.get("state"))
        return BatchStatus(
            batch_id,
            "ended" if raw in _GEMINI_ENDED else "running",
            raw,
            int(stats.get("successfulRequestCount") or 0),
            int(stats.get("failedRequestCount") or 0),
            int(stats.get("requestCount") or 0),
        )

    def results(self, batch_id: str, order: Sequence[str]) -> list[ItemResult]:
        data = self._view(batch_id)
        output = data.get("response") or self._batch(data).get("output") or {}
        lines = (output.get("inlinedResponses") or {}).get("inlinedResponses") or []
        parse = load_adapter("gemini").parse_response
        out = []
        for i, line in enumerate(lines):
            meta = line.get("metadata") or {}
            cid = str(meta.get("key") or (order[i] if i < len(order) else ""))
            if "response" not in line:
                error = line.get("error") or {}
                out.append(ItemResult(cid, None, str(error.get("message") or "failed")))
                continue
            try:
                out.append(
                    ItemResult(cid, parse(200, {}, json.dumps(line["response"]).encode()), None)
                )
            except ProviderError as exc:
                out.append(ItemResult(cid, None, exc.message))
        return out
