from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from promptctl.errors import InputValidationError, RenderError
from promptctl.promptfile.chat import ChatMessage
from promptctl.promptfile.model import MessageTemplate, ModelConfig, Prompt, Target
from promptctl.render import (
    content_hash,
    inline_partials,
    render_messages,
    render_template,
    validate_inputs,
)


def make(*messages: MessageTemplate, inputs: dict[str, Any] | None = None) -> Prompt:
    return Prompt(
        id="t",
        version="1.0.0",
        path=Path("t.yaml"),
        model=ModelConfig(use="openai/gpt-4o-mini"),
        messages=messages,
        inputs=inputs or {},
    )


def user(text: str) -> MessageTemplate:
    return MessageTemplate(role="user", template=text)


def test_renders_roles_and_applies_defaults() -> None:
    prompt = make(
        MessageTemplate(role="system", template="Tier: {{ tier }}\n"),
        user("{{ q }}"),
        inputs={"q": {"type": "string"}, "tier": {"type": "string", "default": "free"}},
    )
    assert render_messages(prompt, {"q": "hi"}) == [
        ChatMessage("system", "Tier: free"),
        ChatMessage("user", "hi"),
    ]


def test_history_is_spliced_between_messages() -> None:
    prompt = make(
        MessageTemplate(role="system", template="sys"),
        MessageTemplate(role=None, history_var="history"),
        user("{{ q }}"),
        inputs={"q": {"type": "string"}, "history": {"type": "array", "default": []}},
    )
    history = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    out = render_messages(prompt, {"q": "c", "history": history})
    assert [(m.role, m.content) for m in out] == [
        ("system", "sys"),
        ("user", "a"),
        ("assistant", "b"),
        ("user", "c"),
    ]
    assert len(render_messages(prompt, {"q": "c"})) == 2


def test_malformed_history_entry_is_named() -> None:
    prompt = make(MessageTemplate(role=None, history_var="h"), inputs={"h": {"type": "array"}})
    with pytest.raises(InputValidationError, match=r"input 'h'\[0\] must be"):
        render_messages(prompt, {"h": [{"role": "robot", "content": "x"}]})


def test_fallback_target_messages_replace_the_prompts() -> None:
    prompt = make(user("main {{ q }}"), inputs={"q": {"type": "string"}})
    target = Target(use="anthropic/x", messages=(user("alt {{ q }}"),))
    assert render_messages(prompt, {"q": "1"}, target=target)[0].content == "alt 1"
    assert render_messages(prompt, {"q": "1"}, target=Target(use="a/b"))[0].content == "main 1"


def test_missing_input_is_named() -> None:
    prompt = make(user("{{ q }}"), inputs={"q": {"type": "string"}})
    with pytest.raises(InputValidationError, match="missing required input 'q'"):
        render_messages(prompt, {})


def test_wrong_type_is_named() -> None:
    prompt = make(user("{{ n }}"), inputs={"n": {"type": "integer"}})
    with pytest.raises(InputValidationError, match="input 'n' is invalid: 'x' is not of type"):
        validate_inputs(prompt, {"n": "x"})


def test_missing_key_inside_an_object_input_names_the_path() -> None:
    customer = {
        "type": "object",
        "required": ["name"],
        "properties": {"address": {"type": "object", "required": ["city"]}},
    }
    prompt = make(user("{{ customer }}"), inputs={"customer": customer})
    with pytest.raises(InputValidationError) as exc:
        validate_inputs(prompt, {"customer": {"address": {}}})
    assert exc.value.message.endswith("input 'customer': missing required key 'name'")
    with pytest.raises(InputValidationError) as exc:
        validate_inputs(prompt, {"customer": {"name": "Ada", "address": {}}})
    assert exc.value.message.endswith("input 'customer' at address: missing required key 'city'")


def test_missing_top_level_input_is_reported_before_nested_problems() -> None:
    inputs = {"a": {"type": "object", "required": ["k"]}, "b": {"type": "string"}}
    prompt = make(user("{{ a }}{{ b }}"), inputs=inputs)
    with pytest.raises(InputValidationError, match="missing required input 'b'"):
        validate_inputs(prompt, {"a": {}})


