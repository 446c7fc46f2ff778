"""Loading, verification, pins, provider overrides, reload and the mtime watch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.errors import BundleError, UsageError
from promptctl.promptfile.model import ProviderSettings
from promptctl.runtime import Runtime

from .helpers import prompt, write_bundle


@pytest.fixture
def providers(fake_llm: FakeLLM) -> dict[str, ProviderSettings]:
    return fake_providers(fake_llm)


def test_signed_bundle_loads_verified(
    tmp_path: Path, providers: dict[str, ProviderSettings], keypair: tuple[bytes, Path]
) -> None:
    path = tmp_path / "b.bundle.json"
    write_bundle(path, [prompt()], providers, private_key=keypair[0])
    with Runtime.load(path, public_key=keypair[1]) as rt:
        assert rt.bundle.verified and rt.bundle.signed
        assert set(rt.bundle.prompts) == {"support/triage"}
    with Runtime.load(path, public_key=keypair[1].read_bytes()) as rt:  # PEM bytes work too
        assert rt.bundle.verified
    with Runtime.load(path, public_key=keypair[1].read_text()) as rt:  # and PEM text
        assert rt.bundle.verified


def test_unsigned_bundle_without_key_loads_flagged(
    tmp_path: Path, providers: dict[str, ProviderSettings]
) -> None:
    path = tmp_path / "b.bundle.json"
    write_bundle(path, [prompt()], providers)
    with Runtime.load(path) as rt:
        assert not rt.bundle.signed and not rt.bundle.verified


def test_unsigned_bundle_refused_when_key_given(
    tmp_path: Path, providers: dict[str, ProviderSettings], keypair: tuple[bytes, Path]
) -> None:
    path = tmp_path / "b.bundle.json"
    write_bundle(path, [prompt()], providers)
    with pytest.raises(BundleError, match="unsigned but a public key was given"):
        Runtime.load(path, public_key=keypair[1])


def test_wrong_key_refused(
    tmp_path: Path,
    providers: dict[str, ProviderSettings],
    keypair: tuple[bytes, Path],
    other_keypair: tuple[bytes, Path],
) -> None:
    path = tmp_path / "b.bundle.json"
    write_bundle(path, [prompt()], providers, private_key=keypair[0])
    with pytest.raises(BundleError, match="does not verify"):
        Runtime.load(path, public_key=other_keypair[1])


def test_tampered_bundle_refused(
    tmp_path: Path, providers: dict[str, ProviderSettings], keypair: tuple[bytes, Path]
) -> None:
    path = tmp_path / "b.bundle.json"
    data = write_bundle(path, [prompt()], providers, private_key=keypair[0])
    path.write_bytes(data.replace(b"Be brief.", b"Be rude. "))
    with pytest.raises(BundleError, match="digest mismatch") as info:
        Runtime.load(path, public_key=keypair[1])
    assert str(path) in str(info.value)


def test_truncated_bundle_refused(tmp_path: Path, providers: dict[str, ProviderSettings]) -> None:
    path = tmp_path / "b.bundle.json"
    data = write_bundle(path, [prompt()], providers)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="truncated"):
        Runtime.load(path)


def test_missing_file_is_a_bundle_error(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="cannot read bundle"):
        Runtime.load(tmp_path / "nope.bundle.json")


def test_pin_must_match_the_bundle(tmp_path: Path, providers: dict[str, ProviderSettings]) -> None:
    path = tmp_path / "b.bundle.json"
    write_bundle(path, [prompt(version="1.2.0")], providers)
    with Runtime.load(path) as rt:
        with pytest.raises(TypeError, match="named by its id, a str; got NoneType"):
            rt.run(None)  # type: ignore[arg-type]
        assert rt.prompt("support/triage@1.2.0").version == "1.2.0"
        with pytest.raises(BundleError, match=r"support/triage@1\.1\.0 is pinned.*1\.2\.0"):
            rt.prompt("support/triage@1.1.0")
        with pytest.raises(BundleError, match="'faq' is not in bundle"):
            rt.render("faq")


def test_an_id_the_bundle_lacks_names_the_closest_and_lists_ten(
    tmp_path: Path, providers: dict[str, ProviderSettings]
) -> None:
    path = tmp_path / "b.bundle.json"
    ids = [f"team/p{i:02d}" for i in range(11)] + ["support/triage"]
    write_bundle(path, [prompt(prompt_id=i) for i in ids], providers)
    with Runtime.load(path) as rt:
        with pytest.raises(BundleError) as info:
            rt.prompt("support/traige")
        hint = info.value.hint or ""
        assert hint.startswith("did you mean 'support/triage'? it holds: support/triage, ")
        assert hint.endswith("team/p08 and 2 more")  # the first ten, sorted
        with pytest.raises(BundleError) as info:
            Runtime.load(path, targets={"zzz": "openai/gpt-4o"})
        assert (info.value.hint or "").startswith("it holds: support/triage, team/p00")


def test_provider_overrides(tmp_path: Path, providers: dict[str, ProviderSettings]) -> None:
    path = tmp_path / "b.bundle.json"
    write_bundle(path, [prompt()], providers)
    override = {"openai": {"base_url": "http://proxy.internal/v1", "max_retries": 0}}
    with Runtime.load(path, providers=override) as rt:
        openai = rt.bundle.providers["openai"]
        assert (openai.base_url, openai.max_retries) == ("http://proxy.internal/v1", 0)
        assert openai.api_key_env == "OPENAI_API_KEY"  # untouched keys stay the bundle's
    with pytest.raises(BundleError, match="unknown setting"):
        Runtime.load(path, providers={"openai": {"base_uri": "x"}})
    with pytest.raises(BundleError, match="no such provider"):
        Runtime.load(path, providers={"nobody": {"base_url": "x"}})


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"base_url": 5}, "base_url: 5 is not of type 'string'"),
        ({"max_retries": -1}, "max_retries: -1 is less than the minimum of 0"),
        ({"timeout_s": True}, "timeout_s: True is not of type 'number'"),
        ({"headers": {"X-Team": 7}}, "headers.X-Team: 7 is not of type 'string'"),
        ({"kind": "grpc"}, "kind: 'grpc' is not one of"),
        # a blocking call's socket refused it ("Timeout value out of range") at first use
        ({"timeout_s": 1e30}, "timeout_s: 1e+30 is greater than the maximum of 86400"),
    ],
)
def test_a_provider_override_of_the_wrong_type_is_a_bundle_error_naming_it(
    override: dict[str, object],
    message: str,
    tmp_path: Path,
    providers: dict[str, ProviderSettings],
) -> None:
    """Checked as promptctl.yaml's providers: are, at load, not as a crash on first call."""
    path = tmp_path / "b.bundle.json"
    write_bundle(path, [prompt()], providers)
    with pytest.raises(BundleError) as info:
        Runtime.load(path, providers={"openai": override})
    assert f"providers override for 'openai': {message}" in str(info.value), str(info.value)


