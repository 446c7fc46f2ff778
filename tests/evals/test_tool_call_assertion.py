"""`tool-call` / `not-tool-call` on the calls of one answer (no provider involved)."""

from __future__ import annotations

import pytest
from runner_helpers import a

from promptctl.evals.assertions import AssertionContext, run_assertion
from promptctl.promptfile.chat import ToolCall

CALLS = (
    ToolCall("1", "search", {"q": "refund", "filters": {"lang": "en", "limit": 5}}),
    ToolCall("2", "delete_account", {}, False, "arguments are not JSON: Expecting value"),
)


def _run(type_: str, value: object = None, **options: object) -> tuple[bool, str]:
    result = run_assertion(a(type_, value, **options), AssertionContext("", tool_calls=CALLS))
    return result.passed, result.reason


@pytest.mark.parametrize(
    ("args", "passed"),
    [
        (("search",), True),
        (("delete_account",), False),  # called, but with invalid arguments
        ((None,), True),  # any call
        (("refund",), False),
    ],
)
def test_name_short_form(args: tuple[object], passed: bool) -> None:
    assert _run("tool-call", *args)[0] is passed


def test_arguments_are_a_nested_subset() -> None:
    assert _run("tool-call", name="search", arguments={"filters": {"lang": "en"}})[0]
    ok, reason = _run("tool-call", name="search", arguments={"filters": {"lang": "de"}})
    assert not ok and "lacks" in reason


def test_schema_on_the_arguments() -> None:
    schema = {"type": "object", "required": ["q"], "properties": {"q": {"const": "refund"}}}
    assert _run("tool-call", name="search", schema=schema)[0]
    ok, reason = _run("tool-call", name="search", schema={**schema, "required": ["page"]})
    assert not ok and "'page' is a required property" in reason


def test_invalid_arguments_do_not_count_as_a_call_but_still_count_as_calling() -> None:
    ok, reason = _run("tool-call", "delete_account")
    assert not ok and "arguments are not JSON" in reason
    # a forbidden tool called with broken arguments was still called
    assert _run("not-tool-call", "delete_account")[0] is False
    assert _run("not-tool-call", "send_email")[0] is True


def test_no_calls_at_all() -> None:
    result = run_assertion(a("tool-call"), AssertionContext("just text"))
    assert (result.passed, result.reason) == (False, "the answer calls no tool")
    assert run_assertion(a("not-tool-call"), AssertionContext("just text")).passed


def test_a_malformed_spec_is_invalid_not_a_verdict() -> None:
    ok, reason = _run("tool-call", name="search", arguments=["q"])
    assert not ok and reason.startswith("invalid assertion: tool-call: arguments must be")
    assert _run("not-tool-call", name=3)[0] is False  # negation does not rescue it
