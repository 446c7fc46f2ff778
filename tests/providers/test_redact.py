"""The redaction rules: whole keys, their prefixes and suffixes, bytes and JSON data."""

from __future__ import annotations

import json

from promptctl.promptfile.model import ProviderSettings
from promptctl.providers.redact import MARK, MIN_FRAGMENT, Redactor, scrub, secrets_from_env

KEY = "f3c9e1a7b2d84c6e9a0b1c2d3e4f5a6b"


def test_whole_key_prefix_and_suffix_are_removed_but_short_pieces_stay() -> None:
    r = Redactor((KEY,))
    assert r.text(f"a {KEY} b") == f"a {MARK} b"
    assert r.text(f"cut: {KEY[:9]}") == f"cut: {MARK}"  # the tail of a truncated excerpt
    assert r.text(f"{KEY[-12:]} rest") == f"{MARK} rest"  # the head of one
    assert r.text(f"x{KEY[:7]}y") == f"x{KEY[:7]}y"  # 7 characters: not a usable piece
    assert r.text(f"{KEY[:10]}zz{KEY[:10]}") == f"{MARK}zz{MARK}"


def test_bytes_and_json_data() -> None:
    r = Redactor((KEY,))
    assert (
        r.bytes(f'{{"auth": "Bearer {KEY}"}}'.encode()) == f'{{"auth": "Bearer {MARK}"}}'.encode()
    )
    clean = {"a": ["ok", 1]}
    assert r.data(clean) is clean  # nothing to change: the same object
    assert r.data({"a": [f"k={KEY[:20]}"]}) == {"a": [f"k={MARK}"]}


def test_secrets_come_from_the_configured_api_key_envs() -> None:
    providers = [
        ProviderSettings("a", "openai", api_key_env="A_KEY"),
        ProviderSettings("b", "openai", api_key_env="B_KEY"),
        ProviderSettings("c", "openai-compatible"),
    ]
    env = {"A_KEY": "short-but-long-enough-key", "B_KEY": "abc", "OTHER": "x" * 40}
    assert secrets_from_env(providers, env) == ("short-but-long-enough-key",)


def test_scrub_keeps_the_shape_patterns() -> None:
    assert scrub("key sk-abcdefghijkl0123 here") == f"key {MARK} here"
    assert scrub(f"x {KEY[:12]}", (KEY,)) == f"x {MARK}"


def test_data_fast_path_finds_a_secret_anywhere_in_a_document() -> None:
    """`data` first looks for the secrets in the document's JSON; each place a secret
    can hide (deep value, a prefix, a suffix) must still be scrubbed."""
    secret = "sk-live-0123456789abcdef"
    red = Redactor((secret,))
    clean = {"cases": [{"output": "fine", "vars": {"q": "x"}} for _ in range(3)]}
    assert red.data(clean) is clean
    for leaked in (secret, secret[:10] + "…", "…" + secret[-9:]):
        doc = {"cases": [{"output": "fine"}, {"vars": {"q": ["a", f"key {leaked}"]}}]}
        out = red.data(doc)
        assert out is not doc
        assert secret[:MIN_FRAGMENT] not in json.dumps(out)
        assert secret[-MIN_FRAGMENT:] not in json.dumps(out)
        assert out["cases"][0] is doc["cases"][0]  # untouched parts are the same objects


def test_data_with_a_secret_json_would_escape_still_walks() -> None:
    secret = 'pa"ss\\word-123456'
    doc = {"a": [f"x {secret} y"]}
    out = Redactor((secret,)).data(doc)
    assert out == {"a": [f"x {MARK} y"]}


def test_data_json_encodes_a_clean_value_once_and_a_dirty_one_redacted() -> None:
    """`data_json` is `data` plus the JSON written: the check reads that same text."""
    secret = "sk-live-0123456789abcdef"
    red = Redactor((secret,))
    encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
    calls: list[object] = []

    def encode(value: object) -> str:
        calls.append(value)
        return encoder.encode(value)

    clean = {"output": "fine ünïcode", "vars": {"q": ["x", 1]}}
    value, text = red.data_json(clean, encode)
    assert value is clean and text == encoder.encode(clean) and len(calls) == 1
    for leaked in (secret, secret[:10] + "…", "…" + secret[-9:]):
        doc = {"output": "fine", "vars": {"q": ["a", f"key {leaked}"]}}
        value, text = red.data_json(doc, encode)
        assert value == red.data(doc) != doc
        assert text == encoder.encode(value)
        assert secret[:MIN_FRAGMENT] not in text and secret[-MIN_FRAGMENT:] not in text
    escaped = 'pa"ss\\word-123456'  # never verbatim in JSON: always walked
    value, text = Redactor((escaped,)).data_json({"a": f"x {escaped}"}, encoder.encode)
    assert value == {"a": f"x {MARK}"} and text == encoder.encode(value)
    assert Redactor(()).data_json(clean, encoder.encode) == (clean, encoder.encode(clean))
