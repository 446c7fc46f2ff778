"""`tools:`/`tool_choice` rules (PC013 for parameters, PC024) and PC112 strict-schema."""

from __future__ import annotations

from .conftest import CLEAN, Linter, codes

TOOLS = """\
tools:
  - name: lookup_order
    description: Find an order.
    parameters:
      type: object
      properties:
        id: {type: string, minLength: one}
  - name: escalate
"""


def _with(extra: str) -> str:
    return CLEAN.replace("messages:\n", extra + "messages:\n", 1)


def test_valid_tools_lint_clean(lint_text: Linter) -> None:
    text = _with(TOOLS.replace("minLength: one", "minLength: 1") + "tool_choice: escalate\n")
    assert lint_text(text).diagnostics == []


def test_bad_parameters_point_at_the_keyword(lint_text: Linter) -> None:
    report = lint_text(_with(TOOLS))
    (diag,) = report.diagnostics
    assert diag.code == "PC013" and diag.severity == "error"
    assert "tool 'lookup_order' parameters is not a valid JSON Schema" in diag.message
    assert "properties.id.minLength" in diag.message
    loc = diag.location
    assert loc is not None
    # the value `one` of minLength, not the tool or its `parameters`
    lines = _with(TOOLS).splitlines()
    line = lines.index("        id: {type: string, minLength: one}")
    assert (loc.line, loc.column) == (line + 1, lines[line].index("one") + 1)


def test_tool_set_problems_are_pc024(lint_text: Linter) -> None:
    text = _with(
        "tools:\n"
        "  - {name: escalate}\n"
        "  - {name: escalate}\n"
        "  - {name: promptctl_output}\n"
        "  - {name: listy, parameters: {type: array}}\n"
        "tool_choice: escalat\n"
    )
    report = lint_text(text)
    messages = [(d.code, d.message, d.hint) for d in report.diagnostics]
    assert messages == [
        ("PC024", "tool 'escalate' is declared twice", "give each tool its own name"),
        (
            "PC024",
            "tool name 'promptctl_output' is reserved for structured output",
            "rename the tool",
        ),
        (
            "PC024",
            "tool 'listy' parameters must be a schema of `type: object`",
            "write `parameters: {type: object, properties: {...}}`",
        ),
        (
            "PC024",
            "tool_choice 'escalat' is not auto, none, required or a declared tool",
            "did you mean 'escalate'?",
        ),
    ]
    assert report.exit_code() == 1


def test_tool_results_must_name_declared_tools(lint_text: Linter) -> None:
    text = _with("tools:\n  - {name: escalate}\n").replace(
        "    assert: [is-json]\n", "    tool_results: {escalte: done}\n    assert: [is-json]\n"
    )
    (diag,) = lint_text(text).diagnostics
    assert (diag.code, diag.message, diag.hint) == (
        "PC024",
        "tests[0].tool_results: 'escalte' is not a declared tool",
        "did you mean 'escalate'?",
    )
    assert diag.location is not None
    assert diag.location.line == text.splitlines().index("    tool_results: {escalte: done}") + 1


def test_a_tool_name_providers_refuse_is_a_schema_error(lint_text: Linter) -> None:
    report = lint_text(_with("tools:\n  - {name: look up}\n"))
    assert codes(report) == ["PC003"]


def test_non_strict_output_schema_warns_for_openai_targets(lint_text: Linter) -> None:
    loose = CLEAN.replace(
        "schema: {type: object, additionalProperties: false}",
        "schema: {type: object, additionalProperties: false, properties: {a: {type: string}}}",
    )
    report = lint_text(loose)
    (diag,) = report.diagnostics
    assert diag.code == "PC112" and diag.severity == "warning"
    assert "(root) does not list a in `required`" in diag.message
    assert report.exit_code() == 0
    # the same schema on an Anthropic-only prompt: no OpenAI request, no warning
    claude = loose.replace("use: openai/gpt-4o-mini", "use: anthropic/claude-haiku-4-5")
    assert lint_text(claude).diagnostics == []


def test_a_tool_call_assertion_with_a_bad_spec_is_pc016(lint_text: Linter) -> None:
    text = _with("tools:\n  - {name: escalate}\n").replace(
        "    assert: [is-json]\n",
        "    assert:\n"
        "      - {type: tool-call, name: escalte}\n"
        "      - {type: tool-call, arguments: [1]}\n"
        "      - {type: tool-call, schema: {type: strng}}\n"
        "      - {type: not-tool-call, name: delete_account}\n",
    )
    found = sorted((d.code, d.message, d.hint) for d in lint_text(text).diagnostics)
    assert found == [
        (
            "PC016",
            "'tool-call': `arguments` must be a mapping (a subset of the call's arguments)",
            None,
        ),
        (
            "PC016",
            "'tool-call': invalid JSON Schema: type: 'strng' is not valid under any of the "
            "given schemas",
            None,
        ),
        (
            "PC016",
            "test 'billing': tool-call 'escalte' is not a declared tool",
            "did you mean 'escalate'?",
        ),
    ]


def test_tool_choice_without_tools(lint_text: Linter) -> None:
    (diag,) = lint_text(_with("tool_choice: required\n")).diagnostics
    assert (diag.code, diag.message) == ("PC024", "tool_choice without tools")
