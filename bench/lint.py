"""Generate N prompt files in a temporary project and time `promptctl lint` on them.

Target: 2,000 files in under 3 s on one core.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = """\
version: 1.{minor}.0
description: Generated prompt number {i} for the lint benchmark.
status: approved
owner: bench
tags: [bench, group{group}]
model:
  use: openai/gpt-4o-mini
  params: {{temperature: 0, max_tokens: 200}}
inputs:
  ticket: {{type: string, minLength: 1, maxLength: 4000}}
  tier: {{type: string, enum: [free, pro, enterprise], default: free}}
output:
  format: json
  schema: {{type: object, required: [category], properties: {{category: {{type: string}}}}}}
messages:
  - system: |
      {{% include "tone.j2" %}}
      Classify ticket {i} into a category. Answer with JSON.
  - user: "Tier {{{{ tier }}}}: <ticket>{{{{ ticket }}}}</ticket>"
tests:
  - name: billing
    vars: {{ticket: "I was charged twice, refund please", tier: pro}}
    assert:
      - is-json
      - {{type: json-path, path: $.category, equals: billing}}
  - name: bug
    vars: {{ticket: "The export button does nothing"}}
    assert:
      - {{type: regex, value: "(?i)bug"}}
"""


def generate(root: Path, count: int) -> None:
    (root / "promptctl.yaml").write_text("prompts: prompts\n")
    partials = root / "prompts" / "_partials"
    partials.mkdir(parents=True)
    (partials / "tone.j2").write_text("Be brief and exact.\n")
    for i in range(count):
        folder = root / "prompts" / f"team{i % 20}"
        folder.mkdir(exist_ok=True)
        text = TEMPLATE.format(i=i, minor=i % 7, group=i % 5)
        (folder / f"prompt_{i}.yaml").write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--files", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, args.files)
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "promptctl", "lint", "--format", "json"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
    if out.returncode != 0:
        print(out.stdout[-2000:], out.stderr[-2000:])
        raise SystemExit(f"lint failed with exit {out.returncode}")
    verdict = "ok" if elapsed < 3 else "SLOW"
    rate = args.files / elapsed
    print(f"promptctl lint on {args.files} files: {elapsed:.2f} s ({rate:.0f} files/s)  {verdict}")


if __name__ == "__main__":
    main()
