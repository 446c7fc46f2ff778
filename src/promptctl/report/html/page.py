"""One self-contained HTML page: inlined CSS and script, the data as a JSON block, and a
Content-Security-Policy that allows only those two inlined pieces (by their hashes).

The data is untrusted (model output, test names from a pull request), so it is never
written as HTML: it goes into a `<script type="application/json">` block with `<`, `>`
and `&` escaped as JSON unicode escapes (so nothing in it can close the tag), and the
script inserts it with textContent only. With `default-src 'none'` the page can load
nothing: no network, no fonts, no images but data: URLs.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from promptctl.errors import UsageError
from promptctl.promptfile.atomic_file import replace_file

__all__ = ["csp", "embed_json", "page", "write_html"]

_SCRIPTS = ("common.js", "charts.js", "run.js", "diff.js", "main.js")


@cache
def _assets() -> tuple[str, str]:
    """(css, js), read once from the package data next to this module."""
    folder = resources.files(__package__)
    css = folder.joinpath("report.css").read_text("utf-8")
    js = "\n".join(folder.joinpath(name).read_text("utf-8") for name in _SCRIPTS)
    return css, js


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


@cache
def csp() -> str:
    """The page's policy: its own inlined style and script, nothing else."""
    css, js = _assets()
    return (
        f"default-src 'none'; script-src {_sha256(js)}; style-src {_sha256(css)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def embed_json(data: Any) -> str:
    """JSON that is safe inside a <script> element whatever strings it holds."""
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise UsageError(
            "the results hold NaN or Infinity, which JSON cannot carry",
            hint="re-run `promptctl test` to write a fresh results file",
        ) from None
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page(title: str, payload: Any) -> str:
    """The whole HTML document."""
    css, js = _assets()
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp()}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        f"<title>{html.escape(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
        '<a class="skip" href="#main">Skip to the report</a>\n'
        '<main id="main" tabindex="-1"><p class="loading">Loading the report…</p></main>\n'
        f'<script type="application/json" id="data">{embed_json(payload)}</script>\n'
        f"<script>{js}</script>\n</body>\n</html>\n"
    )


def write_html(path: Path, text: str) -> None:
    """Write atomically; an unwritable path is a UsageError naming it."""
    data = text.encode()
    replace_file(path, lambda fh: fh.write(data), label="HTML report")
