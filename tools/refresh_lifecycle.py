"""Review and refresh src/promptctl/providers/data/lifecycle.json (model lifecycles).

The table is edited by hand: vendors publish retirements as prose and tables on web
pages that change shape, so a scraper would be wrong silently. The refresh is a review:

1. Read the vendors' pages (each row's `source`):
   - OpenAI      https://platform.openai.com/docs/deprecations  (announcement date ->
                 shutdown date, "recommended replacement" / "substitute model")
   - Anthropic   https://docs.anthropic.com/en/docs/about-claude/model-deprecations
                 ("model status" table: deprecated date, retirement date; replacements in
                 each announcement) and the release notes for retirements
   - Google      https://ai.google.dev/gemini-api/docs/deprecations and .../models
                 (shutdown dates of Gemini versions; the `-latest` and unversioned aliases)
2. Add or change rows: `model` (the id the API accepts), `aliases` (ids that point to it
   on the shutdown date), `deprecated` (announcement), `shutdown` (calls fail from this
   UTC day), `replacement` (the vendor's own recommendation, same vendor, or null),
   `source`, `note` (where a value was not confirmed, say so).
3. `--mark-checked MODEL ...` sets `checked` to today (or `--date`) on the rows you
   re-read; `checked` must only move when a person compared the row with its source.
4. Run this script without arguments: it validates the file (dates, order, duplicate
   ids, https sources) and lists rows not checked within `--stale-days` (default 90).
5. Optional cross-check: `--litellm model_prices_and_context_window.json` compares the
   shutdown dates with LiteLLM's `deprecation_date` fields and prints disagreements for
   a person to resolve (LiteLLM is a second opinion, not a source).

Run: .venv/bin/python tools/refresh_lifecycle.py [--mark-checked ID ...] [--litellm FILE]
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any

PATH = Path(__file__).resolve().parents[1] / "src/promptctl/providers/data/lifecycle.json"
VENDORS = ("openai", "anthropic", "google")
LITELLM_PREFIX = {"openai": "", "anthropic": "", "google": "gemini/"}


def problems(doc: dict[str, Any]) -> list[str]:
    """Everything wrong with the file; empty when it is valid."""
    out = []
    seen: set[str] = set()
    for i, row in enumerate(doc.get("models", [])):
        where = f"models[{i}] {row.get('vendor')}/{row.get('model')}"
        if row.get("vendor") not in VENDORS:
            out.append(f"{where}: vendor must be one of {', '.join(VENDORS)}")
        days = {}
        for key in ("deprecated", "shutdown", "checked"):
            value = row.get(key)
            if value is None and key != "checked":
                continue
            try:
                days[key] = datetime.date.fromisoformat(str(value))
            except ValueError:
                out.append(f"{where}: {key} {value!r} is not YYYY-MM-DD")
        if "deprecated" in days and "shutdown" in days and days["deprecated"] > days["shutdown"]:
            out.append(f"{where}: deprecated after shutdown")
        if not str(row.get("source", "")).startswith("https://"):
            out.append(f"{where}: source must be an https URL")
        for name in [row.get("model"), *row.get("aliases", [])]:
            key = f"{row.get('vendor')}/{name}"
            if key in seen:
                out.append(f"{where}: {key} appears twice")
            seen.add(key)
    return out


def stale(doc: dict[str, Any], today: datetime.date, days: int) -> list[str]:
    return [
        f"{r['vendor']}/{r['model']} (checked {r['checked']})"
        for r in doc["models"]
        if (today - datetime.date.fromisoformat(r["checked"])).days > days
    ]


def litellm_disagreements(doc: dict[str, Any], litellm: dict[str, Any]) -> list[str]:
    out = []
    for row in doc["models"]:
        entry = litellm.get(LITELLM_PREFIX[row["vendor"]] + row["model"])
        theirs = entry.get("deprecation_date") if isinstance(entry, dict) else None
        if theirs and theirs != row["shutdown"]:
            out.append(f"{row['vendor']}/{row['model']}: ours {row['shutdown']}, LiteLLM {theirs}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mark-checked", nargs="*", default=[], metavar="MODEL")
    parser.add_argument("--date", default=None, help="YYYY-MM-DD for --mark-checked")
    parser.add_argument("--stale-days", type=int, default=90)
    parser.add_argument("--litellm", type=Path, default=None)
    args = parser.parse_args(argv)
    doc = json.loads(PATH.read_text())
    today = datetime.date.fromisoformat(args.date) if args.date else datetime.date.today()
    if args.mark_checked:
        wanted = set(args.mark_checked)
        for row in doc["models"]:
            if row["model"] in wanted:
                row["checked"] = today.isoformat()
                wanted.discard(row["model"])
        if wanted:
            print("no such rows: " + ", ".join(sorted(wanted)), file=sys.stderr)
            return 2
        PATH.write_text(json.dumps(doc, indent=1) + "\n")
    errors = problems(doc)
    for line in errors:
        print("error: " + line, file=sys.stderr)
    for line in stale(doc, today, args.stale_days):
        print("stale: " + line)
    if args.litellm is not None:
        for line in litellm_disagreements(doc, json.loads(args.litellm.read_text())):
            print("disagrees: " + line)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
