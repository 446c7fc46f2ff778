"""The bundle in service: what is said when one starts serving, the rule a replacement
obeys, and the watch that reloads a changed file.

A reload never goes backwards (an older release, or another bundle under the same
release number, is refused and the one in service stays); an unsigned or unverified
bundle is served but logged on every load, as is a model past or near its shutdown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from promptctl.errors import BundleError, PromptctlError
from promptctl.promptfile.model import DEFAULT_PROVIDERS, Project
from promptctl.runtime._bundle import LoadedBundle

__all__ = ["Watch", "check_forward", "project_for", "warn_lifecycle", "warn_unverified"]

_log = logging.getLogger("promptctl.runtime")


def project_for(bundle: LoadedBundle) -> Project:
    """The provider layer works on a Project: one holding only the bundle's providers."""
    root = bundle.path.parent.resolve()
    return Project(
        root=root,
        evals_dir=root,
        # the built-in providers too: `embed` may name one no prompt uses
        providers={**DEFAULT_PROVIDERS, **bundle.providers},
        pricing=dict(bundle.pricing),
    )


def check_forward(current: LoadedBundle, fresh: LoadedBundle) -> None:
    """Refuse a reload that would serve an older release than the one in service."""
    older = fresh.sequence < current.sequence
    other = fresh.sequence == current.sequence > 0 and fresh.digest != current.digest
    if older or other:
        what = "older release" if older else "different bundle with the same release number"
        raise BundleError(
            f"{fresh.path}: refusing to replace release {current.sequence} "
            f"({current.digest}) with {what} {fresh.sequence} ({fresh.digest})",
            hint="a reload never goes backwards; restart with an explicit pin to roll back",
        )


def warn_unverified(bundle: LoadedBundle) -> None:
    """Unsigned bundles are allowed but flagged: the log says so on every load."""
    if not bundle.verified:
        state = "signed but not verified (no public_key)" if bundle.signed else "UNSIGNED"
        _log.warning("bundle %s (%s) is %s", bundle.path, bundle.digest, state)


def warn_lifecycle(bundle: LoadedBundle, env: Mapping[str, str] | None) -> None:
    """One log warning per model past or near its shutdown date (per process)."""
    from promptctl.providers.lifecycle import warn_retiring

    targets = []
    for prompt in bundle.prompts.values():
        model = prompt.model
        targets += [model.use, *(t.use for t in model.fallbacks), *(r.use for r in model.routes)]
    try:
        warn_retiring(targets, project_for(bundle), env)
    except PromptctlError as exc:  # a malformed PROMPTCTL_TODAY must not stop serving
        _log.warning("model lifecycle check skipped: %s", exc)


class Watch:
    """`watch=True`: at most every `interval_s`, reload when the file in service changed.

    Never raises: a bad new file is kept out of service (its error is the runtime's
    `last_reload_error`, and logged) and not tried again until its mtime changes again.
    """

    def __init__(self, interval_s: float, clock: Callable[[], float]) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self.next_check = clock() + interval_s
        self._failed_mtime_ns: int | None = None
        self._lock = threading.Lock()  # one check at a time; the others go on serving

    def poll(self, serving: LoadedBundle, reload: Callable[[], object]) -> None:
        now = self.clock()
        if now < self.next_check or not self._lock.acquire(blocking=False):
            return
        try:
            self.next_check = now + self.interval_s
            try:
                mtime = serving.watched.stat().st_mtime_ns
            except OSError:
                return
            if mtime in (serving.mtime_ns, self._failed_mtime_ns):
                return
            try:
                reload()
                self._failed_mtime_ns = None
            except BundleError as exc:
                self._failed_mtime_ns = mtime
                _log.error("bundle reload refused, %s stays in service: %s", serving.digest, exc)
        finally:
            self._lock.release()
