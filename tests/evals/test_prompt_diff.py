from dataclasses import replace
from pathlib import Path

from fakes.results_factory import doc_from_outcomes
from promptctl.evals.compare import compare
from promptctl.evals.prompt_diff import all_prompt_changes, prompt_changes
from promptctl.promptfile.model import (
    GateConfig,
    MessageTemplate,
    ModelConfig,
    OutputSpec,
    Prompt,
    Target,
    TestCase,
)
from promptctl.report.diff_report import render_markdown
from promptctl.report.diff_terminal import render_terminal_text

BASE = Prompt(
    id="support/triage",
    version="1.0.0",
    path=Path("prompts/support/triage.yaml"),
    model=ModelConfig(
        use="openai/gpt-4o-mini",
        params={"temperature": 0},
        fallbacks=(Target("anthropic/claude-3-5-haiku-latest"),),
    ),
    messages=(
        MessageTemplate("system", "Classify the ticket.\nAnswer with JSON."),
        MessageTemplate("user", "Ticket: {{ ticket }}"),
    ),
    inputs={"ticket": {"type": "string"}},
    output=OutputSpec("json", {"type": "object", "required": ["category"]}),
    tests=(TestCase("refund"), TestCase("crash")),
)


def test_semantic_and_template_changes() -> None:
    head = replace(
        BASE,
        version="1.1.0",
        model=replace(BASE.model, params={"temperature": 0.7}),
        messages=(
            MessageTemplate("system", "Classify the ticket.\nAnswer with JSON only."),
            BASE.messages[1],
        ),
        output=OutputSpec("json", {"type": "object", "required": ["category", "urgency"]}),
        tests=(TestCase("refund"), TestCase("login")),
    )
    change = prompt_changes(BASE, head)
    assert change.status == "changed"
    assert "model.params.temperature: 0 -> 0.7" in change.changes
    assert 'version: "1.0.0" -> "1.1.0"' in change.changes
    assert 'output.schema.required[1]: added "urgency"' in change.changes
    assert change.tests_added == ("login",)
    assert change.tests_removed == ("crash",)
    assert len(change.template_diffs) == 1
    label, diff = change.template_diffs[0]
    assert label == "messages[0] (system)"
    assert "-Answer with JSON.\n+Answer with JSON only." in diff


def test_unchanged_added_removed() -> None:
    assert prompt_changes(BASE, BASE).status == "unchanged"
    assert prompt_changes(None, BASE).status == "added"
    removed = prompt_changes(BASE, None)
    assert (removed.status, removed.base_version) == ("removed", "1.0.0")


def test_prompt_changes_are_rendered() -> None:
    head = replace(BASE, version="1.1.0", model=replace(BASE.model, use="openai/gpt-4o"))
    doc = doc_from_outcomes({"support/triage": {"t": "PP"}})
    comparison = replace(
        compare(doc, doc, GateConfig(bootstrap_resamples=0)),
        prompt_changes=(prompt_changes(BASE, head),),
    )
    md = render_markdown(comparison)
    assert "### What changed in the prompts" in md
    assert '- `model.use: "openai/gpt-4o-mini" -> "openai/gpt-4o"`' in md
    text = render_terminal_text(comparison, width=160)
    assert 'model.use: "openai/gpt-4o-mini" -> "openai/gpt-4o"' in text


def test_all_prompt_changes_pairs_by_id() -> None:
    other = replace(BASE, id="billing/summary")
    bumped = replace(BASE, version="1.0.1", messages=(BASE.messages[0],))
    changes = all_prompt_changes([BASE, other], [bumped])
    assert [(c.prompt, c.status) for c in changes] == [
        ("support/triage", "changed"),
        ("billing/summary", "removed"),
    ]
    assert changes[0].template_diffs[0][0] == "messages[1] (user)"
    assert "-Ticket: {{ ticket }}" in changes[0].template_diffs[0][1]
