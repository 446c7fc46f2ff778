"""PC025: a param a target's wire has no field for (the Responses API: stop, seed)."""

from __future__ import annotations

import dataclasses

from promptctl.lint import LintReport, lint
from promptctl.promptfile.model import Project, ProviderSettings

from .conftest import CLEAN, codes

RESPONSES = ProviderSettings("oai-r", "openai-responses", None, "OPENAI_API_KEY")


def _lint(project: Project, text: str) -> LintReport:
    project = dataclasses.replace(project, providers={**project.providers, "oai-r": RESPONSES})
    (project.prompts_dir / "p.yaml").write_text(text, encoding="utf-8")
    return lint(project, check_versions=False)


def test_seed_on_a_responses_target_is_an_error_at_the_param(project: Project) -> None:
    text = CLEAN.replace("use: openai/gpt-4o-mini", "use: oai-r/gpt-5-mini").replace(
        "{max_tokens: 50}", "{max_tokens: 50, seed: 7}"
    )
    report = _lint(project, text)
    (diag,) = report.diagnostics
    assert (diag.code, diag.severity) == ("PC025", "error")
    assert diag.message == (
        "'seed' is not supported by oai-r/gpt-5-mini (openai-responses): its calls would fail"
    )
    assert diag.location is not None and (diag.location.line, diag.location.column) == (6, 28)
    assert report.exit_code() == 1


def test_the_same_params_on_chat_completions_are_fine(project: Project) -> None:
    text = CLEAN.replace("{max_tokens: 50}", "{max_tokens: 50, seed: 7, stop: [END]}")
    assert codes(_lint(project, text)) == []


def test_a_fallback_counts_its_own_params(project: Project) -> None:
    """The primary's `stop` reaches the Responses fallback unless it overrides it."""
    base = CLEAN.replace("{max_tokens: 50}", "{max_tokens: 50, stop: [END]}")
    inherits = base.replace(
        "  params: {max_tokens: 50, stop: [END]}\n",
        "  params: {max_tokens: 50, stop: [END]}\n  fallbacks: [oai-r/gpt-5-mini]\n",
    )
    (diag,) = _lint(project, inherits).diagnostics
    assert diag.code == "PC025" and "'stop'" in diag.message and "oai-r/gpt-5-mini" in diag.message
    overrides = base.replace(
        "  params: {max_tokens: 50, stop: [END]}\n",
        "  params: {max_tokens: 50, stop: [END]}\n"
        "  fallbacks:\n    - {use: oai-r/gpt-5-mini, params: {stop: []}}\n",
    )
    assert codes(_lint(project, overrides)) == []
