"""Test helpers: run a gateway against the fake server and record waits."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

from promptctl.plan.request import ChatRequest
from promptctl.promptfile.chat import ChatMessage
from promptctl.promptfile.model import Project
from promptctl.providers.gateway import Gateway
from promptctl.providers.types import CallContext, CallRecord, ChatResponse


class Harness:
    """A Gateway whose sleeps are recorded instead of slept."""

    def __init__(self, project: Project, env: dict[str, str], **kwargs: Any) -> None:
        self.waits: list[float] = []
        self.records: list[CallRecord] = []
        kwargs.setdefault("use_cache", False)
        kwargs.setdefault("rng", random.Random(7))
        self.gateway = Gateway(
            project, env=env, on_call=self.records.append, sleep=self._sleep, **kwargs
        )

    async def _sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def run(
        self,
        request: ChatRequest,
        fallbacks: Sequence[ChatRequest] = (),
        *,
        repeat: int = 0,
        context: CallContext | None = None,
    ) -> ChatResponse:
        async def go() -> ChatResponse:
            try:
                return await self.gateway.complete(
                    request, fallbacks=fallbacks, repeat=repeat, context=context
                )
            finally:
                await self.gateway.aclose()

        return asyncio.run(go())


def chat(target: str, *messages: tuple[str, str], **fields: Any) -> ChatRequest:
    provider, model = target.split("/", 1)
    msgs = messages or (("user", "Hi"),)
    return ChatRequest(
        provider=provider,
        model=model,
        messages=tuple(ChatMessage(role, text) for role, text in msgs),  # type: ignore[arg-type]
        **fields,
    )
