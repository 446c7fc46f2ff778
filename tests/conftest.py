"""Shared fixtures: the fake LLM server and a project wired to it."""

from __future__ import annotations

import atexit
import gc
import ipaddress
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Make the shared test helpers in tests/fakes importable as `fakes.<module>`.
_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from fakes.llm_server import FakeLLM, fake_providers  # noqa: E402
from promptctl.promptfile.model import Project  # noqa: E402

FAKE_KEYS = {
    "OPENAI_API_KEY": "sk-test-openai-0123456789abcdef",
    "ANTHROPIC_API_KEY": "sk-ant-test-0123456789abcdef",
    "GEMINI_API_KEY": "AIzaFakeGeminiKey0123456789abcdef",
    "AZURE_OPENAI_API_KEY": "azure-secret-0123456789abcdef",
}


# The files that take longest (seconds of wall or CPU on the 2-core machine), slowest
# first. pytest-xdist hands out whole files in collection order (`--dist loadfile
# --no-loadscope-reorder`), so these start first and the many short files fill the
# workers' gaps after them, instead of one slow file starting last and running alone
# (longest-processing-time-first scheduling). A file not listed keeps its place.
SLOW_FILES = (
    "evals/test_gate_simulation.py",
    "fleet/test_shared_limits.py",
    "report/test_html_browser.py",
    "fleet/test_pg_ledger.py",
    "security/test_hostile_trees.py",
    "providers/test_streaming.py",
    "evals/test_runner_streaming.py",
    "security/test_ledger_durability.py",
    "security/test_ci_trust.py",
    "cli/test_cli_publish.py",
    "providers/test_vendored_specs.py",
    "test_layers.py",
    "test_plan_equality.py",
    "test_code_store.py",
    "security/test_python_check_exit.py",
    "report/test_diff_report.py",
    "test_extension_points.py",
    "cli/test_concurrency_knob.py",
    "runtime/test_loops_and_limits.py",
    "security/test_terminal_output.py",
    "plan/test_token_estimate.py",
    "fleet/test_pg_spool.py",
    "fleet/test_pg_embed.py",
)


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER") and not sys.dont_write_bytecode:
        _warm_byte_code(config)


def _warm_byte_code(config: pytest.Config) -> None:
    """Compile once, in the controller, before xdist starts its workers. Every worker
    collects every file, so on a fresh clone each of four workers compiled promptctl and
    rewrote (pytest's assertion rewriting) every test module: ~5 s of the first run's
    wall. On a warm tree this only checks the caches (~30 ms). pytest's rewriting is
    reached through its private module: if that moves, the workers simply do it again."""
    import compileall
    import re

    root = Path(__file__).resolve().parents[1]
    compileall.compile_dir(root / "src", quiet=1)
    rewritten = re.compile(r"(^|[/\\])(test_[^/\\]*|conftest)\.py$")
    compileall.compile_dir(Path(_TESTS), quiet=1, rx=rewritten)  # the helpers (fakes/...)
    try:
        from _pytest.assertion import rewrite
    except ImportError:
        return
    state = config.stash.get(rewrite.assertstate_key, None)
    if state is None:  # --assert=plain
        return
    for path in sorted(Path(_TESTS).rglob("*.py")):
        if rewritten.search(str(path)) is None:
            continue
        try:
            pyc = rewrite.get_cache_dir(path) / (path.name[:-3] + rewrite.PYC_TAIL)
            if rewrite._read_pyc(path, pyc) is None:
                pyc.parent.mkdir(exist_ok=True)
                source_hash, code = rewrite._rewrite_test(path, config)
                rewrite._write_pyc(state, code, source_hash, pyc)
        except (AttributeError, TypeError, OSError, SyntaxError):
            return  # pytest's internals changed, or a file is broken: collection will say


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: twice the usable cores. A third of the suite's time is tests waiting
    (on a stalled fake server, a timeout, a PostgreSQL or Chromium child, a rate-limit
    window), and a second worker per core runs meanwhile."""
    return 2 * len(os.sched_getaffinity(0))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {f"tests/{name}": n for n, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


def _resolve_locally_only(host: Any, *args: Any, **kwargs: Any) -> Any:
    """The tests are hermetic: a name other than localhost is not looked up (a test that
    reaches for a real provider fails at once, here and on a machine with a network)."""
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and name not in _LOCAL_NAMES:
        try:
            ipaddress.ip_address(str(name).split("%", 1)[0])
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, f"tests resolve no name: {name}") from None
    return _getaddrinfo(host, *args, **kwargs)


def _temporary_files_in_memory() -> None:
    """Unless TMPDIR says otherwise, tests write their temporary files (tmp_path, every
    `tempfile` directory, PostgreSQL clusters, Chromium profiles) to /dev/shm: on this
    project's ext4 disk a `tmp_path` with one file cost ~2.5 ms of creating and syncing,
    on tmpfs ~0.4 ms, and the suite makes ~11,000 files. Set here, in the controller
    before xdist starts its workers, which inherit it. `TMPDIR=/tmp make test` opts out."""
    if "TMPDIR" in os.environ or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    try:
        usable = os.access("/dev/shm", os.W_OK | os.X_OK)
        usable = usable and shutil.disk_usage("/dev/shm").free >= 2 << 30
    except OSError:
        usable = False
    if usable:
        os.environ["TMPDIR"] = "/dev/shm"
        tempfile.tempdir = None  # gettempdir() reads TMPDIR again


_temporary_files_in_memory()


def _parse_cache_of_this_run() -> None:
    """The parse cache (promptfile/parse_cache.py) of the tests and of every promptctl
    process they start is a folder of this run, not the user's ~/.cache: set here in the
    controller, inherited by the workers, removed at the controller's exit."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    folder = tempfile.mkdtemp(prefix="promptctl-parse-cache-")
    os.environ["PROMPTCTL_CACHE_DIR"] = folder
    atexit.register(shutil.rmtree, folder, True)


_parse_cache_of_this_run()
gc.disable()  # until collection is done (pytest_collection_finish): it only allocates


# A shell starts background jobs with SIGINT ignored, and children inherit that: the
# Ctrl-C tests (in-process and in child processes) would then see no Ctrl-C at all.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
_getaddrinfo = socket.getaddrinfo
socket.getaddrinfo = _resolve_locally_only


def _leave_without_teardown(pid: int = os.getpid()) -> None:
    """An xdist worker's last exit handler (registered first, so it runs last): leave
    without the interpreter's teardown. Freeing every object the worker built took ~1 s
    per worker at the end of each run, while the controller waited on it; the results
    and the worker's coverage data were sent at session finish. A forked child, whose pid
    differs, exits as it chose."""
    if os.getpid() == pid:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if os.environ.get("PYTEST_XDIST_WORKER"):
    atexit.register(_leave_without_teardown)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what collection built (modules, items) out of the collector's reach: every
    full collection would otherwise walk it again (~10% of a worker's CPU). The collector
    was off during collection (it builds and keeps, ~6% of collection's CPU)."""
    gc.collect()
    gc.freeze()
    gc.enable()


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    """A running fake LLM server (OpenAI, Anthropic, Gemini wire formats)."""
    server = FakeLLM().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_project(tmp_path: Path, fake_llm: FakeLLM) -> Project:
    """A project in tmp_path whose providers all talk to `fake_llm`."""
    return Project(
        root=tmp_path,
        evals_dir=tmp_path / "evals",
        providers=fake_providers(fake_llm),
    )


@pytest.fixture
def fake_env() -> dict[str, str]:
    """Fake API keys for every provider of `fake_project`."""
    return dict(FAKE_KEYS)
