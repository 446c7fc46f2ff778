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
    """The report in the browser's one reused tab, from a blank document: the page's
    listeners, viewport, colour scheme and allowed URL are this report's alone. (A new
    context per report cost ~0.5 s of CPU each: a new renderer process.)"""
    tab = _tabs.get(id(browser))
    if tab is None or tab.page.is_closed():
        tab = _tabs[id(browser)] = _Tab(browser)
    page = tab.page
    for event, handler in tab.listeners:
        page.remove_listener(event, handler)
    page.goto("about:blank")  # the previous report unloads before anything is recorded
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme=scheme)
    opened = Opened(page)
    url = path.resolve().as_uri()
    tab.allowed = url
    tab.listeners = [
        ("console", lambda m: opened.console.append((m.type, m.text))),
        ("pageerror", lambda e: opened.console.append(("pageerror", str(e)))),
        ("request", lambda r: opened.requests.append(r.url)),
    ]
    for event, handler in tab.listeners:
        page.on(event, handler)
    page.goto(url)
    page.wait_for_selector("html[data-ready=true]", timeout=10_000)
    return opened


class _Tab:
    """One context and page per browser; every request but the open report's is refused."""

    def __init__(self, browser: Any) -> None:
        self.allowed = ""
        self.listeners: list[tuple[str, Any]] = []
        context = browser.new_context()
        # nothing may leave the machine even if a check below fails to notice a request
        context.route("**/*", self._only_the_report)
        self.page = context.new_page()

    def _only_the_report(self, route: Any) -> None:
        if route.request.url == self.allowed:
            route.continue_()
        else:
            route.abort()


_tabs: dict[int, _Tab] = {}
