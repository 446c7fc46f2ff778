"""promptctl.yaml: find it (walking up like git), load it, resolve it."""

from __future__ import annotations

import dataclasses
import datetime
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from promptctl.errors import ConfigError, PromptFileError, SourceLocation
from promptctl.promptfile.model import (
    DEFAULT_PROVIDERS,
    PROVIDER_KINDS,
    GateConfig,
    LifecycleConfig,
    LifecycleRow,
    Limits,
    PriceOverride,
    Project,
    ProviderSettings,
    url_credentials,
)
from promptctl.promptfile.safe_io import UnsafeFileError, confine, read_file
from promptctl.promptfile.yaml_loader import LocatedYaml, decode_text, load_yaml

__all__ = [
    "CONFIG_NAME",
    "PG_SCHEMES",
    "find_project",
    "is_ledger_url",
    "load_project",
    "project_at",
]

CONFIG_NAME = "promptctl.yaml"


def find_project(start: Path | None = None) -> Project:
    """The project whose promptctl.yaml is in `start` (default cwd) or an ancestor.

    Without one, a default project rooted at `start`.
    """
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        config = candidate / CONFIG_NAME
        if os.path.lexists(config):  # a directory or FIFO named so is an error, not skipped
            return load_project(config)
    return _defaults(here)


def project_at(directory: Path) -> Project:
    """`--project DIR`: DIR's promptctl.yaml if it has one, else defaults rooted at DIR."""
    if not directory.is_dir():
        raise ConfigError(f"project directory {directory} does not exist")
    config = directory / CONFIG_NAME
    return load_project(config) if os.path.lexists(config) else _defaults(directory.resolve())


def _defaults(root: Path) -> Project:
    return _checked_writes(
        Project(
            root=root,
            prompts_dir=root / "prompts",
            evals_dir=root / "evals",
            releases_dir=root / "releases",
        )
    )


def _checked_writes(project: Project) -> Project:
    """Refuse a committed `.promptctl` or `evals/recordings` symlink that leads out.

    promptctl writes its cache, run files and recordings there; a pull request must not
    be able to redirect those writes elsewhere on the CI machine.
    """
    for path in (project.state_dir, project.recordings_dir):
        if os.path.lexists(path):
            try:
                confine(path, project.root, what="folder")
            except UnsafeFileError as exc:
                raise ConfigError(
                    exc.message, location=exc.location, hint="remove the symlink"
                ) from None
    return project


def load_project(config_path: Path) -> Project:
    """Load and validate promptctl.yaml; raises ConfigError naming file:line."""
    from promptctl.promptfile.schemas import schema_diagnostics

    root = Path(os.path.realpath(config_path.parent))
    config_path = root / config_path.name
    try:
        raw = read_file(config_path, root=root, what=CONFIG_NAME)
    except UnsafeFileError as exc:
        raise ConfigError(exc.message, location=exc.location, hint=exc.hint) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {config_path}: {exc.strerror}") from None
    try:
        doc = load_yaml(decode_text(raw, config_path), config_path, cache=True)
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
    url = _is_url(data, doc.locate)
    project = Project(
        root=root,
        config_path=config_path,
        prompts_dir=_inside(root, data, "prompts", doc),
        evals_dir=_inside(root, data, "evals", doc),
        releases_dir=root / data.get("releases", "releases"),
        providers=_providers(data.get("providers", {}), doc.locate, config_path),
        targets=tuple(data.get("targets", ())),
        judge=data.get("judge", "openai/gpt-4o-mini"),
        pricing={k: PriceOverride(**v) for k, v in data.get("pricing", {}).items()},
        gate=GateConfig(**data.get("gate", {})),
        budgets=data.get("budgets", {}),
        ledger_path=root / data["ledger"] if "ledger" in data and not url else None,
        ledger_url=_no_password(data["ledger"], "/ledger", doc.locate) if url else None,
        shared_state=_shared_state(data.get("shared_state"), doc.locate),
        lifecycle=_lifecycle(data.get("lifecycle", {}), doc.locate),
        candidates=tuple(data.get("candidates", ())),
        limits=Limits(**data.get("limits", {})),
        concurrency_set=frozenset(
            name for name, raw in data.get("providers", {}).items() if "max_concurrency" in raw
        ),
    )
    return _checked_writes(project)


def _inside(root: Path, data: dict[str, Any], key: str, doc: LocatedYaml) -> Path:
    """`prompts:`/`evals:` as an absolute path that must stay inside the project.

    Everything under them is read (and python checks under evals/ are executed), so
    `prompts: /etc` or a symlink out of the project would read files the project does
    not own.
    """
    path = Path(os.path.normpath(root / data.get(key, key)))
    try:
        confine(path, root, what=f"`{key}:` folder")
    except UnsafeFileError as exc:
        raise ConfigError(
            exc.message,
            location=doc.locate(f"/{key}"),
            hint=f"`{key}:` is a folder inside the project, relative to {CONFIG_NAME}",
        ) from None
    if path.exists() and not path.is_dir():
        raise ConfigError(
            f"`{key}:` {data.get(key, key)} is not a folder",
            location=doc.locate(f"/{key}"),
            hint=f"point `{key}:` at a folder inside the project",
        )
    return path


def _is_url(data: dict[str, Any], locate: Any) -> bool:
    """`ledger:` names the fleet's PostgreSQL database rather than a file."""
    if "ledger" not in data:
        return False
    try:
        return is_ledger_url(str(data["ledger"]))
    except ConfigError as exc:
        raise ConfigError(exc.message, location=locate("/ledger"), hint=exc.hint) from None


PG_SCHEMES = ("postgresql://", "postgres://")  # a ledger URL; any other URL is refused


def is_ledger_url(value: str) -> bool:
    """Whether a ledger (`ledger:`, `--ledger`, `Runtime.load(ledger=)`, PROMPTCTL_LEDGER)
    is the fleet's PostgreSQL database (True) or a SQLite file (False). Any other URL is
    a ConfigError: taken as a path, `mysql://host/db` made a folder named `mysql:`."""
    if value.startswith(PG_SCHEMES):
        return True
    scheme = urlsplit(value).scheme
    if "://" in value and len(scheme) > 1:  # `C:\\…` is a Windows path, not a URL
        raise ConfigError(
            f"ledger {scheme}://… is not a ledger: only postgresql:// URLs and file paths are",
            hint="a SQLite file path, or postgresql://user@host/db for the fleet's ledger",
        )
    return False


def _no_password(url: str, pointer: str, locate: Any) -> str:
    """A URL from promptctl.yaml; a password would be committed with the file: refused."""
    if urlsplit(url).password:
        key = pointer.strip("/")
        where = "PGPASSWORD (or ~/.pgpass)" if key == "ledger" else "PROMPTCTL_SHARED_STATE"
        raise ConfigError(
            f"{key}: the URL holds a password, and promptctl.yaml is committed",
            location=locate(pointer),
            hint=f"drop it here and put it in {where} in the environment",
        )
    return url


def _shared_state(url: str | None, locate: Any) -> str | None:
    """`shared_state:`, without a password (PROMPTCTL_SHARED_STATE carries that)."""
    return None if url is None else _no_password(url, "/shared_state", locate)


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
