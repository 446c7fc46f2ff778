"""The results document `promptctl/results@1`: its records, and reading and writing it.

`promptctl test` writes it; the gate (`diff`, `ci`, `merge`) and `publish` read it. The
field names and meanings are a contract (docs/results-format.md); the JSON Schema ships
as `results.schema.json` next to this module. Fields may be added within `@1`; renaming,
removing or changing the meaning of one bumps the version.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from promptctl import __version__
from promptctl.errors import SourceLocation, UsageError
from promptctl.evals.aggregate import Summary, summarize
from promptctl.evals.assertions.base import AssertionResult
from promptctl.evals.cases import Case
from promptctl.promptfile import strict_json
from promptctl.promptfile.atomic_file import replace_file
from promptctl.promptfile.chat import ToolCall
from promptctl.promptfile.fast_validate import Check
from promptctl.promptfile.history import Trim
from promptctl.promptfile.json_text import loads_clean
from promptctl.promptfile.safe_io import UnsafeFileError, read_file
from promptctl.providers.types import SkippedTarget, Usage

__all__ = [
    "SCHEMA_ID",
    "AssertionResult",
    "CaseError",
    "CaseResult",
    "CaseStatus",
    "FallbackTried",
    "RunInfo",
    "RunMode",
    "Summary",
    "load_case_results",
    "read_results",
    "results_json_schema",
    "summarize",
    "summary_rows",
    "to_document",
    "write_results",
]

SCHEMA_ID = "promptctl/results@1"
# What every reader relies on: the fields `CaseResult.from_dict` indexes directly.
MAX_RESULTS_BYTES = 1024 * 1024 * 1024  # a results document (`--base-results`, merge)
_CASE_FIELDS = ("key", "prompt", "version", "content_hash", "target", "test", "repeat", "status")
_STATUSES = {"pass", "fail", "error", "skipped"}
CaseStatus = Literal["pass", "fail", "error", "skipped"]
RunMode = Literal["auto", "record", "replay", "live"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class RunInfo:
    """The `run` object. `finished_at` stays None (and `interrupted` True) for partial runs."""

    id: str
    started_at: str
    mode: RunMode = "auto"
    finished_at: str | None = None
    promptctl_version: str = __version__
    git_commit: str | None = None
    interrupted: bool = False
    shard: str | None = None  # "I/N"
    skipped_budget: int = 0
    max_cost_usd: float | None = None  # --max-cost; None: unlimited
    spent_usd: float | None = None  # what the budget counted (with --max-cost only)
    # each time a circuit opened: {target, opened_at, failures, closed_at, failed_trials}
    circuit_breaker: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(
        cls, *, mode: RunMode = "auto", git_commit: str | None = None, shard: str | None = None
    ) -> RunInfo:
        """A new run stamped now; the id sorts by time and is unique (`20261127T132845Z-3f9a1c`)."""
        now = datetime.now(UTC)
        run_id = f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        return cls(
            run_id, now.isoformat(timespec="seconds"), mode, git_commit=git_commit, shard=shard
        )

    def finish(self, *, interrupted: bool = False) -> None:
        self.finished_at = None if interrupted else _now()
        self.interrupted = interrupted

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "promptctl_version": self.promptctl_version,
            "git_commit": self.git_commit,
            "mode": self.mode,
            "interrupted": self.interrupted,
            "shard": self.shard,
            "skipped_budget": self.skipped_budget,
            "max_cost_usd": self.max_cost_usd,
            "spent_usd": self.spent_usd,
            "circuit_breaker": list(self.circuit_breaker),
        }


@dataclass(frozen=True, slots=True)
class CaseError:
    """Why a case errored: a ProviderError kind (or "internal") and a secret-free message."""

    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class FallbackTried:
    target: str
    reason: str

    @classmethod
    def from_skipped(cls, skipped: SkippedTarget) -> FallbackTried:
        return cls(skipped.target, skipped.reason)


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case's row in the results document (see the contract for every field)."""

    key: str
    prompt: str
    version: str
    content_hash: str
    target: str
    test: str
    repeat: int
    status: CaseStatus
    vars: Mapping[str, Any] = field(default_factory=dict)
    answered_by: str | None = None
    request_hash: str | None = None
    score: float | None = None
    output: str | None = None
    assertions: tuple[AssertionResult, ...] = ()
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    latency_ms: float | None = None  # the whole call: retries and fallbacks included
    cached: bool = False
    error: CaseError | None = None
    fallbacks_tried: tuple[FallbackTried, ...] = ()
    usage_known: bool = True  # False: the response's token usage was absent or unreadable
    attempt_latency_ms: float | None = None  # the answering HTTP attempt alone
    context_trimmed: tuple[Trim, ...] = ()  # history the answering request left out
    tool_calls: tuple[ToolCall, ...] = ()  # every tool call of the case, in order
    ttft_ms: float | None = None  # streamed cases: time to the first token (else absent)

    @classmethod
    def for_case(cls, case: Case, *, status: CaseStatus, **fields: Any) -> CaseResult:
        """A result carrying `case`'s identity (key, prompt, version, hash, target, test…)."""
        return cls(
            key=case.key,
            prompt=case.prompt.id,
            version=case.prompt.version,
            content_hash=case.prompt.content_hash,
            target=case.target.use,
            test=case.test.name,
            repeat=case.repeat,
            status=status,
            vars=dict(case.test.vars),
            **fields,
        )

    def to_dict(self) -> dict[str, Any]:
        data = self._to_dict()
        if self.ttft_ms is not None:  # only streamed cases carry it: older documents stay
            data["ttft_ms"] = self.ttft_ms
        return data

    def _to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "prompt": self.prompt,
            "version": self.version,
            "content_hash": self.content_hash,
            "target": self.target,
            "answered_by": self.answered_by,
            "test": self.test,
            "repeat": self.repeat,
            "vars": dict(self.vars),
            "request_hash": self.request_hash,
            "status": self.status,
            "score": self.score,
            "output": self.output,
            "assertions": [a.to_dict() for a in self.assertions],
            "usage": {
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
                "cached_input_tokens": self.usage.cached_input_tokens,
                "cache_write_tokens": self.usage.cache_write_tokens,
                "reasoning_tokens": self.usage.reasoning_tokens,
            },
            "cost_usd": self.cost_usd,
            "latency_ms": self.latency_ms,
            "attempt_latency_ms": self.attempt_latency_ms,
            "cached": self.cached,
            "error": None
            if self.error is None
            else {"kind": self.error.kind, "message": self.error.message},
            "fallbacks_tried": [
                {"target": f.target, "reason": f.reason} for f in self.fallbacks_tried
            ],
            "usage_known": self.usage_known,
            "context_trimmed": [
                {
                    "target": t.target,
                    "reason": t.reason,
                    "messages_dropped": t.messages_dropped,
                    "tokens_dropped": t.tokens_dropped,
                }
                for t in self.context_trimmed
            ],
            "tool_calls": [
                {
                    "id": c.id,
                    "name": c.name,
                    "arguments": dict(c.arguments),
                    "arguments_valid": c.arguments_valid,
                    "arguments_error": c.arguments_error,
                }
                for c in self.tool_calls
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaseResult:
        err = data.get("error")
        return cls(
            key=data["key"],
            prompt=data["prompt"],
            version=data["version"],
            content_hash=data["content_hash"],
            target=data["target"],
            test=data["test"],
            repeat=int(data["repeat"]),
            status=data["status"],
            vars=dict(data.get("vars") or {}),
            answered_by=data.get("answered_by"),
            request_hash=data.get("request_hash"),
            score=data.get("score"),
            output=data.get("output"),
            assertions=tuple(AssertionResult.from_dict(a) for a in data.get("assertions", ())),
            usage=Usage(**data.get("usage", {})),
            cost_usd=data.get("cost_usd"),
            latency_ms=data.get("latency_ms"),
            attempt_latency_ms=data.get("attempt_latency_ms"),
            ttft_ms=data.get("ttft_ms"),
            cached=bool(data.get("cached", False)),
            error=None if not err else CaseError(str(err["kind"]), str(err["message"])),
            fallbacks_tried=tuple(
                FallbackTried(f["target"], f["reason"]) for f in data.get("fallbacks_tried", ())
            ),
            usage_known=bool(data.get("usage_known", True)),
            context_trimmed=tuple(
                Trim(
                    str(t["target"]),
                    str(t["reason"]),
                    int(t["messages_dropped"]),
                    int(t["tokens_dropped"]),
                )
                for t in data.get("context_trimmed") or ()
            ),
            tool_calls=tuple(
                ToolCall(
                    str(c["id"]),
                    str(c["name"]),
                    dict(c.get("arguments") or {}),
                    bool(c.get("arguments_valid", True)),
                    c.get("arguments_error"),
                )
                for c in data.get("tool_calls") or ()
            ),
        )


def to_document(run: RunInfo, case_results: Iterable[CaseResult]) -> dict[str, Any]:
    """The whole results document, summaries included, as plain JSON-ready data."""
    cases = list(case_results)
    return {
        "schema": SCHEMA_ID,
        "run": run.to_dict(),
        "cases": [c.to_dict() for c in cases],
        "summary": [s.to_dict() for s in summarize(cases)],
    }


def _chunks(doc: Mapping[str, Any]) -> Iterator[str]:
    """Compact JSON with one list item (case, summary) per line: fast to write (the C
    encoder only runs without `indent`), still readable and diffable line by line.
    Yielded piece by piece so a 10,000-case document is never one string in memory."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    for i, (key, value) in enumerate(doc.items()):
        yield ("{" if i == 0 else ",\n ") + dump(key) + ": "
        if isinstance(value, list) and value:
            for j, item in enumerate(value):
                yield ("[\n  " if j == 0 else ",\n  ") + dump(item)
            yield "\n ]"
        else:
            yield dump(value)
    yield "}\n" if doc else "{}\n"


def write_results(path: Path, doc: Mapping[str, Any]) -> None:
    """Write atomically (temp file in the same directory, then rename): a reader or a crash
    mid-write never sees half a document. An unwritable path is a UsageError naming it."""
    replace_file(
        path,
        lambda fh: fh.writelines(chunk.encode() for chunk in _chunks(doc)),
        label="results file",
    )


def read_results(path: Path) -> dict[str, Any]:
    """Read a results document; every problem is a UsageError (exit 2) naming the file.

    Always checks the whole document against the shipped JSON Schema (compiled once: a
    results file may come from anywhere, a CI artifact or a pull request, and every
    reader after this one trusts its types); the schema allows fields it does not name,
    so a newer writer adding fields does not break readers. A document with cases and
    an empty `summary` (a run killed while it wrote, docs/results-format.md) gets its
    summary computed.
    """
    try:
        text = read_file(path, root=None, limit=MAX_RESULTS_BYTES, what="results file").decode()
    except FileNotFoundError:
        raise UsageError(f"{path}: results file not found") from None
    except UnsafeFileError as exc:
        raise UsageError(exc.message, hint=exc.hint) from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a JSON results document (not UTF-8 text)") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read results file: {exc.strerror}") from None
    try:
        doc = loads_clean(text)  # (a lone surrogate: the report could not write it)
    except RecursionError:
        raise UsageError(f"{path}: not a results document (JSON nested too deeply)") from None
    except json.JSONDecodeError as exc:
        from promptctl.evals.results_stream import recover_partial

        # a run still writing its file, or killed inside a write: read to the last whole case
        recovered = recover_partial(text)
        if recovered is not None:
            doc = recovered
        else:
            raise UsageError(
                f"not a JSON results document: {exc.msg}",
                location=SourceLocation(path, exc.lineno, exc.colno),
                hint="write one with promptctl test --output FILE",
            ) from None
    except ValueError as exc:  # a number of 5,000 digits
        raise UsageError(
            f"{path}: not a JSON results document: {strict_json.reason(exc)}",
            hint="write one with promptctl test --output FILE",
        ) from None
    _check_schema_id(doc, str(path))
    _check_cases(doc, str(path))  # the usual problems, in its own words
    _check_document(doc, path)
    if doc["cases"] and not doc.get("summary"):
        # the partial document of a run that was killed while it streamed its cases
        # (`results_stream`): its summary is derived from the cases, as `merge` does
        doc["summary"] = summary_rows(doc["cases"])
    return dict(doc)


@cache
def _read_schema() -> dict[str, Any]:
    """The shipped schema with its local `$ref`s inlined (what both checks read). Its
    `required` lists have not changed since @1 began, so every document any promptctl
    wrote passes; fields added since are optional, and readers default them."""
    from promptctl.promptfile.schemas import inline_refs

    schema = results_json_schema()
    flat: dict[str, Any] = inline_refs(schema, schema.get("$defs", {}))
    return flat


@cache
def _document_check() -> Check | None:
    from promptctl.promptfile.fast_validate import compile_schema

    return compile_schema(_read_schema(), trusted=True)


def _check_document(doc: dict[str, Any], path: Path) -> None:
    """The compiled check says valid (the common case, ~12 µs a case); else jsonschema
    names the first wrong field."""
    check = _document_check()
    if check is not None and check(doc):
        return
    import jsonschema

    try:
        jsonschema.validate(doc, _read_schema())
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise UsageError(
            f"{path}: invalid results document at {where}: {exc.message}",
            hint="use a results file promptctl test wrote, unedited",
        ) from None


def _check_schema_id(doc: Any, source: str) -> None:
    if not isinstance(doc, dict):
        raise UsageError(f"{source}: a results document must be a JSON object")
    schema = doc.get("schema")
    if schema != SCHEMA_ID:
        found = "no schema field" if schema is None else f"unsupported schema {schema!r}"
        raise UsageError(
            f"{source}: {found}; expected {SCHEMA_ID!r}",
            hint="re-run `promptctl test` with this version of promptctl",
        )


def _check_cases(doc: dict[str, Any], source: str) -> None:
    """The cheap structural check every read makes; the message names the first problem."""
    cases = doc.get("cases")
    if not isinstance(cases, list):
        raise UsageError(f"{source}: 'cases' must be a list")
    for i, case in enumerate(cases):
        if not isinstance(case, dict):
            raise UsageError(f"{source}: cases[{i}] must be an object")
        missing = [f for f in _CASE_FIELDS if f not in case]
        if missing:
            raise UsageError(f"{source}: cases[{i}] lacks {', '.join(missing)}")
        if not isinstance(case["status"], str) or case["status"] not in _STATUSES:
            raise UsageError(f"{source}: cases[{i}] has unknown status {case['status']!r}")


def load_case_results(doc: Mapping[str, Any]) -> list[CaseResult]:
    """The `cases` of a document read by `read_results`, as records (for gate and resume)."""
    return [CaseResult.from_dict(c) for c in doc.get("cases", ())]


def summary_rows(cases: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The `summary` block for case dicts (e.g. joined shards), exactly as `to_document`
    would write it for the same cases."""
    return [s.to_dict() for s in summarize(CaseResult.from_dict(c) for c in cases)]


def results_json_schema() -> dict[str, Any]:
    """The shipped JSON Schema of `promptctl/results@1`."""
    from importlib import resources  # only here: ~2 ms of every run's start-up

    text = resources.files(__package__).joinpath("results.schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
