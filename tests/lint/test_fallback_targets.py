"""A fallback with its own `messages` is linted and rendered as a target of its own."""

from __future__ import annotations

import pytest

from .conftest import CLEAN, Linter, codes

_USE = "  use: openai/gpt-4o-mini\n"


def _with_fallback(*messages: str, params: str = "") -> str:
    """CLEAN plus one anthropic fallback whose override messages start on line 10."""
    block = f"  fallbacks:\n    - use: openai/gpt-4o\n{params}      messages:\n" + "".join(
        f"        - {m}\n" for m in messages
    )
    return CLEAN.replace(_USE, _USE + block, 1)


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_clean_fallback_override_has_no_findings(lint_text: Linter) -> None:
    report = lint_text(_with_fallback("system: Classify.", 'user: "<t>{{ ticket }}</t>"'))
    assert report.diagnostics == []


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__ }}",
        "{{ ticket.__class__.__mro__ }}",
        "{{ ticket['_x'] }}",
        "{{ ticket | attr('__dict__') }}",
        "{{ ticket.mro }}",
    ],
)
def test_sandbox_unsafe_fallback_is_an_error_at_its_line(lint_text: Linter, template: str) -> None:
    text = _with_fallback("system: Classify.", f'user: "<t>{{{{ ticket }}}}</t> {template}"')
    report = lint_text(text)
    assert codes(report) == ["PC009"]
    (diag,) = report.diagnostics
    assert diag.is_error and report.exit_code() == 1
    assert diag.location is not None and diag.location.line == _line(text, template)


def test_sandbox_unsafe_primary_is_an_error_without_tests(lint_text: Linter) -> None:
    text = CLEAN.replace(
        "  - system: Classify the ticket.\n", "  - system: \"{{ ''.__class__ }}\"\n"
    )
    text = text.split("tests:")[0]
    assert "PC009" in codes(lint_text(text))


def test_safe_attribute_access_is_not_flagged(lint_text: Linter) -> None:
    text = CLEAN.replace("{{ ticket }}", "{{ ticket.upper() }} {{ ticket['a'] if false }}")
    assert "PC009" not in codes(lint_text(text))


@pytest.mark.parametrize(
    ("message", "code", "needle"),
    [
        ('user: "{{ tiket }}"', "PC011", "tiket"),
        ('user: "{{ ticket }"', "PC010", "{{ ticket }"),
        ('system: "key sk-proj-abcdefghijklmnopqrstuvwx1234"', "PC018", "sk-proj"),
        ('system: "Classify: {{ ticket }}"', "PC107", "Classify: {{"),
        ("user: \"{% include 'missing.j2' %}{{ ticket }}\"", "PC012", "missing.j2"),
    ],
)
def test_template_rules_run_on_fallback_messages(
    lint_text: Linter, message: str, code: str, needle: str
) -> None:
    text = _with_fallback(message, 'user: "<t>{{ ticket }}</t>"')
    report = lint_text(text)
    found = [d for d in report.diagnostics if d.code == code]
    assert found, codes(report)
    assert found[0].location is not None and found[0].location.line == _line(text, needle)


def test_each_test_renders_against_the_fallback(lint_text: Linter) -> None:
    text = (
        _with_fallback('user: "{{ 10 // n }}"')
        .replace("  ticket: {type: string}\n", "  ticket: {type: string}\n  n: {type: integer}\n")
        .replace("vars: {ticket: refund please}", "vars: {ticket: refund please, n: 0}")
    )
    report = lint_text(text)
    assert codes(report) == ["PC019"]
    (diag,) = report.diagnostics
    assert "on fallback openai/gpt-4o" in diag.message and "billing" in diag.message
    assert diag.location is not None and diag.location.line == _line(text, "10 // n")


def test_fallback_context_window_uses_its_model_and_params(lint_text: Linter) -> None:
    params = "      params: {max_tokens: 200000}\n"
    text = _with_fallback('user: "<t>{{ ticket }}</t>"', params=params)
    report = lint_text(text)
    assert codes(report) == ["PC106"]
    (diag,) = report.diagnostics
    assert "openai/gpt-4o's" in diag.message
    assert diag.location is not None and diag.location.line == _line(text, "- use: openai/gpt-4o")
