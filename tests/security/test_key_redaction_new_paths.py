"""Keys never reach a message through the streaming, embeddings and Responses paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.runtime import Runtime
from runtime.helpers import prompt, write_bundle

KEY = "f3c9e1a7b2d84c6e9a0b1c2d3e4f5a6b7c8d"


def _fragments(key: str, size: int = 8) -> set[str]:
    return {key[i : i + size] for i in range(len(key) - size + 1)}


def _leaks(text: str) -> list[str]:
    return sorted(f for f in _fragments(KEY) if f in text)


def _runtime(tmp_path: Path, fake: FakeLLM, use: str) -> Runtime:
    bundle = tmp_path / "app.bundle.json"
    write_bundle(bundle, [prompt(use=use)], fake_providers(fake, max_retries=0))
    env = {"OPENAI_API_KEY": KEY, "GEMINI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY}
    return Runtime.load(bundle, env=env, ledger=False)


def _everything(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), repr(getattr(exc, "__dict__", {}))]
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        parts.append(_everything(cause))
    return "\n".join(parts)


@pytest.mark.parametrize("wire", ["openai", "gemini", "anthropic", "responses"])
def test_a_stream_error_body_echoing_the_key_is_redacted(
    tmp_path: Path, fake_llm: FakeLLM, wire: str
) -> None:
    use = {"openai": "openai/gpt-4o-mini", "gemini": "gemini/gemini-2.0-flash",
           "anthropic": "anthropic/claude-3-5-haiku-latest",
           "responses": "responses/gpt-4o-mini"}[wire]  # fmt: skip
    fake_llm.error(401, message=f"Incorrect API key provided: {KEY}")
    with _runtime(tmp_path, fake_llm, use) as rt, pytest.raises(Exception) as info:
        list(rt.stream("support/triage", ticket="x"))
    assert _leaks(_everything(info.value)) == [], _everything(info.value)


@pytest.mark.parametrize("model", ["openai/text-embedding-3-small", "gemini/text-embedding-004"])
def test_an_embeddings_error_echoing_the_key_is_redacted(
    tmp_path: Path, fake_llm: FakeLLM, model: str
) -> None:
    fake_llm.error(401, message=f"Incorrect API key provided: {KEY}")
    # a bundle carries the providers its prompts use: one of the embedding's provider
    chat = {"openai": "openai/gpt-4o-mini", "gemini": "gemini/gemini-2.0-flash"}
    with (
        _runtime(tmp_path, fake_llm, chat[model.split("/")[0]]) as rt,
        pytest.raises(Exception) as info,
    ):
        rt.embed(["a", "b"], model=model)
    assert "Incorrect API key provided" in str(info.value)  # the fake's echo, redacted
    assert _leaks(_everything(info.value)) == [], _everything(info.value)


def test_a_streamed_answer_echoing_the_key_across_deltas_is_not_stored(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    fake_llm.reply(f"the key is {KEY} ok")
    with _runtime(tmp_path, fake_llm, "openai/gpt-4o-mini") as rt:
        items = list(rt.stream("support/triage", ticket="x"))
    result = items[-1]
    assert _leaks(repr(result)) == [], repr(result)


def test_a_streamed_echo_of_the_key_reaches_no_artifact(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`promptctl test --stream --mode record` against a server echoing the request's
    headers in small deltas: recordings, cache, ledger, results and JUnit stay clean."""
    from fakes.cli import run

    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0, timeout_s: 5}\n"
    )
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "qa.yaml").write_text(
        "version: 1.0.0\nmodel: {use: openai/gpt-4o-mini}\nmessages:\n  - user: hi\n"
        "tests:\n  - name: t\n    assert: [{type: contains, value: hello}]\n"
    )
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    fake_llm.echo_headers()
    args = ["test", "--stream", "--mode", "record", "--output", "r.json", "--junit", "j.xml"]
    code, out, err = run(args, monkeypatch, capsys)
    assert code == 1, out + err
    assert fake_llm.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert _leaks(out + err) == []
    leaking = {
        str(p.relative_to(tmp_path)): _leaks(p.read_bytes().decode("utf-8", "replace"))
        for p in tmp_path.rglob("*")
        if p.is_file()
    }
    assert {k: v for k, v in leaking.items() if v} == {}
    assert list((tmp_path / "evals" / "recordings").rglob("*.json"))
