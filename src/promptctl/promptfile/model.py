"""Typed, immutable views of prompt files and promptctl.yaml.

The loader builds these from YAML; everything downstream (render, evals, bundle,
runtime) reads only these, never raw dictionaries.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from promptctl.errors import SourceLocation
from promptctl.promptfile.chat import ToolSpec

__all__ = [
    "DEFAULT_PROVIDERS",
    "PROVIDER_KINDS",
    "AssertionSpec",
    "GateConfig",
    "LifecycleConfig",
    "LifecycleRow",
    "Limits",
    "MessageTemplate",
    "ModelConfig",
    "OutputSpec",
    "PriceOverride",
    "Project",
    "Prompt",
    "ProviderKind",
    "ProviderSettings",
    "Route",
    "Status",
    "Target",
    "TestCase",
    "url_credentials",
]

Status = Literal["draft", "approved", "deprecated"]
Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class MessageTemplate:
    """One entry of `messages:`: a role with a Jinja2 template, or a `history` splice.

    For a splice, `role` is None and `history_var` names the input holding the list of
    earlier `{role, content}` messages; `max_tokens` / `max_messages` bound how much of it
    is sent (the newest whole turns; `promptctl.plan.history`).
    """

    role: Role | None
    template: str | None = None
    history_var: str | None = None
    location: SourceLocation | None = None
    max_tokens: int | None = None
    max_messages: int | None = None


@dataclass(frozen=True)
class Target:
    """A model a prompt can run on: `use` is `provider/model`.

    Fallback entries may override `params` and even `messages` for their model.
    """

    use: str
    params: Mapping[str, Any] = field(default_factory=dict)
    messages: tuple[MessageTemplate, ...] | None = None
    location: SourceLocation | None = None

    @property
    def provider(self) -> str:
        return self.use.split("/", 1)[0]

    @property
    def model(self) -> str:
        return self.use.split("/", 1)[1] if "/" in self.use else ""


@dataclass(frozen=True)
class Route:
    """`model.routes` entry: the first whose `when` expression is true picks `use`."""

    when: str
    use: str
    location: SourceLocation | None = None


@dataclass(frozen=True)
class ModelConfig:
    use: str
    params: Mapping[str, Any] = field(default_factory=dict)
    fallbacks: tuple[Target, ...] = ()
    routes: tuple[Route, ...] = ()

    @property
    def primary(self) -> Target:
        return Target(use=self.use, params=self.params)


@dataclass(frozen=True)
class OutputSpec:
    format: Literal["text", "json"] = "text"
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)  # slots: a suite holds one per assertion (memory)
class AssertionSpec:
    """One assertion of a test, normalised from the short or long form.

    `type` is without the `not-` prefix; `negate` records it. `value` is the short
    form's argument or the long form's `value:`; every other key lands in `options`
    (e.g. `path`, `equals`, `min`, `max`, `rubric`, `model`).
    """

    type: str
    value: Any = None
    negate: bool = False
    weight: float = 1.0
    threshold: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True)  # slots: 10,000 tests in one run (memory)
class TestCase:
    name: str
    vars: Mapping[str, Any] = field(default_factory=dict)
    asserts: tuple[AssertionSpec, ...] = ()
    repeat: int | None = None
    location: SourceLocation | None = None
    # the answer is checked against the prompt's output.schema (an implicit assertion,
    # as the runtime's `result.ok`) unless the test says `check_output_schema: false`
    check_output_schema: bool = True
    # `degraded:` inputs whose context source the test simulates as down (left out of
    # `vars`, which already merge the test's recorded `context:` values)
    degraded: tuple[str, ...] = ()
    # `tool_results:` tool name -> its result (a string, or JSON data sent as JSON): a
    # case whose answer calls only tools listed here continues with their results
    # (docs/prompt-format.md, "Tool calls in tests")
    tool_results: Mapping[str, Any] = field(default_factory=dict)

    __test__ = False  # not a pytest class


@dataclass(frozen=True)
class Prompt:
    """A loaded prompt file.

    `content_hash` is the published identity (`id@version+sha256:…`): SHA-256 over the
    fully resolved prompt (messages with partials inlined, model config, input and
    output schemas). It excludes metadata (description, status, owner, tags) and tests,
    so approving a prompt or adding a test keeps its eval results valid.
    """

    id: str
    version: str
    path: Path
    model: ModelConfig
    messages: tuple[MessageTemplate, ...]
    description: str = ""
    status: Status = "draft"
    owner: str | None = None
    tags: tuple[str, ...] = ()
    inputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    output: OutputSpec = field(default_factory=OutputSpec)
    # a tuple, or a `test_list.TestList` that makes a large dataset's tests on each pass
    tests: Sequence[TestCase] = ()
    content_hash: str = ""
    # `tools:` (functions the model may call) and `tool_choice` (auto, none, required or
    # a tool's name; None: the provider's default, auto)
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    def required_inputs(self) -> list[str]:
        return [name for name, schema in self.inputs.items() if "default" not in schema]


# The wire formats a provider can speak: the one list. The adapter registry
# (`promptctl.providers.base.ADAPTERS`: kind `x-y` -> `providers/x_y.py`) and the config
# hints derive from it; tests/test_extension_points.py keeps the config JSON Schema enum
# and docs/config.md equal to it.
ProviderKind = Literal[
    "openai", "anthropic", "gemini", "openai-compatible", "azure", "openai-responses"
]
PROVIDER_KINDS: tuple[str, ...] = get_args(ProviderKind)


@dataclass(frozen=True)
class ProviderSettings:
    """One entry of `providers:`; the name is what `use: name/model` refers to.

    `api_key_env` names the environment variable; keys never live in files.
    `deadline_s` bounds a whole call (retries and fallbacks) whose chain starts here.
    """

    name: str
    kind: ProviderKind
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_s: float = 60.0
    max_concurrency: int = 16
    rpm: int | None = None
    tpm: int | None = None  # tokens per minute; enforced fleet-wide with shared_state
    max_retries: int = 3
    headers: Mapping[str, str] = field(default_factory=dict)
    api_version: str | None = None  # azure
    dialect: str | None = None  # openai-compatible quirks: mistral, ollama, llama-cpp-python
    deadline_s: float = 600.0


DEFAULT_PROVIDERS: Mapping[str, ProviderSettings] = {
    "openai": ProviderSettings("openai", "openai", "https://api.openai.com/v1", "OPENAI_API_KEY"),
    "anthropic": ProviderSettings(
        "anthropic", "anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY"
    ),
    "gemini": ProviderSettings(
        "gemini",
        "gemini",
        "https://generativelanguage.googleapis.com/v1beta",
        "GEMINI_API_KEY",
    ),
    "mistral": ProviderSettings(
        "mistral",
        "openai-compatible",
        "https://api.mistral.ai/v1",
        "MISTRAL_API_KEY",
        dialect="mistral",
    ),
    "ollama": ProviderSettings(
        "ollama", "openai-compatible", "http://127.0.0.1:11434/v1", None, dialect="ollama"
    ),
}


@dataclass(frozen=True)
class PriceOverride:
    """USD per million tokens, from `pricing:` in promptctl.yaml."""

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None


@dataclass(frozen=True)
class LifecycleRow:
    """One `lifecycle.models` row of promptctl.yaml: adds or overrides the shipped table."""

    deprecated: datetime.date | None = None
    shutdown: datetime.date | None = None
    replacement: str | None = None
    source: str = ""
    note: str = ""


@dataclass(frozen=True)
class LifecycleConfig:
    """`lifecycle:`: warn `warn_days` before a shutdown; rows per `provider/model`."""

    warn_days: int = 90
    models: Mapping[str, LifecycleRow] = field(default_factory=dict)


@dataclass(frozen=True)
class GateConfig:
    max_pass_rate_drop: float = 0.0  # non-inferiority margin (docs/gating.md)
    max_cost_increase_pct: float | None = 10.0
    max_p95_latency_increase_pct: float | None = None
    fail_on_new_failures: bool = True
    alpha: float = 0.05
    require_conclusive: bool = False
    max_error_rate: float = 0.2
    # Added by the gate (issue 5); see docs/gating.md.
    flaky_fails: bool = False  # a flaky test whose pass rate fell fails the gate
    min_detectable_drop: float = 0.10  # drop (beyond the margin) a group must be able to detect
    bootstrap_resamples: int = 2000  # paired bootstrap of the score change; 0 turns it off


@dataclass(frozen=True)
class Limits:
    """`limits:` of promptctl.yaml: caps on what one file or run may ask for.

    A `repeat: 100000000` or a million-row dataset would otherwise hang a run or fill
    memory before anything is reported; each cap's error names the key that raises it.
    """

    max_repeat: int = 100
    # generated suites keep thousands of inline tests (10,000 take ~2 MB); larger data
    # belongs in a dataset file, which is read row by row
    max_prompt_file_bytes: int = 8 * 1024 * 1024
    max_dataset_rows: int = 100_000
    max_dataset_bytes: int = 64 * 1024 * 1024
    max_cases: int = 1_000_000


@dataclass(frozen=True)
class Project:
    """promptctl.yaml, resolved: paths are absolute, providers include the defaults."""

    root: Path
    config_path: Path | None = None
    prompts_dir: Path = Path("prompts")
    evals_dir: Path = Path("evals")
    releases_dir: Path = Path("releases")
    providers: Mapping[str, ProviderSettings] = field(
        default_factory=lambda: dict(DEFAULT_PROVIDERS)
    )
    targets: tuple[str, ...] = ()
    judge: str = "openai/gpt-4o-mini"
    pricing: Mapping[str, PriceOverride] = field(default_factory=dict)
    gate: GateConfig = field(default_factory=GateConfig)
    budgets: Mapping[str, Any] = field(default_factory=dict)
    ledger_path: Path | None = None
    ledger_url: str | None = None  # `ledger: postgresql://…` (no password: libpq's env has it)
    shared_state: str | None = None  # redis:// URL (no password: that comes from the env)
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)
    candidates: tuple[str, ...] = ()  # `promptctl compare` targets when none are given
    limits: Limits = field(default_factory=Limits)
    # providers whose `max_concurrency` promptctl.yaml sets: `--concurrency` raises the
    # others' default (16) to itself, and only notes these (docs/performance.md)
    concurrency_set: frozenset[str] = frozenset()

    @property
    def state_dir(self) -> Path:
        """`.promptctl/`: cache, runs, ledger; never committed."""
        return self.root / ".promptctl"

    @property
    def cache_path(self) -> Path:
        """The response cache (`.promptctl/cache.sqlite`)."""
        return self.state_dir / "cache.sqlite"

    @property
    def ledger_file(self) -> Path:
        """`ledger:` from promptctl.yaml, else `.promptctl/ledger.sqlite`."""
        return self.ledger_path or self.state_dir / "ledger.sqlite"

    @property
    def recordings_dir(self) -> Path:
        return self.evals_dir / "recordings"


def url_credentials(url: str | None) -> bool:
    """Whether `url` carries a user or password (`https://user:pass@host/...`)."""
    if not url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return "@" in url
    return bool(parts.username or parts.password) or "@" in parts.netloc
