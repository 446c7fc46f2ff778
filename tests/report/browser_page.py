"""Open a report file in Chromium with every request outside the file refused and every
console message and page error recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Opened:
    page: Any
    console: list[tuple[str, str]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[tuple[str, str]]:
        return [m for m in self.console if m[0] in ("error", "pageerror", "warning")]


def open_report(
    browser: Any,
    path: Path,
    *,
    width: int = 1280,
    height: int = 900,
    scheme: str = "light",
) -> Opened:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.emulate_media(color_scheme=scheme)
    opened = Opened(page)
    page.on("console", lambda m: opened.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: opened.console.append(("pageerror", str(e))))
    url = path.resolve().as_uri()

    page.on("request", lambda r: opened.requests.append(r.url))
    # nothing may leave the machine even if a check below fails to notice a request
    context.route("**/*", lambda r: r.continue_() if r.request.url == url else r.abort())
    page.goto(url)
    page.wait_for_selector("html[data-ready=true]", timeout=10_000)
    return opened
