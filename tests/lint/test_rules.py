"""Each warning rule fires on a bad prompt and stays quiet on the clean one."""

from __future__ import annotations

import pytest

from promptctl.promptfile.model import Project

from .conftest import CLEAN, Linter, codes


def test_clean_prompt_has_no_findings(lint_text: Linter) -> None:
    report = lint_text(CLEAN)
    assert report.diagnostics == []
    assert report.exit_code() == 0


@pytest.mark.parametrize(
    ("code", "old", "new", "message"),
    [
        (
            "PC101",
            "  ticket: {type: string}\n",
            "  ticket: {type: string}\n  locale: {type: string, default: en}\n",
            "input 'locale' is declared but no template uses it",
        ),
        ("PC103", "description: Classify a ticket.\n", "", "prompt has no description"),
        (
            "PC105",
            "  schema: {type: object, additionalProperties: false}\n",
            "",
            "output.format is json but there is no output.schema",
        ),
        (
            "PC113",
            "  format: json\n",
            "  format: text\n",
            "output.schema is set but output.format is text: the schema is never sent to the"
            " model, so the answer is free text",
        ),
        (
            "PC107",
            "  - system: Classify the ticket.\n",
            '  - system: "Classify this: {{ ticket }}"\n',
            "input 'ticket' is inserted into a system message without delimiters",
        ),
    ],
)
def test_warning_fires(lint_text: Linter, code: str, old: str, new: str, message: str) -> None:
    assert old in CLEAN
    report = lint_text(CLEAN.replace(old, new))
    (diag,) = report.diagnostics
    assert (diag.code, diag.severity, diag.message) == (code, "warning", message)
    assert report.exit_code() == 0


def test_no_tests_and_approved_without_tests(lint_text: Linter) -> None:
    no_tests = CLEAN[: CLEAN.index("tests:")]
    approved = lint_text(no_tests)
    assert codes(approved) == ["PC104"]
    assert approved.diagnostics[0].location is not None
    assert approved.diagnostics[0].location.line == 3
    draft = lint_text(no_tests.replace("status: approved", "status: draft"))
    assert codes(draft) == ["PC102"]


def test_strict_turns_warnings_into_failure(project: Project, lint_text: Linter) -> None:
    from promptctl.lint import lint

    lint_text(CLEAN.replace("description: Classify a ticket.\n", ""))
    assert lint(project, check_versions=False, strict=True).exit_code() == 1


def test_delimited_system_inputs_do_not_warn(lint_text: Linter) -> None:
    for wrapped in ('"{{ ticket }}"', "<t>{{ ticket }}</t>", "```\\n{{ ticket }}"):
        text = CLEAN.replace(
            "  - system: Classify the ticket.\n", f'  - system: "Classify: {wrapped}"\n'
        )
        assert "PC107" not in codes(lint_text(text)), wrapped


def test_enum_input_in_system_message_is_not_injection_prone(lint_text: Linter) -> None:
    text = CLEAN.replace(
        "  ticket: {type: string}\n",
        "  ticket: {type: string}\n  tier: {enum: [a, b], default: a}\n",
    ).replace("  - system: Classify the ticket.\n", '  - system: "Tier {{ tier }}."\n')
    assert codes(lint_text(text)) == []


def test_context_window_warning(lint_text: Linter) -> None:
    big = "word " * 130_000
    text = CLEAN.replace("vars: {ticket: refund please}", f"vars: {{ticket: '{big}'}}")
    report = lint_text(text)
    assert codes(report) == ["PC106"]
    assert "over openai/gpt-4o-mini's 128,000" in report.diagnostics[0].message


def test_context_window_unknown_model_is_skipped(lint_text: Linter) -> None:
    big = "word " * 130_000
    text = CLEAN.replace("vars: {ticket: refund please}", f"vars: {{ticket: '{big}'}}")
    assert codes(lint_text(text.replace("gpt-4o-mini", "my-finetune"))) == []