def test_unknown_input_suggests_declared_one() -> None:
    prompt = make(user("{{ ticket }}"), inputs={"ticket": {"type": "string"}})
    with pytest.raises(InputValidationError) as exc:
        validate_inputs(prompt, {"ticket": "a", "tiket": "b"})
    assert exc.value.hint == "did you mean 'ticket'?"


def test_defaults_are_copied_not_shared() -> None:
    prompt = make(user("x"), inputs={"h": {"type": "array", "default": []}})
    first = validate_inputs(prompt, {})
    first["h"].append(1)
    assert validate_inputs(prompt, {})["h"] == []


def test_sandbox_refuses_python_internals() -> None:
    prompt = make(user("{{ ''.__class__.__mro__ }}"))
    with pytest.raises(RenderError, match="sandbox refused") as exc:
        render_messages(prompt, {})
    assert "__class__" in exc.value.message


def test_sandbox_refuses_format_string_escape() -> None:
    prompt = make(user("{{ '{0.__class__}'.format(x) }}"), inputs={"x": {}})
    with pytest.raises(RenderError, match="sandbox refused"):
        render_messages(prompt, {"x": 1})


def test_undefined_variable_is_an_error_not_empty() -> None:
    prompt = make(user("{{ nope }}"))
    with pytest.raises(RenderError, match="undefined variable"):
        render_messages(prompt, {})


def test_include_traversal_is_refused() -> None:
    prompt = make(user('{% include "../../etc/passwd" %}'))
    with pytest.raises(RenderError, match="leaves the partials folder"):
        render_messages(prompt, {}, partials={"a.j2": "x"})


def test_absolute_include_is_refused() -> None:
    prompt = make(user('{% include "/etc/passwd" %}'))
    with pytest.raises(RenderError, match="leaves the partials folder"):
        render_messages(prompt, {}, partials={})


def test_include_cycle_is_reported() -> None:
    prompt = make(user('{% include "a.j2" %}'))
    partials = {"a.j2": '{% include "b.j2" %}', "b.j2": '{% include "a.j2" %}'}
    with pytest.raises(RenderError, match=r"include cycle: a.j2 -> b.j2 -> a.j2"):
        render_messages(prompt, {}, partials=partials)


def test_self_include_cycle_via_inline() -> None:
    with pytest.raises(RenderError, match=r"include cycle: a\.j2 -> a\.j2"):
        inline_partials('{% include "a.j2" %}', {"a.j2": '{% include "a.j2" %}'})


def test_inline_partials_matches_loader_rendering() -> None:
    partials = {"tone.j2": "Be kind.\n", "rules/r.j2": 'Rule {{ n }}. {% include "tone.j2" %}\n'}
    template = 'A {%- include "rules/r.j2" %} B\n{% include "tone.j2" -%}\n  end'
    prompt = make(user(template), inputs={"n": {"type": "integer"}})
    via_loader = render_messages(prompt, {"n": 1}, partials=partials)
    inlined = make(user(inline_partials(template, partials)), inputs={"n": {"type": "integer"}})
    assert render_messages(inlined, {"n": 1}) == via_loader
    assert via_loader[0].content == "ARule 1. Be kind. B\nBe kind.end"


def test_inline_refuses_dynamic_include() -> None:
    with pytest.raises(RenderError, match="only static includes"):
        inline_partials("{% include name %}", {})


def test_inline_is_idempotent_so_hashes_agree() -> None:
    partials = {"p.j2": "P\n"}
    prompt = make(user('{% include "p.j2" %} x'))
    inlined = make(user(inline_partials('{% include "p.j2" %} x', partials)))
    assert content_hash(prompt, partials) == content_hash(inlined)


def test_template_syntax_error_is_render_error() -> None:
    with pytest.raises(RenderError, match="template syntax error"):
        render_messages(make(user("{% if %}")), {})


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("{{ q|truncate(-1) }}", "AssertionError: expected length >= 3, got -1"),
        ("{{ 1/0 }}", "ZeroDivisionError"),
        ("{{ q|wordwrap(0) }}", "ValueError"),
        ("{{ q|dictsort }}", "AttributeError"),
        ("{{ q|xmlattr }}", "AttributeError"),
    ],
)
def test_a_filter_or_operation_that_fails_is_a_render_error(template: str, error: str) -> None:
    """Jinja's `truncate` checks its length with `assert`, `dictsort` of a string is an
    AttributeError: both ended `promptctl lint` in a traceback (found by fuzzing
    templates)."""
    with pytest.raises(RenderError) as caught:
        render_template(template, {"q": "hello"})
    assert caught.value.message.startswith(f"template failed: {error}")


