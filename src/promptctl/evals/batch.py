"""`promptctl test --batch`: answer an evaluation's uncached cases through the batch APIs.

Each answer is stored in the response cache under the cache key of the very request a
live call would send, priced at the batch rate, and handed to the evaluation that follows
(`evaluate(answered=...)`): the gateway gives each out once as that call's own answer,
so the ledger records it as an "ok" call at the batch price (not as a free cache hit),
and scoring, results, JUnit and the gate are untouched. Every case the batch did not
answer (failed, expired, a provider without batch support) is called live by that same
run: the fallback costs nothing to build.

Resuming: before submitting, the batch's id and its custom ids are written to
`.promptctl/batches/<provider>-<digest>.json`, where the digest covers the cache keys
of its cases. Interrupted while waiting (Ctrl-C, a closed laptop), the same command
finds the file and polls the submitted batch instead of paying for a second one; the
file is removed once the answers are in the cache.

Polling backs off from `first_wait_s` doubling to `max_wait_s` (batches take minutes to
hours; there is no point asking every second).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptctl.errors import ProviderError
from promptctl.evals.cases import Case
from promptctl.evals.prepare import RequestBuilder
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.model import Project
from promptctl.providers.batch import BATCH_DISCOUNT, BatchClient, BatchStatus, batch_client
from promptctl.providers.cache import ResponseCache
from promptctl.providers.chain import plan
from promptctl.providers.pricing import Price, cost_usd, known_cost, price_for
from promptctl.providers.recordings import RecordingStore
from promptctl.providers.tool_calls import check_tool_calls
from promptctl.providers.types import ChatResponse

__all__ = ["BatchReport", "batch_price", "run_batches"]


@dataclass
class BatchReport:
    submitted: int = 0  # requests sent in batches (including resumed ones)
    answered: int = 0
    failed: int = 0  # left for live calls
    cached: int = 0  # already answered before the batch: not sent
    unsupported: dict[str, int] = field(default_factory=dict)  # provider -> live cases
    cost_usd: float = 0.0  # of the answers whose cost is known
    unknown_cost: int = 0  # answers with no price (or unreadable usage): not in cost_usd
    batches: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    # cache key -> answer, for `evaluate(answered=...)`: the run records each as its call
    answers: dict[str, ChatResponse] = field(default_factory=dict)


@dataclass(frozen=True)
class _Item:
    custom_id: str
    key: str  # the response-cache key
    case: Case
    request: ChatRequest
    estimate_usd: float | None = None  # at the live price (the runner's own estimate)


def batch_price(target: str, project: Project) -> Price | None:
    """The batch price: `pricing:`'s own figures as given, else the table's at 50%.

    Both vendors bill batch tokens at half the standard price; a `pricing:` override is
    the user's own price and is taken as is.
    """
    price = price_for(target, project)
    if price is None or price.source == "promptctl.yaml":
        return price
    from dataclasses import replace

    def half(v: float | None) -> float | None:
        return None if v is None else v * BATCH_DISCOUNT

    return replace(
        price,
        input=price.input * BATCH_DISCOUNT,
        output=price.output * BATCH_DISCOUNT,
        cached_input=half(price.cached_input),
        cache_write=half(price.cache_write),
        cache_write_1h=half(price.cache_write_1h),
        tiers={k: tuple((a, b * BATCH_DISCOUNT) for a, b in v) for k, v in price.tiers.items()},
        source=f"{price.source}, batch 50%",
    )


def run_batches(
    project: Project,
    cases: Sequence[Case],
    partials: Mapping[str, str],
    *,
    env: Mapping[str, str],
    http: Any,
    progress: Callable[[str], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
    first_wait_s: float = 2.0,
    max_wait_s: float = 60.0,
    max_cost: float | None = None,
) -> BatchReport:
    """Submit (or resume), wait for and store the batch answers of `cases`.

    `max_cost` (`--max-cost`): refuse before submitting when the batches' estimated cost
    (the runner's per-request estimate at the batch discount) exceeds it, or cannot be
    estimated; a batch cannot be stopped half way like a live run.
    """
    report = BatchReport()
    groups = _groups(project, cases, partials, report)
    if max_cost is not None:
        _check_budget(groups, project, max_cost)
    cache = ResponseCache(project.cache_path)
    try:
        for items in groups.values():
            provider = items[0].request.provider
            target_plan = plan(project, env, items[0].request)
            if target_plan.missing_key is not None:
                raise ProviderError(
                    "config",
                    f"{target_plan.missing_key} is not set",
                    provider=provider,
                    hint=f"export {target_plan.missing_key}=<your {provider} API key>",
                )
            client = batch_client(target_plan.settings, target_plan.api_key, http)
            if client is None:
                report.unsupported[provider] = len(items)
                continue
            _one_batch(
                project,
                provider,
                client,
                items,
                cache,
                report,
                progress,
                sleep,
                first_wait_s,
                max_wait_s,
            )
    finally:
        cache.close()
    return report


def _check_budget(groups: Mapping[str, list[_Item]], project: Project, max_cost: float) -> None:
    """UsageError when the batches to submit (resumed ones are paid) may exceed `max_cost`."""
    from promptctl.errors import UsageError

    total = 0.0
    for items in groups.values():
        provider = items[0].request.provider
        if _state_path(project, provider, items).exists():
            continue
        unknown = [i.request.target for i in items if i.estimate_usd is None]
        if unknown:
            raise UsageError(
                f"--max-cost: the cost of a batch on {unknown[0]} cannot be estimated (no price)",
                hint="add its price under `pricing:` or run without --max-cost",
            )
        total += sum(i.estimate_usd or 0.0 for i in items) * BATCH_DISCOUNT
    if total > max_cost:
        raise UsageError(
            f"--max-cost ${max_cost:g}: the batches would cost about ${total:.6g} "
            "(estimated at the batch price); nothing was submitted",
            hint="raise --max-cost or select fewer cases (--test, --shard)",
        )


def _groups(
    project: Project, cases: Sequence[Case], partials: Mapping[str, str], report: BatchReport
) -> dict[str, list[_Item]]:
    builder = RequestBuilder(project, partials)
    recordings = RecordingStore(project.recordings_dir)
    cache = ResponseCache(project.cache_path)
    groups: dict[str, list[_Item]] = {}
    seen: set[str] = set()
    try:
        for case in cases:
            prepared = builder.prepare(case)
            request = prepared.request
            key = request.cache_key(repeat=case.repeat)
            if key in seen:
                continue
            seen.add(key)
            if recordings.has(key) or cache.has(key):
                report.cached += 1
                continue
            # a Gemini batch holds one model (it is in the URL): group Gemini by target
            settings = project.providers.get(request.provider)
            group = request.target if settings and settings.kind == "gemini" else request.provider
            item = _Item(key, key, case, request, prepared.estimate_usd)
            groups.setdefault(group, []).append(item)
    finally:
        cache.close()
    return groups


def _state_path(project: Project, group: str, items: Sequence[_Item]) -> Path:
    digest = hashlib.sha256("\n".join(sorted(i.key for i in items)).encode()).hexdigest()
    name = group.split("/", 1)[0]  # a provider name; a Gemini group's model is in the digest
    return project.state_dir / "batches" / f"{name}-{digest[:16]}.json"


def _one_batch(
    project: Project,
    provider: str,
    client: BatchClient,
    items: list[_Item],
    cache: ResponseCache,
    report: BatchReport,
    progress: Callable[[str], None],
    sleep: Callable[[float], None],
    first_wait_s: float,
    max_wait_s: float,
) -> None:
    state = _state_path(project, provider, items)
    batch_id, order = _resume(state)
    if batch_id is not None:
        report.resumed.append(batch_id)
        progress(f"{provider}: resuming batch {batch_id} ({len(items)} requests)")
    else:
        batch_id = client.submit([(i.custom_id, i.request) for i in items])
        order = [i.custom_id for i in items]
        state.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "provider": provider,
            "batch_id": batch_id,
            "submitted_at": time.time(),
            "custom_ids": [i.custom_id for i in items],
        }
        state.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        progress(f"{provider}: submitted batch {batch_id} ({len(items)} requests)")
    report.batches.append(batch_id)
    report.submitted += len(items)
    status = _wait(client, batch_id, progress, sleep, first_wait_s, max_wait_s)
    by_id = {i.custom_id: i for i in items}
    answered: set[str] = set()
    for result in client.results(batch_id, order or [i.custom_id for i in items]):
        item = by_id.get(result.custom_id)
        if item is None or result.parsed is None:
            continue
        response = _response(project, item, result.parsed)
        cache.put(item.key, response)  # kept even if the run that follows is interrupted
        answered.add(item.custom_id)
        report.answers[item.key] = response
        if response.cost_usd is None:
            report.unknown_cost += 1
        else:
            report.cost_usd += response.cost_usd
    report.answered += len(answered)
    report.failed += len(items) - len(answered)
    progress(
        f"{provider}: batch {batch_id} {status.raw}: {len(answered)} answered, "
        f"{len(items) - len(answered)} left for live calls"
    )
    state.unlink(missing_ok=True)


def _resume(state: Path) -> tuple[str | None, list[str]]:
    """The submitted batch's id and custom ids (in submission order), if one is pending."""
    try:
        doc = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, []
    if not isinstance(doc, dict) or not doc.get("batch_id"):
        return None, []
    return str(doc["batch_id"]), [str(c) for c in doc.get("custom_ids") or []]


def _wait(
    client: BatchClient,
    batch_id: str,
    progress: Callable[[str], None],
    sleep: Callable[[float], None],
    first_wait_s: float,
    max_wait_s: float,
) -> BatchStatus:
    wait = first_wait_s
    while True:
        status = client.status(batch_id)
        if status.state == "ended":
            return status
        progress(
            f"batch {batch_id}: {status.raw}, {status.done}/{status.total} done"
            + (f", {status.failed} failed" if status.failed else "")
        )
        sleep(wait)
        wait = min(max_wait_s, wait * 2)


def _response(project: Project, item: _Item, parsed: Any) -> ChatResponse:
    target = item.request.target
    price = None
    if parsed.model_reported:
        price = batch_price(f"{item.request.provider}/{parsed.model_reported}", project)
    price = price or batch_price(target, project)
    if price is None:  # unknown, with the warning when the usage was there to price
        cost = cost_usd(parsed.usage, None, target=target) if parsed.usage_known else None
    else:
        cost = known_cost(parsed.usage, parsed.usage_known, price)
    return ChatResponse(
        text=parsed.text,
        target=target,
        finish_reason=parsed.finish_reason,
        usage=parsed.usage,
        model_reported=parsed.model_reported,
        request_id=parsed.request_id,
        cost_usd=cost,
        tool_calls=check_tool_calls(item.request.tools, parsed.tool_calls),
    )