def test_secret_in_partial_is_reported_in_the_partial(project: Project, lint_text: Linter) -> None:
    text = CLEAN.replace("Classify the ticket.", "'{% include \"x.j2\" %}'")
    partial = project.prompts_dir / "_partials" / "x.j2"
    partial.write_text("Be nice.\nkey AKIAABCDEFGHIJKLMNOP\n")
    report = lint_text(text)
    (diag,) = report.diagnostics
    assert diag.code == "PC018" and "AWS access key id" in diag.message
    assert diag.location is not None
    assert (diag.location.path, diag.location.line) == (partial, 2)


def test_undeclared_variable_ignores_loop_and_set_names(lint_text: Linter) -> None:
    text = CLEAN.replace(
        '  - user: "<ticket>{{ ticket }}</ticket>"\n',
        "  - user: |\n      {% set x = 1 %}{% for c in ticket %}{{ c }}{{ loop.index }}{% endfor %}"
        "{{ x }}{{ range(2) | list }}\n",
    )
    assert codes(lint_text(text)) == []


def test_unknown_target_in_route(lint_text: Linter) -> None:
    text = CLEAN.replace(
        "  params: {max_tokens: 50}\n",
        "  params: {max_tokens: 50}\n  routes:\n"
        "    - {when: \"ticket == 'x'\", use: opnai/gpt-4o}\n",
    )
    report = lint_text(text)
    assert codes(report) == ["PC017"]
    assert report.diagnostics[0].hint == "did you mean 'openai'?"


def test_template_syntax_error_points_at_the_template_column(lint_text: Linter) -> None:
    report = lint_text(CLEAN.replace('"<ticket>{{ ticket }}</ticket>"', '"{{ ticket }"'))
    (diag,) = [d for d in report.diagnostics if d.code == "PC010"]
    assert diag.location is not None
    assert (diag.location.line, diag.location.column) == (14, 11)


def test_misspelt_param_warns_with_the_known_name(lint_text: Linter) -> None:
    report = lint_text(
        CLEAN.replace("{max_tokens: 50}", "{max_tokens: 50, temprature: 0, logprobs: 1}")
    )
    (diag,) = report.diagnostics
    assert (diag.code, diag.severity, diag.hint) == (
        "PC108",
        "warning",
        "did you mean 'temperature'?",
    )
    assert diag.location is not None and (diag.location.line, diag.location.column) == (6, 28)


def test_history_without_budget_is_a_note_and_a_budget_silences_it(lint_text: Linter) -> None:
    text = CLEAN.replace(
        "  ticket: {type: string}\n",
        "  ticket: {type: string}\n  past: {type: array, default: []}\n",
    ).replace('  - user: "<ticket>', '  - history: past\n  - user: "<ticket>')
    report = lint_text(text)
    assert codes(report) == ["PC111"]
    (diag,) = report.diagnostics
    assert diag.severity == "note" and "history 'past' has no budget" in diag.message
    assert diag.location is not None and diag.location.line == 15  # the history entry
    budgeted = text.replace("  - history: past\n", "  - history: past\n    max_messages: 20\n")
    assert codes(lint_text(budgeted)) == []


def test_stream_param_is_known_and_must_be_a_boolean(lint_text: Linter) -> None:
    """`stream: true` chooses how `promptctl test` calls: no typo warning; any other
    value is a schema error lint reports before a run."""
    assert (
        codes(lint_text(CLEAN.replace("{max_tokens: 50}", "{max_tokens: 50, stream: true}"))) == []
    )
    report = lint_text(CLEAN.replace("{max_tokens: 50}", "{max_tokens: 50, stream: sometimes}"))
    (diag,) = report.diagnostics
    assert (diag.code, diag.message) == (
        "PC003",
        "model.params.stream: expected boolean, got string",
    )


def test_an_input_whose_type_is_not_a_name_is_a_finding_not_a_crash(lint_text: Linter) -> None:
    """`type: {a: 1}` used in the system message: the free-text check (PC107's) used to
    hash the mapping and stop lint; now only PC013 says the schema is wrong."""
    text = CLEAN.replace("ticket: {type: string}", "ticket: {type: {a: 1}}").replace(
        "- system: Classify the ticket.", "- system: 'Classify {{ ticket }}.'"
    )
    report = lint_text(text)
    assert [d.code for d in report.diagnostics if d.is_error] == ["PC013"]
    assert "input 'ticket' is not a valid JSON Schema" in report.diagnostics[0].message
