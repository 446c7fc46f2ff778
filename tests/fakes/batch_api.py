"""The batch APIs of the fake server: OpenAI Files + Batches, Anthropic Message Batches.

Routes (mounted by `FakeLLM`; every request is logged in `fake.requests` with wire
"openai-batch" or "anthropic-batch"):
    POST /v1/files                          multipart upload (purpose=batch) -> file object
    GET  /v1/files/{id}/content             a file's bytes (input, output or error JSONL)
    POST /v1/batches                        create from an input file -> status "validating"
    GET  /v1/batches/{id}                   each poll moves it on: validating -> in_progress
                                            -> completed (after `polls` in_progress polls)
    POST /v1/messages/batches               Anthropic: create -> processing_status in_progress
    GET  /v1/messages/batches/{id}          in_progress -> ended
    GET  /v1/messages/batches/{id}/results  JSONL of results
    POST /v1beta/models/{m}:batchGenerateContent  Gemini: inlined requests -> operation
    GET  /v1beta/batches/{id}               BATCH_STATE_PENDING -> RUNNING -> SUCCEEDED; the
                                            inlined responses in request order, without
                                            their metadata (as the live API may send them)

Scripting (`fake.batches`):
    polls = 2                   in_progress polls before the batch finishes
    fail = fn(body) -> bool     requests whose body it accepts fail (500 in the error file,
                                Anthropic "errored")
    expire = True               the batch expires: only the first half is answered
    created                     list of created batch ids, in order
Answers use the fake's `reply` and `usage` exactly as live calls do.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fakes.llm_server import FakeLLM

__all__ = ["BatchAPI"]


@dataclass
class _Batch:
    id: str
    wire: str
    lines: list[dict[str, Any]]
    status: str
    polls: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)


class BatchAPI:
    def __init__(self, fake: FakeLLM) -> None:
        self._fake = fake
        self.polls = 2
        self.fail: Callable[[dict[str, Any]], bool] = lambda _: False
        self.expire = False
        self.created: list[str] = []
        self.files: dict[str, bytes] = {}
        self._batches: dict[str, _Batch] = {}
        self._lock = threading.Lock()

    # ---- routing ----
    def handles(self, method: str, path: str) -> bool:
        path = path.split("?")[0]
        if method == "POST":
            return path.endswith(
                ("/v1/files", "/v1/batches", "/v1/messages/batches", ":batchGenerateContent")
            )
        return "/v1/files/" in path or "/batches/" in path

    def handle(self, h: BaseHTTPRequestHandler, method: str, raw: bytes) -> None:
        path = h.path.split("?")[0]
        try:
            if method == "POST" and path.endswith("/v1/files"):
                self._send(h, 200, self._upload(h, raw))
            elif method == "POST" and path.endswith("/v1/messages/batches"):
                self._send(h, 200, self._create_anthropic(json.loads(raw)))
            elif method == "POST" and path.endswith(":batchGenerateContent"):
                self._send(h, 200, self._create_gemini(json.loads(raw)))
            elif method == "POST" and path.endswith("/v1/batches"):
                self._send(h, 200, self._create_openai(json.loads(raw)))
            elif match := re.search(r"/v1/files/([^/]+)/content$", path):
                self._send_raw(h, 200, self.files[match[1]])
            elif match := re.search(r"/v1/messages/batches/([^/]+)/results$", path):
                self._send_raw(h, 200, self._jsonl(self._batches[match[1]].results))
            elif match := re.search(r"/v1/messages/batches/([^/]+)$", path):
                self._send(h, 200, self._poll_anthropic(self._batches[match[1]]))
            elif match := re.search(r"/v1beta/(batches/[^/]+)$", path):
                self._send(h, 200, self._poll_gemini(self._batches[match[1]]))
            elif match := re.search(r"/v1/batches/([^/]+)$", path):
                self._send(h, 200, self._poll_openai(self._batches[match[1]]))
            else:
                self._send(h, 404, {"error": {"message": f"no route {path}"}})
        except (KeyError, ValueError) as exc:
            self._send(h, 400, {"error": {"message": f"bad batch request: {exc}"}})

    # ---- OpenAI ----
    def _upload(self, h: BaseHTTPRequestHandler, raw: bytes) -> dict[str, Any]:
        head = f"Content-Type: {h.headers['content-type']}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + raw)
        fields: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            fields[str(name)] = payload if isinstance(payload, bytes) else b""
        if fields.get("purpose") != b"batch" or "file" not in fields:
            raise ValueError("need purpose=batch and a file part")
        with self._lock:
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = fields["file"]
        return {"id": file_id, "object": "file", "purpose": "batch", "bytes": len(fields["file"])}

    def _create_openai(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
            raise ValueError("endpoint must be /v1/chat/completions, completion_window 24h")
        lines = [json.loads(x) for x in self.files[body["input_file_id"]].splitlines() if x]
        for line in lines:
            if line.get("method") != "POST" or line.get("url") != "/v1/chat/completions":
                raise ValueError(f"line {line.get('custom_id')}: method/url")
        batch = self._new("batch", "openai", lines, "validating")
        return self._openai_view(batch)

    def _poll_openai(self, batch: _Batch) -> dict[str, Any]:
        with self._lock:
            if batch.status == "validating":
                batch.status = "in_progress"
            elif batch.status == "in_progress":
                batch.polls += 1
                if batch.polls >= self.polls:
                    self._finish_openai(batch)
        return self._openai_view(batch)

    def _finish_openai(self, batch: _Batch) -> None:
        ok, bad = [], []
        for i, line in enumerate(batch.lines):
            cid = line["custom_id"]
            if self.expire and i >= len(batch.lines) // 2:
                bad.append(
                    {
                        "id": f"req-{i}",
                        "custom_id": cid,
                        "response": None,
                        "error": {"code": "batch_expired", "message": "expired"},
                    }
                )
            elif self.fail(line["body"]):
                body = {"error": {"message": "fake batch failure", "type": "server_error"}}
                bad.append(
                    {
                        "id": f"req-{i}",
                        "custom_id": cid,
                        "response": {"status_code": 500, "request_id": f"r{i}", "body": body},
                        "error": None,
                    }
                )
            else:
                answer = self._answer("openai", line["body"], "/v1/chat/completions")
                ok.append(
                    {
                        "id": f"req-{i}",
                        "custom_id": cid,
                        "response": {"status_code": 200, "request_id": f"r{i}", "body": answer},
                        "error": None,
                    }
                )
        batch.status = "expired" if self.expire else "completed"
        if ok:
            batch.output_file_id = self._store(self._jsonl(ok))
        if bad:
            batch.error_file_id = self._store(self._jsonl(bad))

    def _openai_view(self, batch: _Batch) -> dict[str, Any]:
        done = batch.status in ("completed", "expired")
        failed = sum(1 for line in batch.lines if self.fail(line["body"])) if done else 0
        if done and self.expire:
            failed = len(batch.lines) - len(batch.lines) // 2
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "status": batch.status,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "request_counts": {
                "total": len(batch.lines),
                "completed": (
                    len(batch.lines) - failed
                    if done
                    else len(batch.lines) * batch.polls // self.polls
                ),
                "failed": failed,
            },
        }

    # ---- Anthropic ----
    def _create_anthropic(self, body: dict[str, Any]) -> dict[str, Any]:
        requests = body["requests"]
        for r in requests:
            if not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", r["custom_id"]) or "params" not in r:
                raise ValueError("each request needs a custom_id and params")
        batch = self._new("msgbatch", "anthropic", requests, "in_progress")
        return self._anthropic_view(batch)

    def _poll_anthropic(self, batch: _Batch) -> dict[str, Any]:
        with self._lock:
            if batch.status == "in_progress":
                batch.polls += 1
                if batch.polls >= self.polls:
                    for i, r in enumerate(batch.lines):
                        cid = r["custom_id"]
                        result: dict[str, Any]
                        if self.expire and i >= len(batch.lines) // 2:
                            result = {"type": "expired"}
                        elif self.fail(r["params"]):
                            error = {"type": "api_error", "message": "fake batch failure"}
                            result = {"type": "errored", "error": {"type": "error", "error": error}}
                        else:
                            message = self._answer("anthropic", r["params"], "/v1/messages")
                            result = {"type": "succeeded", "message": message}
                        batch.results.append({"custom_id": cid, "result": result})
                    batch.status = "ended"
        return self._anthropic_view(batch)

    def _anthropic_view(self, batch: _Batch) -> dict[str, Any]:
        kinds = [r["result"]["type"] for r in batch.results]
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.status,
            "request_counts": {
                "processing": len(batch.lines) - len(kinds),
                "succeeded": kinds.count("succeeded"),
                "errored": kinds.count("errored"),
                "canceled": 0,
                "expired": kinds.count("expired"),
            },
            "results_url": (
                f"{self._fake.base_url}/v1/messages/batches/{batch.id}/results"
                if batch.status == "ended"
                else None
            ),
        }

    # ---- Gemini ----
    def _create_gemini(self, body: dict[str, Any]) -> dict[str, Any]:
        batch = body["batch"]
        inlined = batch["inputConfig"]["requests"]["requests"]
        if not batch.get("displayName") or not all("request" in r for r in inlined):
            raise ValueError("batch needs displayName and inlined requests")
        created = self._new("batches/gb", "gemini", inlined, "BATCH_STATE_PENDING")
        return self._gemini_view(created)

    def _poll_gemini(self, batch: _Batch) -> dict[str, Any]:
        with self._lock:
            if batch.status == "BATCH_STATE_PENDING":
                batch.status = "BATCH_STATE_RUNNING"
            elif batch.status == "BATCH_STATE_RUNNING":
                batch.polls += 1
                if batch.polls >= self.polls:
                    for i, r in enumerate(batch.lines):
                        if self.expire and i >= len(batch.lines) // 2:
                            break
                        if self.fail(r["request"]):
                            error = {"code": 500, "message": "fake batch failure"}
                            batch.results.append({"error": error})
                            continue
                        answer = self._answer("gemini", r["request"], "/models/m:generateContent")
                        batch.results.append({"response": answer})
                    batch.status = "BATCH_STATE_EXPIRED" if self.expire else "BATCH_STATE_SUCCEEDED"
        return self._gemini_view(batch)

    def _gemini_view(self, batch: _Batch) -> dict[str, Any]:
        ok = sum("response" in r for r in batch.results)
        meta = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
            "name": batch.id,
            "state": batch.status,
            "batchStats": {
                "requestCount": str(len(batch.lines)),
                "successfulRequestCount": str(ok),
                "failedRequestCount": str(len(batch.results) - ok),
            },
        }
        view: dict[str, Any] = {"name": batch.id, "metadata": meta}
        if batch.status in ("BATCH_STATE_SUCCEEDED", "BATCH_STATE_EXPIRED"):
            view["done"] = True
            view["response"] = {"inlinedResponses": {"inlinedResponses": batch.results}}
        return view

    # ---- helpers ----
    def _new(self, prefix: str, wire: str, lines: list[dict[str, Any]], status: str) -> _Batch:
        with self._lock:
            batch = _Batch(f"{prefix}_{len(self._batches) + 1}", wire, lines, status)
            self._batches[batch.id] = batch
            self.created.append(batch.id)
        return batch

    def _answer(self, wire: str, body: dict[str, Any], path: str) -> dict[str, Any]:
        from fakes.llm_server import Logged

        logged = Logged(wire, path, {}, body)
        return self._fake._ok_body(wire, logged, self._fake._reply(logged))

    def _store(self, data: bytes) -> str:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = data
        return file_id

    @staticmethod
    def _jsonl(rows: list[dict[str, Any]]) -> bytes:
        return b"".join(json.dumps(r).encode() + b"\n" for r in rows)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        BatchAPI._send_raw(h, status, json.dumps(payload).encode(), "application/json")

    @staticmethod
    def _send_raw(
        h: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str = "application/jsonl"
    ) -> None:
        h.send_response(status)
        h.send_header("content-type", ctype)
        h.send_header("content-length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
