"""Deterministic text assertions: pass and fail paths, short and long forms."""

from __future__ import annotations

import random
import subprocess
import sys
from typing import Any

import pytest
from evalcore_builders import ctx, spec

from promptctl.evals.assertions import ASSERTION_TYPES, run_assertion
from promptctl.evals.assertions.text import levenshtein
from promptctl.promptfile.model import AssertionSpec

OUT = "Hello! Your refund of $20 is on its way."


@pytest.mark.parametrize(
    ("type_", "value", "output", "expected"),
    [
        ("equals", "billing", "  billing\n", True),
        ("equals", "billing", "Billing", False),
        ("equals", {"a": 1}, '{"a": 1}', True),
        ("equals", {"a": 1}, '{"a": 2}', False),
        ("equals", 42, "42", True),
        ("contains", "refund", OUT, True),
        ("contains", "Refund", OUT, False),
        ("icontains", "REFUND", OUT, True),
        ("icontains", "invoice", OUT, False),
        ("contains-any", ["invoice", "refund"], OUT, True),
        ("contains-any", "invoice, receipt", OUT, False),
        ("contains-all", ["refund", "$20"], OUT, True),
        ("contains-all", ["vat", "invoice"], OUT, False),
        ("starts-with", "Hello", "  " + OUT, True),
        ("starts-with", "Your", OUT, False),
        ("regex", r"\$\d+", OUT, True),
        ("regex", r"^\d+$", OUT, False),
    ],
)
def test_text_assertions(type_: str, value: Any, output: str, expected: bool) -> None:
    result = run_assertion(spec(type_, value), ctx(output))
    assert result.passed is expected
    assert result.score == (1.0 if expected else 0.0)
    assert result.type == type_
    assert result.reason


def test_reasons_are_human_readable_on_pass_and_fail() -> None:
    assert run_assertion(spec("contains", "refund"), ctx(OUT)).reason == "output contains 'refund'"
    fail = run_assertion(spec("contains", "invoice"), ctx(OUT))
    assert fail.reason == "output does not contain 'invoice'"
    missing = run_assertion(spec("contains-all", ["refund", "invoice", "vat"]), ctx(OUT))
    assert missing.reason == 'output is missing ["invoice", "vat"]'


def test_contains_all_scores_coverage_and_threshold_accepts_partial() -> None:
    items = ["refund", "invoice", "$20", "way"]
    plain = run_assertion(spec("contains-all", items), ctx(OUT))
    assert not plain.passed and plain.score == pytest.approx(0.75)
    thresholded = run_assertion(spec("contains-all", items, threshold=0.7), ctx(OUT))
    assert thresholded.passed and "0.75 >= 0.7" in thresholded.reason
    strict = run_assertion(spec("contains-all", items, threshold=0.8), ctx(OUT))
    assert not strict.passed


def test_negation_flips_pass_score_and_rewrites_reason() -> None:
    result = run_assertion(spec("not-contains", "refund"), ctx(OUT))
    assert result.type == "not-contains"
    assert not result.passed and result.score == 0.0
    assert result.reason == "not-contains: the check passed (output contains 'refund')"
    ok = run_assertion(spec("not-contains", "invoice"), ctx(OUT))
    assert ok.passed and ok.score == 1.0
    partial = run_assertion(spec("not-contains-all", ["refund", "a", "b", "c"]), ctx(OUT))
    assert partial.passed and partial.score == pytest.approx(0.5)


def test_short_form_mapping_value_is_read_as_options() -> None:
    short = AssertionSpec(type="length", value={"max": 5})
    assert not run_assertion(short, ctx("too long")).passed
    assert run_assertion(short, ctx("short")).passed


@pytest.mark.parametrize(
    ("options", "output", "expected"),
    [
        ({"min": 3, "max": 5}, "abcd", True),
        ({"max": 3}, "abcd", False),
        ({"min": 5}, "abcd", False),
        ({"max": 3, "unit": "words"}, "one two three", True),
        ({"min": 4, "unit": "words"}, "one two three", False),
    ],
)
def test_length(options: dict[str, Any], output: str, expected: bool) -> None:
    assert run_assertion(spec("length", **options), ctx(output)).passed is expected


