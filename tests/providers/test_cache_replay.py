"""The response cache, record/replay modes and the sync helper."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from pathlib import Path

import pytest
from provider_helpers import Harness, chat

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.errors import ProviderError
from promptctl.promptfile.model import Project
from promptctl.providers.cache import ResponseCache
from promptctl.providers.gateway import Gateway
from promptctl.providers.types import CallContext, ChatResponse, Usage


def test_cache_hit_costs_no_call_and_repeat_is_distinct(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    harness = Harness(fake_project, fake_env, use_cache=True)
    first = harness.run(chat("openai/gpt-4o-mini"))
    second = harness.run(chat("openai/gpt-4o-mini"))
    third = harness.run(chat("openai/gpt-4o-mini"), repeat=1)
    assert fake_llm.calls["openai"] == 2
    assert not first.cached and second.cached and not third.cached
    assert second.text == first.text and second.usage == first.usage
    assert [r.outcome for r in harness.records] == ["ok", "cached", "ok"]
    assert harness.records[1].cost_usd == 0.0  # nothing was billed for the hit
    # ... and the hit says what it saved: the first call's own cost
    assert first.cost_usd is not None and first.cost_usd > 0
    assert harness.records[1].cost_saved_usd == first.cost_usd
    assert harness.records[0].cost_saved_usd is None
    assert (fake_project.state_dir / "cache.sqlite").exists()


def test_live_mode_never_uses_the_cache(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    Harness(fake_project, fake_env, use_cache=True).run(chat("openai/gpt-4o-mini"))
    live = Harness(fake_project, fake_env, mode="live")
    assert not live.run(chat("openai/gpt-4o-mini")).cached
    assert fake_llm.calls["openai"] == 2


def test_record_then_replay_without_key_or_server(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.reply("recorded answer")
    request = chat("anthropic/claude-haiku-4-5", ("user", "Hi"))
    Harness(fake_project, fake_env, mode="record").run(request)
    files = list((fake_project.evals_dir / "recordings").rglob("*.json"))
    assert len(files) == 1
    key = request.cache_key()
    assert files[0] == fake_project.evals_dir / "recordings" / key[:2] / f"{key}.json"
    text = files[0].read_text()
    doc = json.loads(text)
    assert text == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert doc["request"]["model"] == "claude-haiku-4-5"
    assert doc["response"]["text"] == "recorded answer"
    for secret in fake_env.values():
        assert secret not in text
    fake_llm.stop()
    replayed = Harness(fake_project, {}, mode="replay").run(request)
    assert replayed.text == "recorded answer" and replayed.cached


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("usage", "input_tokens"), "ten", "usage.input_tokens is 'ten'"),
        (("usage", "output_tokens"), -3, "usage.output_tokens is -3"),
        (("text",), ["a"], "text is ['a']"),
        (("cost_usd",), "free", "cost_usd is 'free'"),
        (("finish_reason",), "weird", "finish_reason is 'weird'"),
        (("latency_ms",), {"ms": 1}, "latency_ms is {'ms': 1}"),
        (("tool_calls",), [{"id": 1, "name": "f"}], "tool_calls[0].id is 1"),
    ],
)
def test_a_recording_with_a_field_of_the_wrong_type_is_refused_naming_it(
    path: tuple[str, ...],
    value: object,
    named: str,
    fake_llm: FakeLLM,
    fake_project: Project,
    fake_env: dict[str, str],
) -> None:
    """Recordings come with pull requests: a value of the wrong type is a bad_response
    naming the file and the field when it is read, not a crash in costing or scoring
    later (found by fuzzing recordings through `promptctl test --mode replay`)."""
    fake_llm.reply("recorded answer")
    request = chat("openai/gpt-4o-mini", ("user", "Hi"))
    Harness(fake_project, fake_env, mode="record").run(request)
    (file,) = (fake_project.evals_dir / "recordings").rglob("*.json")
    doc = json.loads(file.read_text())
    where = doc["response"]
    for key in path[:-1]:
        where = where[key]
    where[path[-1]] = value
    file.write_text(json.dumps(doc))
    with pytest.raises(ProviderError) as caught:
        Harness(fake_project, {}, mode="replay").run(request)
    assert caught.value.kind == "bad_response"
    assert caught.value.message == f"bad_response: recording {file} is malformed: {named}"


@pytest.mark.parametrize(
    "stored",
    [
        json.dumps({"text": "x", "target": "openai/gpt-4o-mini", "usage": {"input_tokens": 1.5}}),
        "{not json",
        '{"text": "x", "target": "openai/gpt-4o-mini", "attempts": ' + "9" * 5000 + "}",
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["mistyped field", "not JSON", "5,000-digit number", "nested too deeply"],
)
def test_a_damaged_cache_entry_is_a_miss_said_once_and_replaced(
    stored: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Before, a mistyped entry failed its case as `bad_response`, and one that was not
    JSON as `internal: JSONDecodeError` (exit 3): the cache is only a shortcut."""
    cache = ResponseCache(tmp_path / "cache.sqlite")
    for key in ("k", "j"):
        cache.put(key, _answer("fine"))
        cache._conn().execute("UPDATE responses SET response = ? WHERE key = ?", (stored, key))
    with caplog.at_level("WARNING", logger="promptctl"):
        assert cache.get("k") is None and cache.get("j") is None
    warnings = [r.getMessage() for r in caplog.records if "not a readable answer" in r.message]
    assert len(warnings) == 1, warnings
    cache.put("k", _answer("again"))  # the live answer replaces it
    hit = cache.get("k")
    assert hit is not None and hit.text == "again" and hit.cached
    cache.close()


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(100, len(data), 997):  # every page's header and rows: not a database
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["flipped bytes", "not a database"])
def test_a_damaged_cache_file_is_no_cache_for_the_run_said_once(
    how: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A cache restored broken (an interrupted CI cache upload) used to error every case:
    the run now goes on without it, saying so once; `stats` and `clear` name it."""
    from promptctl.providers.cache import CacheDamaged

    path = tmp_path / "cache.sqlite"
    seed = ResponseCache(path)
    for i in range(200):
        seed.put(f"k{i}", _answer("x" * 200))
    seed.close()
    if how == "flipped bytes":
        _damage(path)
    else:
        path.write_text("these are not the bytes you are looking for\n" * 100)
    for batch in (1, 64):
        cache = ResponseCache(path, write_batch=batch)
        with caplog.at_level("WARNING", logger="promptctl.providers.cache"):
            assert [cache.get(f"k{i}") for i in range(3)] == [None] * 3
            assert not cache.has("k0")
            cache.put("new", _answer("new"))
            cache.flush()
        warnings = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
        assert len(warnings) == 1 and str(path) in warnings[0]
        assert "promptctl cache clear" in warnings[0]
        caplog.clear()
        cache.close()
    with pytest.raises(CacheDamaged):
        ResponseCache(path).stats()
    cleaner = ResponseCache(path)
    assert cleaner.clear() is None
    assert not path.exists() and not Path(f"{path}-wal").exists()
    fresh = ResponseCache(path)
    fresh.put("k", _answer("again"))
    assert (hit := fresh.get("k")) is not None and hit.text == "again"
    fresh.close()


def test_replay_missing_names_prompt_and_test(fake_project: Project) -> None:
    ctx = CallContext(prompt_id="support/triage", test="refund is billing")
    with pytest.raises(ProviderError) as info:
        Harness(fake_project, {}, mode="replay").run(chat("openai/gpt-4o-mini"), context=ctx)
    assert info.value.kind == "replay_missing"
    assert "support/triage" in str(info.value) and "refund is billing" in str(info.value)


def test_auto_mode_prefers_recordings(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.reply("from recording")
    Harness(fake_project, fake_env, mode="record").run(chat("gemini/gemini-2.5-flash"))
    fake_llm.reply("from server")
    response = Harness(fake_project, fake_env, mode="auto").run(chat("gemini/gemini-2.5-flash"))
    assert response.text == "from recording" and fake_llm.calls["gemini"] == 1


def test_complete_sync_runs_on_private_loop(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    gateway = Gateway(fake_project, env=fake_env, use_cache=False)
    try:
        responses = [gateway.complete_sync(chat("openai/gpt-4o-mini"), repeat=i) for i in range(3)]
    finally:
        gateway.close()
    assert [r.text for r in responses] == ["hello from fake"] * 3
    assert fake_llm.calls["openai"] == 3


def test_cache_is_safe_under_concurrent_writers(tmp_path: Path) -> None:
    path = tmp_path / ".promptctl" / "cache.sqlite"
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        cache = ResponseCache(path)
        try:
            for i in range(40):
                cache.put(
                    f"k{i}", ChatResponse(text=f"w{n}-{i}", target="openai/m", usage=Usage(1, 2))
                )
                cache.put(f"w{n}-{i}", ChatResponse(text="x", target="openai/m"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            cache.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    cache = ResponseCache(path)
    stats = cache.stats()
    assert stats.entries == 40 + 6 * 40
    hit = cache.get("k7")
    assert hit is not None and hit.text.endswith("-7") and hit.usage == Usage(1, 2)
    assert cache.clear() == 280 and cache.stats().entries == 0
    cache.close()


def test_cache_is_safe_under_concurrent_processes(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / ".promptctl" / "cache.sqlite"
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from promptctl.providers.cache import ResponseCache\n"
        "from promptctl.providers.types import ChatResponse\n"
        "cache = ResponseCache(Path(sys.argv[1]))\n"
        "for i in range(50):\n"
        "    cache.put(f'{sys.argv[2]}-{i}', ChatResponse(text='x', target='openai/m'))\n"
        "    cache.put('shared', ChatResponse(text=sys.argv[2], target='openai/m'))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), f"p{n}"]) for n in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    cache = ResponseCache(path)
    assert cache.stats().entries == 4 * 50 + 1
    shared = cache.get("shared")
    assert shared is not None and shared.text in {"p0", "p1", "p2", "p3"}
    cache.close()


def _answer(text: str) -> ChatResponse:
    return ChatResponse(text=text, target="openai/gpt-4o-mini", usage=Usage(3, 1), cost_usd=0.01)


def test_batched_writes_are_read_back_at_once_and_written_in_groups(tmp_path: Path) -> None:
    """`write_batch`: held answers are served to this cache at once; another reader (a
    parallel job) sees them when a batch fills, and the rest when the cache closes."""
    path = tmp_path / "cache.sqlite"
    cache = ResponseCache(path, write_batch=3)
    other = ResponseCache(path)
    cache.put("k1", _answer("one"))
    cache.put("k2", _answer("two"))
    assert cache.has("k1") and (hit := cache.get("k2")) is not None and hit.text == "two"
    assert not other.has("k1") and other.get("k2") is None  # held, not written yet
    cache.put("k3", _answer("three"))  # the batch is full: all three in one transaction
    assert [other.has(k) for k in ("k1", "k2", "k3")] == [True, True, True]
    cache.put("k4", _answer("four"))
    assert not other.has("k4")
    cache.close()
    assert (late := other.get("k4")) is not None and late.text == "four"
    assert other.stats().entries == 4
    other.close()


def test_a_held_answer_is_redacted_whether_read_before_or_after_its_batch_is_written(
    tmp_path: Path,
) -> None:
    """A batched cache encodes (and redacts) an answer when its batch is written: what
    this cache serves meanwhile, and what another reader sees after, is the same
    redacted, cached answer."""
    path = tmp_path / "cache.sqlite"
    cache = ResponseCache(path, write_batch=2)
    other = ResponseCache(path)
    redact = lambda text: text.replace("sk-live-secret", "[REDACTED]")  # noqa: E731
    cache.put("k1", _answer("key sk-live-secret here"), redact=redact)
    held = cache.get("k1")
    assert held is not None and held.cached and held.text == "key [REDACTED] here"
    assert other.get("k1") is None
    cache.put("k2", _answer("two"), redact=redact)  # the batch is full: written
    written = other.get("k1")
    assert written is not None and written.cached and written.text == "key [REDACTED] here"
    db = sqlite3.connect(path)
    raw = db.execute("SELECT response FROM responses").fetchall()
    db.close()
    assert len(raw) == 2 and all("sk-live-secret" not in row[0] for row in raw)
    cache.close()
    other.close()


def test_batched_writes_checkpoint_on_a_thread_never_in_the_callers_commit(
    tmp_path: Path,
) -> None:
    """An evaluation's commits run on its event loop: SQLite's automatic checkpoint (a
    copy of the WAL and an fsync, inside a commit) is off for a batched writer, and a
    thread of its own copies the WAL into the database every ~1,000 rows."""
    path = tmp_path / "cache.sqlite"
    cache = ResponseCache(path, write_batch=64)
    cache.put("k0", _answer("zero"))
    cache.flush()
    assert cache._conn().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    schema_only = path.stat().st_size
    for i in range(1, 2500):
        cache.put(f"k{i}", _answer("x" * 500))
    cache.flush()
    assert cache._checkpoint is not None
    cache._checkpoint.join()
    assert path.stat().st_size > schema_only + 500 * 1000  # rows are in the database file
    other = ResponseCache(path)
    assert other.stats().entries == 2500
    other.close()
    cache.close()


def test_a_key_snapshot_answers_misses_without_a_query_and_hits_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An evaluation's cache reads the keys once: a key not among them nor written since
    is a miss with no SQL at all; stored ones (before, or by this cache since) are hits."""
    from promptctl.providers import cache as cache_module

    monkeypatch.setattr(cache_module, "_RECHECK_S", 3600.0)  # no recheck in this test
    path = tmp_path / "cache.sqlite"
    before = ResponseCache(path)
    before.put("old", _answer("stored earlier"))
    before.close()
    cache = ResponseCache(path, write_batch=2, key_snapshot=True)
    statements: list[str] = []
    cache._conn().set_trace_callback(statements.append)
    assert cache.get("new") is None and not cache.has("new")  # the first lookup reads keys
    assert [s for s in statements if "FROM responses" in s] == [
        "SELECT key FROM responses LIMIT 20001"
    ]
    statements.clear()
    assert cache.get("other") is None and not cache.has("k1")
    assert statements == []  # misses: no query
    assert (old := cache.get("old")) is not None and old.text == "stored earlier"
    cache.put("k1", _answer("one"))
    cache.put("k2", _answer("two"))  # a full batch: written, no longer held
    assert cache.has("k1") and (k2 := cache.get("k2")) is not None and k2.text == "two"
    assert cache.clear() == 3
    assert cache.get("old") is None
    cache.put("k3", _answer("three"))
    cache.close()
    again = ResponseCache(path, key_snapshot=True)
    assert (k3 := again.get("k3")) is not None and k3.text == "three"  # a new snapshot
    again.close()


def test_a_fresh_cache_makes_no_file_for_a_lookup_and_finds_what_is_stored_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh project's cache (a CI machine's every run): lookups answer "miss" without
    making the file; its own first batch makes it, and an answer another process stores
    once the file exists is found at the next recheck."""
    from promptctl.providers import cache as cache_module

    monkeypatch.setattr(cache_module, "_RECHECK_S", 3600.0)
    path = tmp_path / "state" / "cache.sqlite"
    cache = ResponseCache(path, write_batch=2, key_snapshot=True)
    assert cache.get("a") is None and not cache.has("b")
    assert not path.exists() and not path.parent.exists()
    cache.put("a", _answer("one"))
    assert (held := cache.get("a")) is not None and held.text == "one"  # held, served
    cache.put("b", _answer("two"))  # the batch is full: the file is made
    assert path.exists() and cache.has("a") and cache.has("b")
    other = ResponseCache(path)
    other.put("c", _answer("three"))
    assert cache.get("c") is None  # not rechecked yet
    cache._recheck_at = 0.0
    assert (found := cache.get("c")) is not None and found.text == "three"
    late = ResponseCache(tmp_path / "late.sqlite", key_snapshot=True)
    assert late.get("d") is None  # no file: nothing stored, nothing made
    writer = ResponseCache(tmp_path / "late.sqlite")
    writer.put("d", _answer("four"))  # another process makes the file and stores
    late._recheck_at = 0.0
    assert (later := late.get("d")) is not None and later.text == "four"
    for each in (cache, other, late, writer):
        each.close()


def test_an_answer_another_process_stores_is_found_at_the_next_recheck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parallel job's answer: not in the snapshot, found once the snapshot is checked
    again (SQLite's `data_version` changed); until then, no query per miss."""
    from promptctl.providers import cache as cache_module

    path = tmp_path / "cache.sqlite"
    cache = ResponseCache(path, write_batch=8, key_snapshot=True)
    other = ResponseCache(path)  # another connection, as another process has
    monkeypatch.setattr(cache_module, "_RECHECK_S", 3600.0)
    assert cache.get("shared") is None  # the snapshot: empty
    other.put("shared", _answer("paid by the other job"))
    assert cache.get("shared") is None  # not rechecked yet
    cache._recheck_at = 0.0  # the recheck is due
    assert (found := cache.get("shared")) is not None and found.text == "paid by the other job"
    statements: list[str] = []
    cache._conn().set_trace_callback(statements.append)
    cache._recheck_at = 0.0
    assert cache.get("missing") is None
    assert statements == ["PRAGMA data_version"]  # nobody wrote since: the keys stay
    other.close()
    cache.close()


