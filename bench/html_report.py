"""The HTML report: writing it for 1,000 cases, its size, and (with Playwright and the
system Chromium) how fast it is in a browser.

Targets (issue 14): write 1,000 cases in <= 0.3 s; <= 2 MB for 1,000 cases with outputs;
interactive in <= 1 s in headless Chromium for 1,000 cases; filters <= 100 ms at 10,000.
Run: .venv/bin/python bench/html_report.py
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from promptctl.evals.assertions import AssertionResult
from promptctl.evals.results import CaseResult, RunInfo, to_document
from promptctl.providers.types import Usage
from promptctl.report.html import render_run, write_html

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TARGETS = ("openai/gpt-4o-mini", "anthropic/claude-haiku-4-5")
OUTPUT = ("The customer was charged twice for the March invoice and asks for a refund. " * 7)[:500]


def _doc(n: int) -> dict[str, Any]:
    cases = []
    for i in range(n):
        prompt = f"team/prompt{i % 10}"
        target = TARGETS[i % 2]
        ok = i % 7 != 0
        cases.append(
            CaseResult(
                key=f"{prompt}::{target}::test {i // 2}::0",
                prompt=prompt,
                version="1.0.0",
                content_hash="sha256:" + "ab" * 32,
                target=target,
                test=f"test {i // 2}",
                repeat=0,
                status="pass" if ok else "fail",
                vars={"ticket": f"ticket number {i}"},
                answered_by=target,
                score=1.0 if ok else 0.5,
                output=f"{i}: {OUTPUT}",
                assertions=(
                    AssertionResult("contains", ok, 1.0 if ok else 0.0, 1.0, "looked for 'refund'"),
                    AssertionResult("length", True, 1.0, 1.0, "length 512 chars is within [, 800]"),
                ),
                usage=Usage(220, 120),
                cost_usd=0.0000414 if i % 2 else 0.0003,
                latency_ms=300.0 + (i * 37) % 900,
            )
        )
    return to_document(RunInfo.start(), cases)


def _write(doc: dict[str, Any], path: Path) -> float:
    t0 = time.perf_counter()
    write_html(path, render_run(doc))
    return time.perf_counter() - t0


def _browser(path_1k: Path, path_10k: Path) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("browser: skipped (pip install playwright)")
        return
    if not os.path.exists(CHROMIUM):
        print(f"browser: skipped (no {CHROMIUM})")
        return
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for label, path in (("1,000", path_1k), ("10,000", path_10k)):
            ready = []
            for _ in range(3):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(path.as_uri())
                page.wait_for_selector("html[data-ready=true]")
                ready.append(
                    page.evaluate("performance.getEntriesByName('promptctl-ready')[0].startTime")
                )
                page.close()
            print(
                f"interactive, {label} cases: {statistics.median(ready):.0f} ms (median of 3,"
                " from navigation start)"
            )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(path_10k.as_uri())
        page.wait_for_selector("html[data-ready=true]")
        timings = page.evaluate("""() => {
          const out = {};
          const time = (name, label, value) => {
            const box = document.querySelector(`select[aria-label=${name}]`);
            const t0 = performance.now();
            box.value = value; box.dispatchEvent(new Event("change"));
            document.body.offsetHeight;  // include style and layout
            out[label] = performance.now() - t0;
          };
          time("status", "status=fail", "fail");
          time("status", "status=all", "");
          time("target", "target=one", "openai/gpt-4o-mini");
          time("prompt", "prompt=one", "team/prompt3");
          time("prompt", "prompt=all", "");
          time("target", "target=all", "");
          return out;
        }""")
        search = page.evaluate("""() => new Promise((resolve) => {
          const box = document.getElementById("search");
          const count = document.getElementById("count");
          const before = count.textContent;
          const t0 = performance.now();
          box.value = "4242:"; box.dispatchEvent(new Event("input"));
          const poll = () => count.textContent !== before
            ? (document.body.offsetHeight, resolve(performance.now() - t0))
            : requestAnimationFrame(poll);
          poll();
        })""")
        for name, ms in timings.items():
            print(f"filter {name}, 10,000 cases: {ms:.1f} ms")
        print(f"search (incl. the 60 ms typing debounce), 10,000 cases: {search:.1f} ms")
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        doc_1k, doc_10k = _doc(1_000), _doc(10_000)
        path_1k, path_10k = Path(tmp) / "r1k.html", Path(tmp) / "r10k.html"
        _write(doc_1k, path_1k)  # warm: the package's CSS/JS are read once per process
        runs = [_write(doc_1k, path_1k) for _ in range(5)]
        print(
            f"write html, 1,000 cases: {statistics.median(runs) * 1000:.0f} ms (median of 5;"
            " target <= 300 ms)"
        )
        print(
            f"size, 1,000 cases with ~500-char outputs: {path_1k.stat().st_size / 1e6:.2f} MB"
            " (target <= 2 MB)"
        )
        t = _write(doc_10k, path_10k)
        print(
            f"write html, 10,000 cases: {t * 1000:.0f} ms, {path_10k.stat().st_size / 1e6:.1f} MB"
        )
        _browser(path_1k, path_10k)


if __name__ == "__main__":
    main()