def test_reload_swaps_and_keeps_last_good(
    tmp_path: Path, providers: dict[str, ProviderSettings], keypair: tuple[bytes, Path]
) -> None:
    path = tmp_path / "b.bundle.json"
    write_bundle(path, [prompt(version="1.0.0")], providers, private_key=keypair[0])
    with Runtime.load(path, public_key=keypair[1]) as rt:
        old = rt.bundle.digest
        assert rt.reload() is False  # same file, same bundle
        write_bundle(path, [prompt(version="1.1.0", template="T: {{ ticket }}")], providers)
        with pytest.raises(BundleError, match="unsigned"):
            rt.reload()
        assert rt.bundle.digest == old
        assert rt.render("support/triage", ticket="x")[1]["content"] == "Ticket: x"
        assert rt.last_reload_error is not None
        write_bundle(
            path,
            [prompt(version="1.1.0", template="T: {{ ticket }}")],
            providers,
            private_key=keypair[0],
        )
        assert rt.reload() is True
        assert rt.prompt("support/triage").version == "1.1.0"
        assert rt.render("support/triage", ticket="x")[1]["content"] == "T: x"
        assert rt.last_reload_error is None


def test_watch_reloads_on_mtime_change_at_most_every_interval(
    tmp_path: Path, providers: dict[str, ProviderSettings], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "b.bundle.json"
    write_bundle(path, [prompt()], providers)
    rt = Runtime.load(path, watch=True, watch_interval_s=10.0)
    now = [0.0]
    assert rt._watcher is not None
    rt._watcher.clock = lambda: now[0]
    rt._watcher.next_check = 10.0
    try:

        def bump(template: str, version: str, *, corrupt: bool = False) -> None:
            data = write_bundle(path, [prompt(version=version, template=template)], providers)
            if corrupt:
                path.write_bytes(data[:100])
            st = path.stat()
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

        bump("New: {{ ticket }}", "1.1.0")
        now[0] = 5.0  # inside the interval: no check yet
        assert rt.render("support/triage", ticket="a")[1]["content"] == "Ticket: a"
        now[0] = 10.0
        assert rt.render("support/triage", ticket="a")[1]["content"] == "New: a"
        bump("Broken: {{ ticket }}", "1.2.0", corrupt=True)
        now[0] = 20.0  # a bad file is kept out of service and does not raise
        assert rt.render("support/triage", ticket="a")[1]["content"] == "New: a"
        assert rt.last_reload_error is not None and "truncated" in str(rt.last_reload_error)
        assert "bundle reload refused" in caplog.text
    finally:
        rt.close()


def test_release_directory_follows_latest(
    tmp_path: Path, providers: dict[str, ProviderSettings]
) -> None:
    releases = tmp_path / "releases"
    releases.mkdir()
    write_bundle(releases / "one.bundle.json", [prompt(version="1.0.0")], providers)
    write_bundle(releases / "two.bundle.json", [prompt(version="2.0.0")], providers)
    (releases / "latest").write_text("one.bundle.json\n")
    with Runtime.load(releases) as rt:
        assert rt.prompt("support/triage").version == "1.0.0"
        (releases / "latest").write_text("two.bundle.json\n")
        assert rt.reload() is True
        assert rt.bundle.path == releases / "two.bundle.json"
        assert rt.prompt("support/triage").version == "2.0.0"
        (releases / "latest").write_text("../elsewhere.json\n")
        with pytest.raises(BundleError, match="does not name a bundle file"):
            rt.reload()
        assert rt.prompt("support/triage").version == "2.0.0"
    with pytest.raises(BundleError, match="without a readable `latest`"):
        Runtime.load(tmp_path)


def test_unverified_bundles_are_logged(
    tmp_path: Path, providers: dict[str, ProviderSettings], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "b.bundle.json"
    write_bundle(path, [prompt()], providers)
    with caplog.at_level("WARNING", logger="promptctl.runtime"), Runtime.load(path) as rt:
        assert "is UNSIGNED" in caplog.text and rt.bundle.digest in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"tags": "prod"}, UsageError, "tags='prod': pass a tuple of strings"),
        ({"gateway_options": {"retry_base": 1}}, UsageError, "unknown option(s) retry_base"),
        ({"targets": {"support/nope": "openai/gpt-4o"}}, BundleError, "pins 'support/nope'"),
        ({"targets": {"support/triage": "gpt-4o"}}, UsageError, "is not provider/model"),
        (
            {"targets": {"support/triage": "vertex/gemini-pro"}},
            BundleError,
            "provider 'vertex' is not configured",
        ),
        ({"watch_interval_s": float("nan")}, UsageError, "watch_interval_s=nan: pass a number"),
        ({"watch_interval_s": -1}, UsageError, "watch_interval_s=-1: pass a number"),
    ],
    ids=[
        "tags-string",
        "gateway-option",
        "pin-unknown-prompt",
        "pin-not-a-target",
        "pin-provider",
        "watch-interval-nan",
        "watch-interval-negative",
    ],
)
def test_deployment_arguments_that_cannot_work_fail_at_load(
    kwargs: dict[str, Any],
    error: type[Exception],
    message: str,
    tmp_path: Path,
    providers: dict[str, ProviderSettings],
) -> None:
    """Not on the first call in production (a TypeError there), nor never (a pin ignored)."""
    path = tmp_path / "b.bundle.json"
    write_bundle(path, [prompt()], providers)
    with pytest.raises(error) as info:
        Runtime.load(path, **kwargs)
    assert message in str(info.value), str(info.value)
    # a built-in provider needs no settings: pinning to it loads
    Runtime.load(path, targets={"support/triage": "anthropic/claude-3-5-haiku-latest"}).close()


def test_gateway_options_are_the_gateway_parameters_the_runtime_leaves_open() -> None:
    import inspect

    from promptctl.providers.gateway import Gateway
    from promptctl.runtime._deployment import GATEWAY_OPTIONS

    set_by_the_runtime = {"project", "mode", "use_cache", "env", "on_call", "on_call_blocks"}
    set_by_the_runtime |= {"shared_state", "answered", "cache_write_batch", "call_cap"}  # evals'
    set_by_the_runtime |= {"commit_window_s"}  # evals' too: an app's call never waits for others
    parameters = set(inspect.signature(Gateway.__init__).parameters) - {"self"}
    assert parameters - set_by_the_runtime == GATEWAY_OPTIONS
