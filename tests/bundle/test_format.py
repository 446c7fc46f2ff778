import json
from pathlib import Path

import pytest

from bundle.helpers import make_prompt, summary_row
from promptctl.bundle.format import (
    build_bundle,
    bundle_prompt_to_prompt,
    compute_digest,
    serialize,
)
from promptctl.errors import BundleError
from promptctl.promptfile.model import DEFAULT_PROVIDERS, ProviderSettings


def _build(prompts=None, **kw):  # type: ignore[no-untyped-def]
    prompts = prompts or [make_prompt(), make_prompt("faq/answer", "0.2.0")]
    summaries = {p.content_hash: [summary_row(p)] for p in prompts}
    return build_bundle(
        prompts,
        providers=kw.pop("providers", DEFAULT_PROVIDERS),
        eval_summaries=summaries,
        git_commit="abc123",
        created_from="git:abc123",
        root=Path("/repo"),
        **kw,
    )


def test_two_builds_give_identical_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    a = serialize(_build())
    b = serialize(_build(list(reversed([make_prompt(), make_prompt("faq/answer", "0.2.0")]))))
    assert a == b
    assert a.endswith(b"}\n")
    assert b"created_at" not in a


def test_source_date_epoch_is_the_only_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    doc = _build()
    assert doc["manifest"]["created_at"] == "2023-11-14T22:13:20Z"
    assert serialize(doc) == serialize(_build())


@pytest.mark.parametrize("epoch", ["soon", "99999999999999999999", "9" * 5000])
def test_a_source_date_epoch_that_is_no_time_is_a_bundle_error(
    epoch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past year 9999 it was an OverflowError traceback from publish."""
    from promptctl.errors import BundleError

    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    with pytest.raises(BundleError, match="is not a time in seconds since 1970"):
        _build()


def test_entry_holds_identity_messages_model_and_provenance() -> None:
    doc = _build()
    entry = next(e for e in doc["prompts"] if e["id"] == "support/triage")
    assert entry["identity"] == f"support/triage@1.3.0+{entry['content_hash']}"
    assert entry["identity"].count("sha256:") == 1
    assert entry["source"] == "prompts/support/triage.yaml"
    assert entry["messages"][1] == {"role": None, "template": None, "history_var": "history"}
    assert entry["model"]["fallbacks"][0]["use"] == "anthropic/claude-3-5-haiku-latest"
    assert entry["model"]["routes"] == [
        {"when": "customer_tier == 'enterprise'", "use": "openai/gpt-4o"}
    ]
    prov = entry["provenance"]
    assert prov["approver"] == "support-team"
    assert prov["git_commit"] == "abc123"
    assert prov["evals"][0]["pass_rate"] == 1.0
    assert prov["evals"][0]["latency_p95_ms"] == 800.0


def test_approver_from_codeowners_overrides_owner() -> None:
    doc = _build(approvers={"support/triage": "@acme/support-leads"})
    entry = next(e for e in doc["prompts"] if e["id"] == "support/triage")
    assert entry["provenance"]["approver"] == "@acme/support-leads"


def test_only_used_providers_are_carried_without_keys() -> None:
    doc = _build()
    assert sorted(doc["providers"]) == ["anthropic", "openai"]
    assert doc["providers"]["openai"]["api_key_env"] == "OPENAI_API_KEY"
    assert "api_key" not in doc["providers"]["openai"]


def test_credential_header_is_refused() -> None:
    providers = dict(DEFAULT_PROVIDERS)
    providers["openai"] = ProviderSettings(
        "openai", "openai", headers={"Authorization": "Bearer sk-123"}
    )
    with pytest.raises(BundleError, match="Authorization looks like a credential"):
        _build(providers=providers)


def test_unconfigured_provider_is_refused() -> None:
    providers = {"openai": DEFAULT_PROVIDERS["openai"]}
    with pytest.raises(BundleError, match="'anthropic'"):
        _build(providers=providers)


def test_digest_covers_content_but_not_itself() -> None:
    doc = _build()
    assert doc["manifest"]["digest"] == compute_digest(doc)
    doc["prompts"][0]["messages"][0]["template"] += "!"
    assert doc["manifest"]["digest"] != compute_digest(doc)


def test_roundtrip_to_prompt_dataclass() -> None:
    original = make_prompt()
    doc = json.loads(serialize(_build([original])))
    back = bundle_prompt_to_prompt(doc["prompts"][0])
    assert back.id == original.id and back.version == original.version
    assert back.messages == original.messages
    assert back.model.fallbacks[0].use == original.model.fallbacks[0].use
    assert back.model.routes == original.model.routes
    assert back.output.schema == original.output.schema
    assert back.required_inputs() == ["ticket"]
    assert back.content_hash == original.content_hash


def test_duplicate_prompt_id_is_refused() -> None:
    with pytest.raises(BundleError, match="appears twice"):
        _build([make_prompt(), make_prompt(version="1.4.0")])


def test_providers_roundtrip_to_settings() -> None:
    from promptctl.bundle.format import bundle_providers

    doc = json.loads(serialize(_build()))
    settings = bundle_providers(doc)
    assert settings["anthropic"] == DEFAULT_PROVIDERS["anthropic"]
    assert settings["openai"] == DEFAULT_PROVIDERS["openai"]


def test_same_prompts_and_sequence_give_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    triage, faq = make_prompt(), make_prompt("faq/answer", "0.2.0")
    a = _build([triage, faq], sequence=3)
    b = _build([faq, triage], sequence=3)
    assert serialize(a) == serialize(b) and a["manifest"]["sequence"] == 3
    assert serialize(_build([triage, faq], sequence=4)) != serialize(a)
    # a carried entry is kept verbatim and sorted in with the new ones
    carried = _build([triage, faq], sequence=3)["prompts"][0]  # faq/answer's entry
    c = _build([triage], sequence=3, carried=[carried])
    assert serialize(c) == serialize(a)
    # sequence 0 (outside a release directory) writes no field: earlier bytes unchanged
    assert "sequence" not in _build([triage, faq])["manifest"]
    with pytest.raises(BundleError, match="appears twice"):
        _build([triage, faq], sequence=3, carried=[carried])
    with pytest.raises(BundleError, match="not a count"):
        _build([triage], sequence=-1)
