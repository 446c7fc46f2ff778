"""`plan_call`: the one way from a prompt and inputs to the requests a call sends.

The runtime (`Runtime.run`), the evaluations (`promptctl test`/`diff`/`ci`), `promptctl
render` and lint all ask this function, so an application and CI make the same chain of
calls for the same prompt and inputs. The rules (stated for users in docs/providers.md,
"Fallbacks"):

1. Inputs are validated against `inputs:` with defaults applied.
2. The first target is the first route whose `when` is true, else `model.use`; a
   `target` override other than `model.use` pins the call to that model instead (a
   fallback's `use` means that fallback, with its own params and messages).
3. Every target renders the prompt's `messages`, or its own `messages` when it has them;
   its params are `model.params` overlaid with its own.
4. The fallbacks are `model.fallbacks` in order, without any whose `use` is already in
   the chain (the routed target included). A pinned call has no fallbacks: it asks for
   that model, and an answer from another would be scored under the wrong name.
5. Each request is fitted into its target's context window (`promptctl.plan.fit`):
   history is trimmed oldest-first, a target too small even without history is left
   out of the chain, and with none left the call fails with `context_length`.
   `fit=False` skips this (lint measures the untrimmed render).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from promptctl.plan.fit import fit_chain
from promptctl.plan.request import ChatRequest, build_chat_request
from promptctl.plan.routing import choose_target
from promptctl.promptfile.chat import ChatMessage
from promptctl.promptfile.history import Spliced, Trim
from promptctl.promptfile.model import MessageTemplate, Prompt, Target
from promptctl.render import render_messages, validate_inputs

__all__ = ["CallPlan", "plan_call", "target_for"]


@dataclass(frozen=True)
class CallPlan:
    """What one call of a prompt sends: `request` first, then each of `fallbacks` in turn.

    `values` are the validated inputs (defaults applied); `target` is the chosen first
    target and `targets` the target of every request of the chain, in order. `trims`
    says what history each request left out (by its budget or to fit the window);
    `too_long` the targets left out of the chain because the request cannot fit them.
    """

    values: Mapping[str, Any]
    target: Target
    request: ChatRequest
    fallbacks: tuple[ChatRequest, ...]
    targets: tuple[Target, ...]
    trims: tuple[Trim, ...] = ()
    too_long: tuple[tuple[str, str], ...] = ()

    def trims_for(self, target: str) -> tuple[Trim, ...]:
        """What the request to `target` (`provider/model`) left out."""
        return tuple(t for t in self.trims if t.target == target)

    @property
    def messages(self) -> tuple[ChatMessage, ...]:
        return self.request.messages

    @property
    def chain(self) -> tuple[ChatRequest, ...]:
        return (self.request, *self.fallbacks)


def target_for(prompt: Prompt, use: str) -> Target:
    """What a `provider/model` override means for `prompt`: its primary, the fallback of
    that name (own params and messages), or any other model with the prompt's params."""
    model = prompt.model
    if use == model.use:
        return model.primary
    for fallback in model.fallbacks:
        if fallback.use == use:
            return fallback
    return Target(use=use, params=dict(model.params))


def plan_call(
    prompt: Prompt,
    inputs: Mapping[str, Any],
    *,
    target: str | Target | None = None,
    partials: Mapping[str, str] | None = None,
    validate: bool = True,
    fit: bool = True,
) -> CallPlan:
    """Validate, route, render and build the request chain (see the module docstring).

    `partials` serves `{% include %}` (a bundle's templates are inlined: none needed);
    `validate=False` takes `inputs` as already validated. Raises `InputValidationError`,
    `RenderError` (a `RouteError` for a failing `when`), `PromptFileError`, or
    `ProviderError("context_length")` when no target's window can take the request.
    """
    values = validate_inputs(prompt, inputs) if validate else dict(inputs)
    model = prompt.model
    chosen = target_for(prompt, target) if isinstance(target, str) else target
    pinned = chosen is not None and (chosen.use != model.use or chosen.messages is not None)
    if chosen is None or not pinned:
        chosen = choose_target(model, values) if model.routes else model.primary
    chain = [chosen]
    if not pinned:
        for fallback in model.fallbacks:
            if all(fallback.use != t.use for t in chain):
                chain.append(fallback)
    rendered: dict[int, tuple[list[ChatMessage], Spliced]] = {}

    def messages_for(t: Target) -> tuple[list[ChatMessage], Spliced]:
        templates: tuple[MessageTemplate, ...] = (
            t.messages if t.messages is not None else prompt.messages
        )
        key = id(templates)
        if key not in rendered:
            spliced = Spliced()
            messages = render_messages(
                prompt, values, target=t, partials=partials, validate=False, spliced=spliced
            )
            rendered[key] = messages, spliced
        return rendered[key]

    requests = [_shell(prompt, t).with_messages(tuple(messages_for(t)[0])) for t in chain]
    if not fit:
        return CallPlan(values, chosen, requests[0], tuple(requests[1:]), tuple(chain))
    fitted = fit_chain(chain, requests, [messages_for(t)[1] for t in chain])
    first, *rest = fitted.requests
    return CallPlan(
        values,
        fitted.targets[0],
        first,
        tuple(rest),
        fitted.targets,
        fitted.trims,
        fitted.too_long,
    )


_SHELLS: dict[tuple[int, str, int, int], tuple[Prompt, Target, ChatRequest]] = {}


def _shell(prompt: Prompt, target: Target) -> ChatRequest:
    """`target`'s request without messages: its params, output format and tools depend
    only on the (immutable) loaded prompt and target, so the runtime builds them once per
    target instead of on every call (~6 µs each); the messages are set per call. Keyed
    by identity (a route or the primary is a new `Target` per call over the same params),
    the objects kept with the entry so a reused id never matches."""
    key = (id(prompt), target.use, id(target.params), id(target.messages))
    cached = _SHELLS.get(key)
    if cached is not None and cached[0] is prompt and cached[1].params is target.params:
        return cached[2]
    shell = build_chat_request(
        target,
        (),
        base_params=prompt.model.params,
        output=prompt.output,
        tools=prompt.tools,
        tool_choice=prompt.tool_choice,
    )
    if len(_SHELLS) > 4096:
        _SHELLS.clear()
    _SHELLS[key] = (prompt, target, shell)
    return shell
