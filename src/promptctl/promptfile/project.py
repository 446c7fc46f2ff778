"""promptctl.yaml: find it (walking up like git), load it, resolve it."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path
from typing import Any

from promptctl.errors import ConfigError, PromptFileError, SourceLocation
from promptctl.promptfile.model import (
    DEFAULT_PROVIDERS,
    PROVIDER_KINDS,
    GateConfig,
    LifecycleConfig,
    LifecycleRow,
    PriceOverride,
    Project,
    ProviderSettings,
    url_credentials,
)
from promptctl.promptfile.yaml_loader import decode_text, load_yaml

__all__ = ["CONFIG_NAME", "find_project", "load_project", "project_at"]

CONFIG_NAME = "promptctl.yaml"


def find_project(start: Path | None = None) -> Project:
    """The project whose promptctl.yaml is in `start` (default cwd) or an ancestor.

    Without one, a default project rooted at `start`.
    """
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        config = candidate / CONFIG_NAME
        if config.is_file():
            return load_project(config)
    return _defaults(here)


def project_at(directory: Path) -> Project:
    """`--project DIR`: DIR's promptctl.yaml if it has one, else defaults rooted at DIR."""
    if not directory.is_dir():
        raise ConfigError(f"project directory {directory} does not exist")
    config = directory / CONFIG_NAME
    return load_project(config) if config.is_file() else _defaults(directory.resolve())


def _defaults(root: Path) -> Project:
    return Project(
        root=root,
        prompts_dir=root / "prompts",
        evals_dir=root / "evals",
        releases_dir=root / "releases",
    )


def load_project(config_path: Path) -> Project:
    """Load and validate promptctl.yaml; raises ConfigError naming file:line."""
    from promptctl.promptfile.schemas import schema_diagnostics

    config_path = config_path.resolve()
    root = config_path.parent
    try:
        raw = config_path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {config_path}: {exc.strerror}") from None
    try:
        doc = load_yaml(decode_text(raw, config_path), config_path)
    except PromptFileError as exc:
        if exc.message == "file is empty":
            return dataclasses.replace(_defaults(root), config_path=config_path)
        raise ConfigError(exc.message, location=exc.location, hint=exc.hint) from None
    if doc.duplicates:
        ptr, (line, col), first = doc.duplicates[0]
        raise ConfigError(
            f"duplicate key '{ptr.rsplit('/', 1)[-1]}' (first defined on line {first})",
            location=SourceLocation(config_path, line, col),
        )
    diags = schema_diagnostics(doc, "config")
    if diags:
        first_diag = diags[0]
        more = f" (and {len(diags) - 1} more)" if len(diags) > 1 else ""
        raise ConfigError(
            first_diag.message + more, location=first_diag.location, hint=first_diag.hint
        )
    data: dict[str, Any] = doc.data
    return Project(
        root=root,
        config_path=config_path,
        prompts_dir=root / data.get("prompts", "prompts"),
        evals_dir=root / data.get("evals", "evals"),
        releases_dir=root / data.get("releases", "releases"),
        providers=_providers(data.get("providers", {}), doc.locate, config_path),
        targets=tuple(data.get("targets", ())),
        judge=data.get("judge", "openai/gpt-4o-mini"),
        pricing={k: PriceOverride(**v) for k, v in data.get("pricing", {}).items()},
        gate=GateConfig(**data.get("gate", {})),
        budgets=data.get("budgets", {}),
        ledger_path=root / data["ledger"] if "ledger" in data else None,
        lifecycle=_lifecycle(data.get("lifecycle", {}), doc.locate),
        candidates=tuple(data.get("candidates", ())),
    )


def _lifecycle(raw: dict[str, Any], locate: Any) -> LifecycleConfig:
    """`lifecycle:`; YAML reads a bare 2026-01-05 as a date, a quoted one as text: both work."""
    rows = {}
    for target, fields in raw.get("models", {}).items():
        dates: dict[str, datetime.date | None] = {}
        for key in ("deprecated", "shutdown"):
            value = fields.get(key)
            if value is None or isinstance(value, datetime.date):
                dates[key] = value
                continue
            try:
                dates[key] = datetime.date.fromisoformat(str(value))
            except ValueError:
                raise ConfigError(
                    f"lifecycle.models.{target}.{key}: {value!r} is not a date",
                    location=locate(f"/lifecycle/models/{target.replace('/', '~1')}/{key}"),
                    hint="write it as YYYY-MM-DD",
                ) from None
        rows[target] = LifecycleRow(
            deprecated=dates["deprecated"],
            shutdown=dates["shutdown"],
            replacement=fields.get("replacement"),
            source=fields.get("source", ""),
            note=fields.get("note", ""),
        )
    return LifecycleConfig(warn_days=raw.get("warn_days", 90), models=rows)


def _providers(raw: dict[str, Any], locate: Any, path: Path) -> dict[str, ProviderSettings]:
    merged = dict(DEFAULT_PROVIDERS)
    for name, settings in raw.items():
        base = DEFAULT_PROVIDERS.get(name)
        fields = dict(settings)
        if url_credentials(fields.get("base_url")):
            # never echo the URL: it is the secret
            raise ConfigError(
                f"providers.{name}.base_url holds credentials (user:password@); they would "
                "be copied into bundles, logs and `promptctl providers`",
                location=locate(f"/providers/{name}/base_url"),
                hint="remove them from the URL and put the key in an environment variable "
                "named by `api_key_env` (sent as the provider's auth header)",
            )
        if base is not None:
            merged[name] = dataclasses.replace(base, **fields)
            continue
        if "kind" not in fields:
            raise ConfigError(
                f"provider '{name}' needs a `kind`",
                location=locate(f"/providers/{name}"),
                hint=f"one of {', '.join(PROVIDER_KINDS)}",
            )
        merged[name] = ProviderSettings(name=name, **fields)
    return merged
