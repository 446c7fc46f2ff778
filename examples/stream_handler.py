"""A web handler that streams a prompt's reply to the browser, with fallback.

    python examples/stream_handler.py releases/ --port 8000
    curl -N -d '{"customer_name": "Dana", "message": "My invoice is wrong"}' localhost:8000/reply

Standard library only (http.server) plus promptctl's runtime. Each POST runs the bundled
prompt `support/reply` (change PROMPT_ID) with the JSON body as its inputs and relays the
answer as server-sent events:

    event: delta   data: {"text": "..."}          as the model writes
    event: done    data: {"model", "fallbacks_tried", "ttft_ms", "cost_usd", ...}
    event: error   data: {"message", "partial_text"}

What the runtime does for it: a provider failing before the first token (error, timeout,
`first_token_s` passed) is replaced by the prompt's fallback without the browser seeing
anything; a stream that breaks after text was sent ends with an `error` event carrying
the partial text (the handler cannot take text back); a browser that goes away closes
the upstream stream too, so the model stops being paid for. Every call lands in the
ledger (`PROMPTCTL_LEDGER`) with tokens, cost and the model that answered.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from promptctl.runtime import PromptctlError, ProviderError, RunResult, Runtime, StreamInterrupted

PROMPT_ID = "support/reply"
FIRST_TOKEN_S = 5.0  # a provider silent for longer is failed over


def make_handler(rt: Runtime, prompt_id: str = PROMPT_ID) -> type[BaseHTTPRequestHandler]:
    class ReplyHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            try:
                inputs = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(inputs, dict):
                    raise ValueError("not an object")
                # inputs are validated (and resolvers run) before anything is sent
                stream = rt.stream(prompt_id, first_token_s=FIRST_TOKEN_S, **inputs)
            except (ValueError, PromptctlError) as exc:
                self._reply_json(400, {"error": str(exc)})
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            try:
                for chunk in stream:
                    if isinstance(chunk, RunResult):
                        self._event("done", _summary(chunk))
                    else:
                        self._event("delta", {"text": chunk})
            except StreamInterrupted as exc:  # text was sent already: say where it stopped
                self._event("error", {"message": str(exc), "partial_text": exc.partial_text})
            except ProviderError as exc:  # no target could answer at all
                self._event("error", {"message": str(exc), "partial_text": ""})
            except (BrokenPipeError, ConnectionResetError):
                stream.close()  # the browser left: close the provider's stream as well
                return
            self._write(b"")  # the last chunk

        def _event(self, name: str, data: dict[str, Any]) -> None:
            self._write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

        def _write(self, data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _reply_json(self, status: int, data: dict[str, Any]) -> None:
            body = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return ReplyHandler


def _summary(result: RunResult) -> dict[str, Any]:
    return {
        "model": result.model,
        "fallbacks_tried": [
            {"target": s.target, "reason": s.reason} for s in result.fallbacks_tried
        ],
        "ttft_ms": result.ttft_ms,
        "latency_ms": result.latency_ms,
        "cost_usd": result.cost_usd,
        "output_tokens": result.usage.output_tokens,
        "prompt_version": result.prompt_version,
    }


def serve(rt: Runtime, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """The server (not yet serving: call `serve_forever`); port 0 picks a free one."""
    return ThreadingHTTPServer((host, port), make_handler(rt))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bundle", help="release directory or .bundle.json file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    with Runtime.load(args.bundle) as rt:
        server = serve(rt, args.host, args.port)
        print(f"streaming {PROMPT_ID} on http://{args.host}:{server.server_address[1]}/reply")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


if __name__ == "__main__":
    main()
