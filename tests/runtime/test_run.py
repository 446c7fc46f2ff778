"""run / arun / render against the fake provider server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from fakes.llm_server import FakeLLM, Logged, fake_providers
from promptctl.errors import ContextError, InputValidationError, ProviderError
from promptctl.ledger.store import Ledger, connect
from promptctl.promptfile.model import OutputSpec, Route, Target
from promptctl.runtime import Runtime

from .helpers import prompt, write_bundle

FAST = {"retry_base_s": 0.001}


@pytest.fixture
def bundle_path(tmp_path: Path, fake_llm: FakeLLM) -> Path:
    path = tmp_path / "app.bundle.json"
    prompts = [
        prompt(
            fallbacks=(Target(use="anthropic/claude-3-5-haiku-latest", params={"max_tokens": 50}),),
            routes=(Route(when="tier == 'enterprise'", use="openai/gpt-4o"),),
            inputs={"ticket": {"type": "string"}, "tier": {"type": "string", "default": "free"}},
        ),
        prompt(
            "extract",
            template="Extract from {{ text }}",
            inputs={"text": {"type": "string", "minLength": 1}},
            output=OutputSpec(
                format="json",
                schema={
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}},
                },
            ),
        ),
        prompt(
            "reply",
            template="Customer {{ customer.name }} ({{ customer_id }}): {{ ticket }}",
            inputs={
                "customer_id": {"type": "string"},
                "ticket": {"type": "string"},
                "customer": {"type": "object", "required": ["name"]},
            },
        ),
    ]
    write_bundle(path, prompts, fake_providers(fake_llm, max_retries=0))
    return path


@pytest.fixture
def rt(bundle_path: Path, fake_env: dict[str, str]) -> Iterator[Runtime]:
    with Runtime.load(bundle_path, env=fake_env, ledger=False, gateway_options=FAST) as runtime:
        yield runtime


def test_render_returns_role_content_dicts(rt: Runtime) -> None:
    assert rt.render("support/triage", ticket="Printer on fire") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Ticket: Printer on fire"},
    ]
    with pytest.raises(InputValidationError, match="missing required input 'ticket'") as info:
        rt.render("support/triage")
    # a runtime error speaks of the runtime: no CLI flag in the hint
    assert info.value.hint == "pass ticket=... or register a resolver for it"


def test_run_answers_with_usage_cost_and_model(rt: Runtime, fake_llm: FakeLLM) -> None:
    fake_llm.reply("It is a hardware problem.")
    result = rt.run("support/triage@1.0.0", ticket="Printer on fire")
    assert result.text == "It is a hardware problem."
    assert (result.usage.input_tokens, result.usage.output_tokens) == (10, 5)
    # gpt-4o-mini: $0.15 / $0.60 per million input / output tokens
    assert result.cost_usd == pytest.approx(10 * 0.15e-6 + 5 * 0.60e-6)
    assert result.model == "openai/gpt-4o-mini"
    assert result.fallbacks_tried == ()
    assert (result.prompt_id, result.prompt_version) == ("support/triage", "1.0.0")
    assert result.prompt_hash == rt.prompt("support/triage").content_hash
    assert result.latency_ms > 0 and result.data is None and result.ok
    body = fake_llm.requests[-1].body
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0
    assert body["messages"][-1] == {"role": "user", "content": "Ticket: Printer on fire"}


def test_fallback_answers_when_primary_fails(rt: Runtime, fake_llm: FakeLLM) -> None:
    fake_llm.error(503, wire="openai")
    fake_llm.reply("from the fallback")
    result = rt.run("support/triage", ticket="t")
    assert result.text == "from the fallback"
    assert result.model == "anthropic/claude-3-5-haiku-latest"
    assert [(s.target, s.reason) for s in result.fallbacks_tried] == [
        ("openai/gpt-4o-mini", "overloaded")
    ]
    # claude-3-5-haiku: $0.80 / $4.00 per million input / output tokens
    assert result.cost_usd == pytest.approx(10 * 0.8e-6 + 5 * 4.0e-6)
    assert fake_llm.requests[-1].body["max_tokens"] == 50  # the fallback's own params


def test_all_targets_failing_raises_provider_error_without_key(
    rt: Runtime, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    fake_llm.auth_error(message=f"bad key {fake_env['OPENAI_API_KEY']}", wire="openai")
    fake_llm.error(500, message=f"echo {fake_env['ANTHROPIC_API_KEY']}", wire="anthropic")
    with pytest.raises(ProviderError) as info:
        rt.run("support/triage", ticket="t")
    text = str(info.value)
    assert "all targets failed" in text
    assert fake_env["OPENAI_API_KEY"] not in text and fake_env["ANTHROPIC_API_KEY"] not in text


def test_routes_pick_the_model(rt: Runtime, fake_llm: FakeLLM) -> None:
    assert rt.run("support/triage", ticket="t", tier="enterprise").model == "openai/gpt-4o"
    assert fake_llm.requests[-1].body["model"] == "gpt-4o"
    assert rt.run("support/triage", ticket="t").model == "openai/gpt-4o-mini"


def test_json_output_parsed_and_validated(rt: Runtime, fake_llm: FakeLLM) -> None:
    fake_llm.reply('```json\n{"name": "Ada"}\n```')
    good = rt.run("extract", text="Ada wrote")
    assert good.data == {"name": "Ada"} and good.ok
    fake_llm.reply('{"nom": "Ada"}')
    bad = rt.run("extract", text="Ada wrote")
    assert bad.data is None and not bad.ok
    assert "'name' is a required property" in str(bad.output_error)
    fake_llm.reply("Sorry, no JSON today")
    assert "not JSON" in str(rt.run("extract", text="x").output_error)
    schema_sent = fake_llm.requests[-1].body["response_format"]
    assert schema_sent["type"] == "json_schema"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ('{"name": NaN}', "NaN is not a JSON number"),
        ('{"name": "Ada", "n": ' + "7" * 5000 + "}", "a number with more than 4,300 digits"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
    ids=["NaN", "5,000 digits", "100,000 deep"],
)
def test_a_json_answer_python_cannot_take_is_an_output_error(
    rt: Runtime, fake_llm: FakeLLM, answer: str, error: str
) -> None:
    """The model's text is untrusted: a deep answer raised RecursionError out of
    `rt.run`, and `NaN` reached `result.data`."""
    fake_llm.reply(answer)
    result = rt.run("extract", text="x")
    assert result.data is None and not result.ok
    assert error in str(result.output_error)


def test_sync_and_async_resolvers_fill_missing_inputs(rt: Runtime, fake_llm: FakeLLM) -> None:
    seen: list[dict[str, Any]] = []

    @rt.resolver("customer")
    def customer(inputs: Any) -> dict[str, str]:
        seen.append(dict(inputs))
        return {"name": "Ada"}

    fake_llm.reply(lambda req: req.body["messages"][-1]["content"])
    assert rt.run("reply", customer_id="c-1", ticket="hi").text == "Customer Ada (c-1): hi"
    assert seen == [{"customer_id": "c-1", "ticket": "hi"}]
    # given inputs win over the resolver
    out = rt.run("reply", customer_id="c-2", ticket="hi", customer={"name": "Bob"})
    assert out.text == "Customer Bob (c-2): hi" and len(seen) == 1

    async def async_customer(inputs: Any) -> dict[str, str]:
        await asyncio.sleep(0)
        return {"name": f"Async {inputs['customer_id']}"}

    rt.resolver("customer", async_customer)
    assert rt.run("reply", customer_id="c-3", ticket="x").text == "Customer Async c-3 (c-3): x"

    async def in_loop() -> Any:
        try:
            return await rt.arun("reply", customer_id="c-4", ticket="y")
        finally:
            await rt.aclose()  # this loop's connections end with it

    got = asyncio.run(in_loop())
    assert got.text == "Customer Async c-4 (c-4): y"


def test_resolved_inputs_are_validated(rt: Runtime) -> None:
    rt.resolver("customer", lambda inputs: "Ada")  # a string, not an object
    with pytest.raises(InputValidationError, match="input 'customer' is invalid"):
        rt.render("reply", customer_id="c", ticket="t")


def test_resolver_exception_on_a_required_input_is_a_context_error(rt: Runtime) -> None:
    class CustomerNotFound(Exception):
        pass

    def missing(inputs: Any) -> Any:
        raise CustomerNotFound(inputs["customer_id"])

    rt.resolver("customer", missing)
    with pytest.raises(ContextError) as info:
        rt.run("reply", customer_id="c-9", ticket="t")
    assert "required input 'customer'" in str(info.value)
    assert "raised CustomerNotFound: c-9" in str(info.value)
    assert isinstance(info.value.__cause__, CustomerNotFound)
    assert info.value.exit_code == 2


def test_concurrent_runs_from_threads(rt: Runtime, fake_llm: FakeLLM) -> None:
    fake_llm.reply(lambda req: req.body["messages"][-1]["content"].upper())
    fake_llm.latency_s = 0.02
    with ThreadPoolExecutor(4) as pool:  # connects stay under the fake's listen backlog (5)
        results = list(pool.map(lambda i: rt.run("support/triage", ticket=f"t{i}"), range(24)))
    assert [r.text for r in results] == [f"TICKET: T{i}" for i in range(24)]


def test_concurrent_runs_with_asyncio_gather(bundle_path: Path, fake_env: dict[str, str]) -> None:
    def echo(req: Logged) -> str:
        return str(req.body["messages"][-1]["content"])

    async def main() -> list[str]:
        async with Runtime.load(bundle_path, env=fake_env, ledger=False) as runtime:
            results = await asyncio.gather(
                *(runtime.arun("support/triage", ticket=f"n{i}") for i in range(20))
            )
        return [r.text for r in results]

    fake = FakeLLM().start()
    try:
        fake.reply(echo)
        fake.latency_s = 0.02
        # max_concurrency keeps connects under the fake's listen backlog (5)
        providers = fake_providers(fake, max_retries=0, max_concurrency=4)
        write_bundle(bundle_path, [prompt()], providers)
        texts = asyncio.run(main())
    finally:
        fake.stop()
    assert texts == [f"Ticket: n{i}" for i in range(20)]


def test_every_call_is_in_the_ledger(
    bundle_path: Path, fake_env: dict[str, str], fake_llm: FakeLLM, tmp_path: Path
) -> None:
    db = tmp_path / "ledger.sqlite"
    fake_llm.error(500, wire="openai")
    with Runtime.load(
        bundle_path, env=fake_env, ledger=db, tags=("checkout",), gateway_options=FAST
    ) as runtime:
        runtime.run("support/triage", ticket="t")
        hash_ = runtime.prompt("support/triage").content_hash
    rows = connect(db, readonly=True).execute(
        "SELECT source, prompt_id, prompt_version, prompt_hash, tags, target, outcome, "
        "error_kind, fallback_from, input_tokens FROM calls ORDER BY id"
    )
    got = [tuple(r) for r in rows]
    tags = json.dumps(["support", "checkout"])
    assert got == [
        ("runtime", "support/triage", "1.0.0", hash_, tags, "openai/gpt-4o-mini", "error",
         "server", None, 0),
        ("runtime", "support/triage", "1.0.0", hash_, tags, "anthropic/claude-3-5-haiku-latest",
         "ok", None, "openai/gpt-4o-mini", 10),
    ]  # fmt: skip


def test_ledger_object_is_not_closed_by_the_runtime(
    bundle_path: Path, fake_env: dict[str, str], tmp_path: Path
) -> None:
    ledger = Ledger(tmp_path / "shared.sqlite")
    with Runtime.load(bundle_path, env=fake_env, ledger=ledger) as runtime:
        runtime.run("support/triage", ticket="t")
    assert ledger.flush()  # still open: the application owns it
    count = connect(tmp_path / "shared.sqlite", readonly=True).execute("SELECT count(*) FROM calls")
    assert count.fetchone()[0] == 1
    ledger.close()


def test_ledger_from_environment_variable(
    bundle_path: Path, fake_env: dict[str, str], tmp_path: Path
) -> None:
    db = tmp_path / "from-env.sqlite"
    with Runtime.load(bundle_path, env={**fake_env, "PROMPTCTL_LEDGER": str(db)}) as runtime:
        runtime.run("support/triage", ticket="t")
    assert db.exists()
    with Runtime.load(bundle_path, env={**fake_env}) as runtime:
        assert runtime.ledger is None


def test_missing_api_keys_are_one_config_error_before_any_call(
    bundle_path: Path, fake_llm: FakeLLM
) -> None:
    with Runtime.load(bundle_path, env={}) as runtime, pytest.raises(ProviderError) as info:
        runtime.run("support/triage", ticket="t")
    assert info.value.kind == "config"
    assert "set OPENAI_API_KEY (openai/gpt-4o-mini) or ANTHROPIC_API_KEY" in str(info.value)
    assert fake_llm.requests == []


def test_fallback_without_key_is_skipped_sync_and_async(
    bundle_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    env = {k: v for k, v in fake_env.items() if k != "ANTHROPIC_API_KEY"}
    with Runtime.load(bundle_path, env=env, ledger=False, gateway_options=FAST) as runtime:
        assert runtime.run("support/triage", ticket="t").text == "hello from fake"
        fake_llm.error(503, wire="openai")
        with pytest.raises(ProviderError) as info:
            asyncio.run(runtime.arun("support/triage", ticket="t"))
    assert info.value.kind == "overloaded"
    assert "ANTHROPIC_API_KEY is not set" in str(info.value)
    assert fake_llm.calls == {"openai": 2}


def test_async_resolver_in_sync_run_called_from_a_running_loop(
    rt: Runtime, fake_llm: FakeLLM
) -> None:
    async def customer(inputs: Any) -> dict[str, str]:
        await asyncio.sleep(0)
        return {"name": "Loop"}

    rt.resolver("customer", customer)
    fake_llm.reply(lambda req: req.body["messages"][-1]["content"])

    async def main() -> str:
        return rt.run("reply", customer_id="c", ticket="t").text  # blocking call, on purpose

    assert asyncio.run(main()) == "Customer Loop (c): t"
