"""Re-generate the demo's recordings (evals/recordings/) without an API key.

Run: .venv/bin/python tools/record_demo.py

The example prompts in prompts/ have no real model answers committed: no API key exists
where this repository is developed. This tool starts a *scripted stand-in* for the OpenAI
Chat Completions API on 127.0.0.1, whose answers are hand-written replies for each example
test (and verdicts for the llm-rubric judge), points the `openai` provider at it and runs
`promptctl test --mode record`. The recordings are therefore fixtures, not real gpt-4o-mini
output; refresh them with a real key by running `OPENAI_API_KEY=... promptctl test --mode
record` instead.

Output is byte-identical between runs: file names are request hashes, usage and request
ids are derived from the text, and the client-measured latency (the only noise in a
recording) is set to 0 (replayed answers are cached, their latency is never reported).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

MODEL_REPORTED = "gpt-4o-mini-2024-07-18"

# (text the last user message contains, the reply); first match wins.
REPLIES: tuple[tuple[str, str], ...] = (
    # support/triage
    ("charged twice this month", '{"category": "billing", "urgency": "high"}'),
    ("dark mode", '{"category": "feature_request", "urgency": "low"}'),
    ("can't log in", '{"category": "bug", "urgency": "high"}'),
    ("change the email address", '{"category": "account", "urgency": "normal"}'),
    ("missing our VAT number", '{"category": "billing", "urgency": "normal"}'),
    ("CSV export to reports", '{"category": "feature_request", "urgency": "low"}'),
    # support/reply
    (
        "45 days ago",
        "I'm sorry, Dana, but I can't refund this order: refunds are possible within 30 days"
        " of delivery, and yours arrived about 45 days ago. If the product is faulty, I'd be"
        " glad to help with a repair or a replacement instead.",
    ),
    (
        "charged me twice",
        "Thanks for telling us, Lee, and sorry about that. Duplicate charges are always"
        " refunded: I've asked our billing team to refund the second charge to your original"
        " payment method. You should see it within 5-10 business days.",
    ),
    # support/extract_order
    (
        "A-204518",
        '{"order_id": "A-204518", "product": "blender", "problem": "The blender arrived with'
        ' a cracked lid and the customer wants a replacement."}',
    ),
    (
        "headphones stopped charging",
        '{"order_id": null, "product": "headphones", "problem": "They stopped charging after'
        ' a week."}',
    ),
    # content/summarize
    (
        "Version 4.2 adds single sign-on",
        "Version 4.2 brings single sign-on with Okta and Azure AD, makes reports about 40%"
        " faster and fixes CSV exports that lost their last row. The old v1 API shuts down"
        " on 1 March.",
    ),
    (
        "data-centre migration",
        "The data-centre migration is 80% done. The rest must be finished before the lease"
        " ends on 30 June, or we pay a 250k penalty.",
    ),
)

# Judge verdicts (llm-rubric), matched on the rubric text.
VERDICTS: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "Declines the refund politely",
        {
            "pass": True,
            "score": 0.9,
            "reason": "Declines politely, cites the 30-day rule and offers an alternative.",
        },
    ),
    (
        "States the deadline and the financial risk",
        {
            "pass": True,
            "score": 0.95,
            "reason": "Names the 30 June deadline and the 250k penalty in plain words.",
        },
    ),
)


def _answer(body: dict[str, Any]) -> str:
    last = str(body["messages"][-1]["content"])
    if "<rubric>" in last:
        for needle, verdict in VERDICTS:
            if needle in last:
                return json.dumps(verdict)
        raise LookupError(f"no scripted verdict for rubric: {last[:120]!r}")
    for needle, reply in REPLIES:
        if needle in last:
            return reply
    raise LookupError(f"no scripted reply for: {last[:120]!r}")


def _tokens(text: str) -> int:
    return max(1, -(-len(text) // 4))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.loads(raw)
        try:
            text = _answer(body)
        except LookupError as exc:
            self._send(400, {"error": {"message": str(exc), "type": "invalid_request_error"}})
            return
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body["messages"])
        digest = hashlib.sha256(raw).hexdigest()[:24]
        self._send(
            200,
            {
                "id": f"chatcmpl-demo-{digest}",
                "object": "chat.completion",
                "created": 0,
                "model": MODEL_REPORTED,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": _tokens("x" * prompt_chars),
                    "completion_tokens": _tokens(text),
                    "total_tokens": _tokens("x" * prompt_chars) + _tokens(text),
                },
            },
            request_id=f"req-demo-{digest}",
        )

    def _send(self, status: int, payload: dict[str, Any], request_id: str = "req-demo") -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-request-id", request_id)
        self.end_headers()
        self.wfile.write(data)


def _normalise(path: Path) -> None:
    """Drop the measured latency, the only field that differs between runs."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["response"]["latency_ms"] = 0.0
    path.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def main() -> int:
    from promptctl.evals.runner import EvalOptions, evaluate
    from promptctl.promptfile.loader import load_prompts
    from promptctl.promptfile.project import load_project

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        project = load_project(ROOT / "promptctl.yaml")
        base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        providers = dict(project.providers)
        providers["openai"] = dataclasses.replace(providers["openai"], base_url=base_url)
        recordings = project.recordings_dir
        for old in recordings.glob("*/*.json"):
            old.unlink()
        loaded = load_prompts(project)
        if loaded.errors:
            for diag in loaded.errors:
                print(diag, file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory() as state:
            stand_in = dataclasses.replace(
                project, providers=providers, ledger_path=Path(state) / "ledger.sqlite"
            )
            run = evaluate(
                stand_in,
                loaded.prompts,
                EvalOptions(mode="record", use_cache=False, write_run_file=False),
                partials=loaded.partials,
                # the stand-in answers every request: the anthropic fallbacks (no key
                # here, so they would be skipped) are never reached
                env={"OPENAI_API_KEY": "demo-stand-in-no-real-key"},
            )
    finally:
        server.shutdown()
        server.server_close()
    written = sorted(recordings.glob("*/*.json"))
    for path in written:
        _normalise(path)
    for result in run.results:
        if result.error is not None:
            print(f"error: {result.key}: {result.error.message}", file=sys.stderr)
    print(f"{len(written)} recordings in {recordings.relative_to(ROOT)}; counts {dict(run.counts)}")
    return run.exit_code


if __name__ == "__main__":
    sys.exit(main())