def test_length_reason() -> None:
    r = run_assertion(spec("length", max=3, unit="words"), ctx("a b c d"))
    assert r.reason == "length 4 words is outside [, 3]"


def test_levenshtein_distance_and_assertion() -> None:
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert levenshtein("same", "same") == 0
    ok = run_assertion(spec("levenshtein", "sitting", max=3), ctx("kitten"))
    assert ok.passed and ok.score == pytest.approx(1 - 3 / 7)
    assert not run_assertion(spec("levenshtein", "sitting", max=2), ctx("kitten")).passed
    # default max distance is 5
    assert run_assertion(spec("levenshtein", "abcdefgh"), ctx("abc")).passed
    assert not run_assertion(spec("levenshtein", "abcdefghi"), ctx("abc")).passed


def _table_distance(a: str, b: str) -> int:
    """The textbook edit-distance table: the oracle for the bit-vector algorithm."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def test_levenshtein_matches_the_textbook_table_on_seeded_random_texts() -> None:
    rng = random.Random(20261206)
    for _ in range(2000):
        alphabet = rng.choice(["ab", "abc", "abcdefgh", "é✓ab", "x"])
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 70)))
        b = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 70)))
        assert levenshtein(a, b) == _table_distance(a, b), (a, b)
        assert levenshtein(b, a) == levenshtein(a, b)


def test_levenshtein_of_two_long_answers_does_not_hang() -> None:
    """30,000 x 30,000 characters: ~6 minutes with the table, well under a second now.
    Run in a child with a timeout so the old behaviour is a failure, not a stuck suite."""
    code = (
        "from promptctl.evals.assertions.text import levenshtein;"
        "print(levenshtein('ab' * 15000, 'ba' * 15000))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "2"  # drop the first character, add one at the end


def test_levenshtein_over_its_limit_is_not_checked_negated_or_not() -> None:
    long = "x" * 200_000
    for kind in ("levenshtein", "not-levenshtein"):
        r = run_assertion(spec(kind, long), ctx("y" * 60_000))
        assert not r.passed, kind
        assert r.reason.startswith("not checked: levenshtein: texts of 60,000 and 200,000")


def test_regex_flags_and_invalid_pattern() -> None:
    assert run_assertion(spec("regex", "HELLO", flags="i"), ctx(OUT)).passed
    bad = run_assertion(spec("regex", "(unclosed"), ctx(OUT))
    assert not bad.passed and bad.reason.startswith("invalid assertion: bad regex")
    negated_bad = run_assertion(spec("not-regex", "(unclosed"), ctx(OUT))
    assert not negated_bad.passed  # a broken check proves nothing, negated or not


def test_unknown_type_and_missing_value_fail_clearly() -> None:
    unknown = run_assertion(spec("containz", "x"), ctx(OUT))
    assert not unknown.passed and "unknown assertion type 'containz'" in unknown.reason
    missing = run_assertion(spec("contains"), ctx(OUT))
    assert not missing.passed and missing.reason == "invalid assertion: contains needs a value"
    assert not run_assertion(spec("length"), ctx(OUT)).passed


def test_weight_is_recorded() -> None:
    assert run_assertion(spec("contains", "refund", weight=3), ctx(OUT)).weight == 3.0


def test_every_documented_type_is_registered() -> None:
    documented = {
        "equals", "contains", "icontains", "contains-any", "contains-all", "starts-with",
        "regex", "is-json", "json-schema", "json-path", "length", "levenshtein", "cost",
        "latency", "ttft", "python", "llm-rubric", "tool-call",
    }  # fmt: skip
    assert documented == ASSERTION_TYPES


def test_llm_rubric_through_the_sync_path_says_to_use_evaluate_test() -> None:
    r = run_assertion(spec("llm-rubric", "polite"), ctx(OUT))
    assert not r.passed and "evaluate_test" in r.reason
