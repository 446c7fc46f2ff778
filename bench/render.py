"""p50/p99 of `render_messages` on a bundled-style prompt (partials inlined, cache warm).

Target: under 50 µs p50, the runtime's per-call rendering budget.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from promptctl.promptfile.model import MessageTemplate, ModelConfig, Prompt
from promptctl.render import render_messages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--runs", type=int, default=20_000)
    args = parser.parse_args()
    prompt = Prompt(
        id="support/triage",
        version="1.0.0",
        path=Path("triage.yaml"),
        model=ModelConfig(use="openai/gpt-4o-mini"),
        messages=(
            MessageTemplate(
                role="system",
                template="You are Acme's support assistant. Be brief.\nClassify the ticket.",
            ),
            MessageTemplate(role=None, history_var="history"),
            MessageTemplate(
                role="user", template="Tier {{ customer_tier }}: <ticket>{{ ticket }}</ticket>"
            ),
        ),
        inputs={
            "ticket": {"type": "string", "maxLength": 8000},
            "customer_tier": {"type": "string", "enum": ["free", "pro"], "default": "free"},
            "history": {"type": "array", "default": []},
        },
    )
    inputs = {"ticket": "I was charged twice, please refund one payment."}
    render_messages(prompt, inputs)
    samples = []
    for _ in range(args.runs):
        start = time.perf_counter()
        render_messages(prompt, inputs)
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99)]
    verdict = "ok" if p50 < 50 else "SLOW"
    print(f"render_messages p50 {p50:.1f} µs, p99 {p99:.1f} µs over {args.runs} runs  {verdict}")


if __name__ == "__main__":
    main()
