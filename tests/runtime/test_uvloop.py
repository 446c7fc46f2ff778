"""The runtime on uvloop, the event loop uvicorn (FastAPI's server) uses when installed.

Its transports have asyncio.Transport's methods without subclassing it: a check of the
class failed every connection, so every `arun`/`astream`/`aembed` of an application
served by uvicorn errored.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import uvloop

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.runtime import Runtime

from .helpers import prompt, write_bundle


def test_arun_astream_and_aembed_on_uvloop(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    path = tmp_path / "app.bundle.json"
    write_bundle(path, [prompt()], fake_providers(fake_llm, max_retries=0))
    fake_llm.reply(
        lambda logged: "billing" if not logged.body.get("stream") else "a streamed answer"
    )

    async def app(rt: Runtime) -> tuple[str, list[str], int, str]:
        assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
        answers = await asyncio.gather(
            *(rt.arun("support/triage", ticket=f"t{i}") for i in range(8))
        )
        pieces = [c async for c in rt.astream("support/triage", ticket="s") if isinstance(c, str)]
        vectors = await rt.aembed(["a", "b"], model="openai/text-embedding-3-small")
        return answers[0].text, pieces, len(vectors.vectors), type(answers[-1].text).__name__

    with (
        Runtime.load(path, env=fake_env, ledger=False) as rt,
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        text, pieces, n_vectors, kind = runner.run(app(rt))
    assert text == "billing" and kind == "str"
    assert "".join(pieces) == "a streamed answer" and len(pieces) > 1
    assert n_vectors == 2
    assert fake_llm.calls["openai"] == 8 + 1 and fake_llm.calls["openai-embed"] == 1