def test_a_yaml_date_given_to_a_string_input_says_to_quote_it() -> None:
    import datetime

    p = make(user("{{ day }}"), inputs={"day": {"type": "string"}})
    with pytest.raises(InputValidationError) as caught:
        validate_inputs(p, {"day": datetime.date(2024, 1, 2)})
    assert "is not of type 'string'" in caught.value.message
    hint = "YAML reads an unquoted 2024-01-02 as a date: quote it, '2024-01-02'"
    assert caught.value.hint == hint


def test_render_is_fast_when_cached() -> None:
    prompt = make(
        MessageTemplate(role="system", template="You classify tickets for {{ company }}."),
        user("Ticket: {{ ticket }}"),
        inputs={"ticket": {"type": "string"}, "company": {"type": "string", "default": "Acme"}},
    )
    render_messages(prompt, {"ticket": "warm"})
    samples = []
    for _ in range(200):
        start = time.perf_counter()
        render_messages(prompt, {"ticket": "I was charged twice"})
        samples.append(time.perf_counter() - start)
    assert statistics.median(samples) < 0.0005  # generous bound; bench target is 50 µs


def test_render_imports_no_cli_dependency() -> None:
    code = (
        "import sys, promptctl.render\n"
        "print(','.join(m for m in ('typer', 'rich', 'git', 'deepdiff') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_choose_target_first_true_route_wins() -> None:
    from promptctl.plan.routing import choose_target
    from promptctl.promptfile.model import Route

    prompt = Prompt(
        id="t",
        version="1.0.0",
        path=Path("t.yaml"),
        model=ModelConfig(
            use="openai/gpt-4o-mini",
            params={"temperature": 0},
            routes=(
                Route(when="tier == 'enterprise'", use="openai/gpt-4o"),
                Route(when="ticket | length > 10", use="anthropic/claude-sonnet-4-5"),
            ),
        ),
        messages=(user("x"),),
    )
    assert choose_target(prompt.model, {"tier": "enterprise", "ticket": "a"}).use == "openai/gpt-4o"
    long_ticket = choose_target(prompt.model, {"tier": "free", "ticket": "a" * 20})
    assert long_ticket.use == "anthropic/claude-sonnet-4-5"
    assert long_ticket.params == {"temperature": 0}
    assert choose_target(prompt.model, {"tier": "free", "ticket": "a"}).use == "openai/gpt-4o-mini"
    with pytest.raises(RenderError, match="route `when` failed"):
        choose_target(prompt.model, {"ticket": "a"})  # `tier` undefined under StrictUndefined


@pytest.mark.parametrize(
    "source",
    [
        "Answer in one word.",
        "two lines\nand a trailing newline\n",
        "two trailing newlines\n\n",
        "windows\r\nline ends\r\n",
        "a lone { brace } and }} and %} are text",
        "{{ question }}",
        "{{question}}",
        "{{  question  }}\n",
        "{{ true }}",
        "{{ None }}",
        "{{ number }}",
        "{{ nested }}",
        "{{ range }}",
        "{{- question }}",
        "{# a comment #}text",
        "{% if question %}yes{% endif %}",
        "",
        "\n",
    ],
)
def test_messages_rendered_without_jinja_are_what_jinja_renders(source: str) -> None:
    """`render_template` answers plain text and `{{ name }}` itself: the same text."""
    from promptctl.render import _without_jinja, environment

    variables = {"question": "What is 2+2?\n", "number": 4, "nested": {"a": [1]}}
    jinja = environment().from_string(source).render(variables)
    assert render_template(source, variables) == jinja
    shortcut = _without_jinja(source, variables)
    assert shortcut is None or shortcut == jinja


def test_the_shortcut_leaves_undefined_inputs_and_limits_to_jinja() -> None:
    with pytest.raises(RenderError, match="undefined"):
        render_template("{{ missing }}", {})
    from promptctl.promptfile.sandbox_limits import MAX_OUTPUT_CHARS

    with pytest.raises(RenderError, match="over the limit"):
        render_template("{{ big }}", {"big": "x" * (MAX_OUTPUT_CHARS + 1)})