def test_a_cache_too_large_to_snapshot_is_queried_per_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from promptctl.providers import cache as cache_module

    monkeypatch.setattr(cache_module, "_SNAPSHOT_MAX", 2)
    path = tmp_path / "cache.sqlite"
    writer = ResponseCache(path)
    for key in ("a", "b", "c"):
        writer.put(key, _answer(key))
    cache = ResponseCache(path, key_snapshot=True)
    assert not cache.has("z") and cache._known is None  # three keys: no snapshot
    writer.put("z", _answer("late"))  # another process's answer, seen at once
    assert (late := cache.get("z")) is not None and late.text == "late"
    writer.close()
    cache.close()


def test_an_evaluation_leaves_every_answer_in_the_cache(tmp_path: Path) -> None:
    """The runner batches cache writes; a run shorter than a batch still stores all."""
    fake = FakeLLM().start()
    try:
        project = Project(root=tmp_path, providers=fake_providers(fake))
        gateway = Gateway(project, env={"OPENAI_API_KEY": "sk-x"}, cache_write_batch=64)

        async def run() -> None:
            for i in range(5):
                await gateway.complete(chat("openai/gpt-4o-mini", ("user", f"question {i}")))
            await gateway.aclose()

        asyncio.run(run())
    finally:
        fake.stop()
    assert ResponseCache(project.cache_path).stats().entries == 5


def test_a_cancelled_caller_still_gets_its_paid_answer_into_the_ledger(
    fake_project: Project, fake_llm: FakeLLM
) -> None:
    """With `on_call_blocks` the answer's record goes to a worker thread. If the caller is
    cancelled (Ctrl-C) while that write still waits for a free thread, the write must
    not be cancelled with it: the call was paid. `aclose` waits for it."""
    from concurrent.futures import ThreadPoolExecutor

    recorded: list[str] = []
    gateway = Gateway(
        fake_project,
        env={"OPENAI_API_KEY": "sk-x"},
        mode="live",
        on_call=lambda rec: recorded.append(rec.outcome),
        on_call_blocks=True,
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(1))
        busy = threading.Event()
        blocker = loop.run_in_executor(None, busy.wait)  # the only worker is taken
        task = asyncio.ensure_future(gateway.complete(chat("openai/gpt-4o-mini")))
        assert gateway.calls.answers is not None
        while not gateway.calls.answers.pending:  # answered; its record waits behind the blocker
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        busy.set()
        await blocker
        await gateway.aclose()

    asyncio.run(main())
    assert fake_llm.calls["openai"] == 1
    assert recorded == ["ok"]
