"""A release carries the previous release's prompts over; removals and signatures."""

from __future__ import annotations

from pathlib import Path

from bundle.helpers import make_prompt
from promptctl.bundle.format import build_bundle, serialize
from promptctl.bundle.release import ReleaseDir, ReleaseHead
from promptctl.bundle.signing import generate_keypair, sign
from promptctl.promptfile.model import DEFAULT_PROVIDERS
from promptctl.publish.carry import carried_entries, carry_refusals


def _head(tmp_path: Path, key: bytes | None = None) -> ReleaseHead:
    doc = build_bundle(
        [make_prompt(), make_prompt("faq", "0.1.0", template="Q {{ q }}")],
        providers=DEFAULT_PROVIDERS,
        eval_summaries={},
        git_commit="c1",
        created_from="test",
        sequence=1,
    )
    if key is not None:
        doc = sign(doc, key)
    releases = ReleaseDir(tmp_path / "releases")
    releases.publish(lambda _head: (doc, serialize(doc)))
    head = releases.head()
    assert head is not None
    return head


def test_entries_not_replaced_or_removed_are_carried_verbatim(tmp_path: Path) -> None:
    head = _head(tmp_path)
    new_triage = make_prompt(version="1.4.0", template="New {{ ticket }}")
    carried = carried_entries(head, [new_triage], remove=())
    assert [e["id"] for e in carried] == ["faq"]
    assert carried[0] == next(e for e in head.bundle.doc["prompts"] if e["id"] == "faq")
    assert carried_entries(head, [], remove=["faq"])[0]["id"] == "support/triage"
    assert carried_entries(None, [new_triage], remove=()) == []


def test_removals_that_make_no_sense_are_refused(tmp_path: Path) -> None:
    head = _head(tmp_path)
    triage = make_prompt()
    reasons = carry_refusals(
        head, [triage], remove=["support/triage", "nope"], signing_key=None, adopt_previous=False
    )
    assert reasons == [
        "support/triage is both published and removed; choose one",
        f"cannot remove nope: it is not in the newest release ({head.path.name})",
    ]


def test_signing_over_another_keys_release_needs_adoption(tmp_path: Path) -> None:
    mine, _ = generate_keypair(tmp_path / "mine")
    theirs, _ = generate_keypair(tmp_path / "theirs")
    head = _head(tmp_path, key=theirs.read_bytes())
    key = mine.read_bytes()
    one = [make_prompt(version="2.0.0", template="v2 {{ ticket }}")]
    refused = carry_refusals(head, one, remove=(), signing_key=key, adopt_previous=False)
    assert len(refused) == 1 and "is signed by another key" in refused[0]
    assert "carry its 1 other prompt(s) over" in refused[0]
    assert carry_refusals(head, one, remove=(), signing_key=key, adopt_previous=True) == []
    # nothing carried over (every prompt replaced or removed): nothing to vouch for
    assert carry_refusals(head, one, remove=["faq"], signing_key=key, adopt_previous=False) == []
    # the same key's release is carried without a word
    own = _head(tmp_path / "own", key=key)
    assert carry_refusals(own, one, remove=(), signing_key=key, adopt_previous=False) == []


def test_a_carried_prompt_whose_provider_was_dropped_is_refused(tmp_path: Path) -> None:
    head = _head(tmp_path)
    only_openai = {"openai": DEFAULT_PROVIDERS["openai"]}
    new_faq = [make_prompt("faq", "0.2.0", template="Q2 {{ q }}")]
    reasons = carry_refusals(
        head, new_faq, remove=(), signing_key=None, adopt_previous=False, providers=only_openai
    )
    assert reasons == [
        f"support/triage@1.3.0 (carried over from {head.path.name}) uses provider "
        "'anthropic', which promptctl.yaml no longer configures; configure it or drop the "
        "prompt with --remove support/triage"
    ]
    assert (
        carry_refusals(
            head,
            new_faq,
            remove=(),
            signing_key=None,
            adopt_previous=False,
            providers=DEFAULT_PROVIDERS,
        )
        == []
    )
