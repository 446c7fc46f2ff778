"""Post the gate report as one pull-request comment, updated in place on later pushes.

Runs inside GitHub Actions: `GITHUB_TOKEN`, `GITHUB_REPOSITORY`, the PR number from
`GITHUB_EVENT_PATH` (pull_request.number) or `GITHUB_REF` (refs/pull/N/merge), and
`GITHUB_API_URL` (GitHub Enterprise, or a local fake in tests). The comment is found
by the hidden marker the markdown report carries. The token goes only into the
Authorization header; no message, log or error ever contains it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from promptctl.errors import ConfigError, ProviderError
from promptctl.report.diff_report import MARKER

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "CommentResult",
    "append_step_summary",
    "check_comment_env",
    "pr_number",
    "publish_report",
    "upsert_comment",
]

_MAX_PAGES = 100


@dataclass(frozen=True)
class CommentResult:
    action: Literal["created", "updated"]
    comment_id: int
    url: str

    def describe(self) -> str:
        return f"PR comment {self.action}: {self.url}"


def publish_report(
    markdown: str,
    *,
    env: Mapping[str, str] | None = None,
    transport: httpx2.BaseTransport | None = None,
) -> CommentResult:
    """Append to the step summary (when set) and create or update the PR comment."""
    env = os.environ if env is None else env
    append_step_summary(markdown, env=env)
    return upsert_comment(markdown, env=env, transport=transport)


def append_step_summary(markdown: str, *, env: Mapping[str, str] | None = None) -> Path | None:
    """Append to `$GITHUB_STEP_SUMMARY` (the job's summary page) when it is set."""
    env = os.environ if env is None else env
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return path


def pr_number(env: Mapping[str, str]) -> int:
    """The pull request's number from the event payload, else from GITHUB_REF."""
    event_path = env.get("GITHUB_EVENT_PATH")
    if event_path and Path(event_path).is_file():
        try:
            event = json.loads(Path(event_path).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):  # ValueError: bad JSON or UTF-8
            event = {}
        if not isinstance(event, dict):
            event = {}
        number = (event.get("pull_request") or {}).get("number") or event.get("number")
        if isinstance(number, int):
            return number
    match = re.fullmatch(r"refs/pull/(\d+)/(?:merge|head)", env.get("GITHUB_REF", ""))
    if match:
        return int(match.group(1))
    raise ConfigError(
        "cannot tell which pull request to comment on",
        hint="run on a pull_request event (GITHUB_EVENT_PATH or GITHUB_REF=refs/pull/N/merge)",
    )


def check_comment_env(env: Mapping[str, str] | None = None) -> tuple[str, str, int]:
    """(token, owner/name, PR number), or a ConfigError (exit 2) saying what is missing.

    `ci --comment` calls it before evaluating anything, so a misconfigured job fails fast.
    """
    env = os.environ if env is None else env
    token = env.get("GITHUB_TOKEN", "")
    repo = env.get("GITHUB_REPOSITORY", "")
    if not token:
        raise ConfigError("GITHUB_TOKEN is not set", hint="pass it from secrets.GITHUB_TOKEN")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise ConfigError("GITHUB_REPOSITORY must be owner/name", hint="set by GitHub Actions")
    return token, repo, pr_number(env)


def upsert_comment(
    markdown: str,
    *,
    env: Mapping[str, str],
    transport: httpx2.BaseTransport | None = None,
) -> CommentResult:
    """PATCH the comment that carries the marker, or POST a new one."""
    import httpx2

    from promptctl.providers._http import ssl_context

    token, repo, number = check_comment_env(env)
    api = env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "promptctl",
    }
    client = httpx2.Client(headers=headers, timeout=30.0, transport=transport, verify=ssl_context())
    with client:
        existing = _find_marked(client, f"{api}/repos/{repo}/issues/{number}/comments")
        if existing is not None:
            url = f"{api}/repos/{repo}/issues/comments/{existing}"
            data = _call(client, "PATCH", url, {"body": markdown})
            action: Literal["created", "updated"] = "updated"
        else:
            url = f"{api}/repos/{repo}/issues/{number}/comments"
            data = _call(client, "POST", url, {"body": markdown})
            action = "created"
    return CommentResult(action, int(data.get("id", 0)), str(data.get("html_url", "")))


def _find_marked(client: httpx2.Client, url: str) -> int | None:
    next_url: str | None = f"{url}?per_page=100"
    for _ in range(_MAX_PAGES):
        if next_url is None:
            return None
        response = _send(client, "GET", next_url, None)
        for comment in response.json():
            if MARKER in str(comment.get("body") or ""):
                return int(comment["id"])
        next_url = response.links.get("next", {}).get("url")
    return None


def _call(client: httpx2.Client, method: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
    data = _send(client, method, url, body).json()
    return data if isinstance(data, dict) else {}


def _send(
    client: httpx2.Client, method: str, url: str, body: dict[str, Any] | None
) -> httpx2.Response:
    import httpx2

    try:
        response = client.request(method, url, json=body)
    except httpx2.HTTPError as exc:
        raise ProviderError(
            "network", f"GitHub API unreachable: {type(exc).__name__}", provider="github"
        ) from None
    if response.status_code >= 400:
        kind: Any = (
            "auth"
            if response.status_code in (401, 403)
            else ("not_found" if response.status_code == 404 else "server")
        )
        raise ProviderError(
            kind,
            f"GitHub API {method} {httpx2.URL(url).path} returned {response.status_code}",
            provider="github",
            status=response.status_code,
            hint="the workflow needs `permissions: pull-requests: write`"
            if kind == "auth"
            else None,
        )
    return response
