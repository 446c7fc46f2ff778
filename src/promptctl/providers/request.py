"""Build a `ChatRequest` from a target, rendered messages, params and the output spec."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptctl.errors import PromptFileError
from promptctl.promptfile.model import OutputSpec, Target
from promptctl.providers.types import ChatMessage, ChatRequest, ResponseFormat

__all__ = ["build_chat_request"]

_KNOWN = ("temperature", "top_p", "max_tokens", "stop", "seed")


def build_chat_request(
    target: Target,
    messages: Sequence[ChatMessage],
    *,
    base_params: Mapping[str, Any],
    output: OutputSpec,
) -> ChatRequest:
    """Target params win over `base_params`; unknown params pass through in `extra`."""
    if "/" not in target.use:
        raise PromptFileError(
            f"model {target.use!r} is not provider/model",
            location=target.location,
            hint="write e.g. openai/gpt-4o-mini",
        )
    params = {**base_params, **target.params}
    stop = params.get("stop")
    stops: tuple[str, ...] = (
        () if stop is None else (stop,) if isinstance(stop, str) else tuple(map(str, stop))
    )
    if output.format == "json" and output.schema is not None:
        fmt = ResponseFormat("json_schema", schema=output.schema)
    elif output.format == "json":
        fmt = ResponseFormat("json")
    else:
        fmt = ResponseFormat()
    return ChatRequest(
        provider=target.provider,
        model=target.model,
        messages=tuple(messages),
        temperature=_opt(params, "temperature", float),
        top_p=_opt(params, "top_p", float),
        max_tokens=_opt(params, "max_tokens", int),
        stop=stops,
        seed=_opt(params, "seed", int),
        response_format=fmt,
        extra={k: v for k, v in params.items() if k not in _KNOWN},
    )


def _opt(params: Mapping[str, Any], key: str, cast: type[Any]) -> Any:
    value = params.get(key)
    if value is None:
        return None
    try:
        return cast(value)
    except (TypeError, ValueError):
        raise PromptFileError(f"param {key}: {value!r} is not a {cast.__name__}") from None
