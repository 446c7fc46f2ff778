from __future__ import annotations

import pytest
from evalcore_builders import make_prompt

from promptctl.errors import UsageError
from promptctl.evals.cases import (
    expand_cases,
    fallback_targets,
    parse_shard,
    shard,
    targets_for,
)
from promptctl.promptfile.model import Target, TestCase


def test_default_target_is_model_use_and_key_format() -> None:
    cases = expand_cases([make_prompt(tests=(TestCase("a"), TestCase("b")))])
    assert [c.key for c in cases] == [
        "support/triage::openai/gpt-4o-mini::a::0",
        "support/triage::openai/gpt-4o-mini::b::0",
    ]


def test_target_overrides_form_a_matrix_and_inherit_params() -> None:
    p = make_prompt(params={"temperature": 0}, tests=(TestCase("a"),))
    cases = expand_cases([p], targets=["anthropic/claude", "gemini/flash", "anthropic/claude"])
    assert [c.target.use for c in cases] == ["anthropic/claude", "gemini/flash"]
    assert all(c.target.params == {"temperature": 0} for c in cases)


def test_repeat_per_test_and_global_override() -> None:
    p = make_prompt(tests=(TestCase("a", repeat=3), TestCase("b")))
    assert [(c.test.name, c.repeat) for c in expand_cases([p])] == [
        ("a", 0),
        ("a", 1),
        ("a", 2),
        ("b", 0),
    ]
    assert len(expand_cases([p], repeat=2)) == 4
    with pytest.raises(UsageError):
        expand_cases([p], repeat=0)


def test_filters_by_id_glob_path_tag_and_test_glob() -> None:
    a = make_prompt(
        "support/triage", tags=("support",), tests=(TestCase("refund"), TestCase("bug"))
    )
    b = make_prompt("sales/pitch", tags=("sales",))
    assert {c.prompt.id for c in expand_cases([a, b], id_globs=["support/*"])} == {"support/triage"}
    assert {c.prompt.id for c in expand_cases([a, b], id_globs=["prompts/sales/*"])} == {
        "sales/pitch"
    }
    assert {c.prompt.id for c in expand_cases([a, b], tags=["sales"])} == {"sales/pitch"}
    assert [c.test.name for c in expand_cases([a, b], test_glob="ref*")] == ["refund"]


def test_fallbacks_with_overrides_count_as_targets() -> None:
    p = make_prompt(
        params={"temperature": 0, "max_tokens": 100},
        fallbacks=(Target("anthropic/plain"), Target("gemini/tuned", params={"max_tokens": 50})),
    )
    fbs = fallback_targets(p)
    assert [t.use for t in fbs] == ["gemini/tuned"]
    assert fbs[0].params == {"temperature": 0, "max_tokens": 50}
    uses = [c.target.use for c in expand_cases([p], include_fallbacks=True)]
    assert uses == ["openai/gpt-4o-mini", "gemini/tuned"]
    assert [t.use for t in targets_for(p)] == ["openai/gpt-4o-mini"]


def _many(n: int) -> list[TestCase]:
    return [TestCase(f"t{i}") for i in range(n)]


def test_shards_are_disjoint_cover_everything_and_are_stable() -> None:
    tests = _many(60)
    cases = expand_cases([make_prompt(tests=tuple(tests))])
    parts = [shard(cases, i, 4) for i in range(1, 5)]
    keys = [c.key for part in parts for c in part]
    assert sorted(keys) == sorted(c.key for c in cases)
    assert len(keys) == len(set(keys))
    assert all(part for part in parts)  # 60 cases over 4 shards: none empty
    before = {c.key: i for i, part in enumerate(parts) for c in part}
    grown = expand_cases([make_prompt(tests=(TestCase("new-one"), *tests, TestCase("z")))])
    after = {c.key: i for i in range(4) for c in shard(grown, i + 1, 4)}
    assert all(after[k] == v for k, v in before.items())


@pytest.mark.parametrize("bad", [(0, 3), (4, 3), (1, 0)])
def test_shard_index_is_validated(bad: tuple[int, int]) -> None:
    with pytest.raises(UsageError):
        shard([], *bad)


def test_parse_shard() -> None:
    assert parse_shard("2/4") == (2, 4)
    for text in ("2", "a/b", "0/4", "5/4", "2/"):
        with pytest.raises(UsageError):
            parse_shard(text)


def test_path_globs_match_a_tail_of_an_absolute_path() -> None:
    from dataclasses import replace
    from pathlib import Path

    p = replace(make_prompt("support/triage"), path=Path("/repo/prompts/support/triage.yaml"))
    assert expand_cases([p], id_globs=["prompts/support/*.yaml"])
    assert expand_cases([p], id_globs=["./prompts/support/triage.yaml"])
    assert not expand_cases([p], id_globs=["prompts/sales/*"])
