"""A local fake of the GitHub REST API issue-comments endpoints (a real HTTP server).

Serves GET (paginated with a Link header), POST and PATCH on
/repos/{owner}/{repo}/issues/{n}/comments and /repos/{owner}/{repo}/issues/comments/{id},
records every request (method, path, headers, body) and checks the bearer token.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class FakeGitHub:
    token: str
    per_page_cap: int = 2  # small pages so pagination is exercised
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    base_url: str = ""
    _next_id: int = 1000

    def add_comment(self, pr: int, body: str) -> int:
        self._next_id += 1
        self.comments.setdefault(pr, []).append(
            {
                "id": self._next_id,
                "body": body,
                "html_url": f"https://github.test/c/{self._next_id}",
            }
        )
        return self._next_id


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _record(self) -> str:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            fake.requests.append(Recorded(self.command, self.path, dict(self.headers), body))
            return body

        def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {fake.token}":
                self._reply(401, {"message": "Bad credentials"})
                return False
            return True

        def do_GET(self) -> None:
            self._record()
            if not self._authorized():
                return
            url = urlparse(self.path)
            m = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", url.path)
            if not m:
                self._reply(404, {"message": "Not Found"})
                return
            query = parse_qs(url.query)
            per_page = min(int(query.get("per_page", ["30"])[0]), fake.per_page_cap)
            page = int(query.get("page", ["1"])[0])
            items = fake.comments.get(int(m.group(1)), [])
            chunk = items[(page - 1) * per_page : page * per_page]
            headers = {}
            if page * per_page < len(items):
                nxt = f"{fake.base_url}{url.path}?per_page={per_page}&page={page + 1}"
                headers["Link"] = f'<{nxt}>; rel="next"'
            self._reply(200, chunk, headers)

        def do_POST(self) -> None:
            body = self._record()
            if not self._authorized():
                return
            m = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", self.path)
            if not m:
                self._reply(404, {"message": "Not Found"})
                return
            new_id = fake.add_comment(int(m.group(1)), json.loads(body)["body"])
            self._reply(201, fake.comments[int(m.group(1))][-1] | {"id": new_id})

        def do_PATCH(self) -> None:
            body = self._record()
            if not self._authorized():
                return
            m = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/comments/(\d+)", self.path)
            target = int(m.group(1)) if m else -1
            for items in fake.comments.values():
                for comment in items:
                    if comment["id"] == target:
                        comment["body"] = json.loads(body)["body"]
                        self._reply(200, comment)
                        return
            self._reply(404, {"message": "Not Found"})

    return Handler


@contextmanager
def serve(token: str = "ghs_fake_token_123") -> Iterator[FakeGitHub]:
    fake = FakeGitHub(token=token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    # shutdown() waits for the loop to poll its flag (the default interval is 0.5 s)
    thread = threading.Thread(target=server.serve_forever, args=(0.005,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
