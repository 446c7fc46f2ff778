"""Prompt files -> `Prompt` objects, collecting every problem with file:line:column.

Everything is read through a `FileSource`, so the same code loads the working tree
or a git commit (the gate's base ref). Building the `Prompt` from valid data is
`prompt_build`; the tests and datasets of a prompt are `testcases` and `datasets`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptctl.errors import PromptFileError, RenderError, SourceLocation, UsageError
from promptctl.promptfile.diagnostics import Diagnostic
from promptctl.promptfile.hashing import content_hash
from promptctl.promptfile.model import Project, Prompt
from promptctl.promptfile.project import find_project, load_project
from promptctl.promptfile.prompt_build import build_prompt, default_id, failing_include
from promptctl.promptfile.rules import finding
from promptctl.promptfile.safe_io import FileTooLargeError, confine, excerpt
from promptctl.promptfile.salvage import salvage
from promptctl.promptfile.schemas import did_you_mean, schema_findings
from promptctl.promptfile.selection import UNKNOWN, declared_id, matches
from promptctl.promptfile.semver import parse_semver, suggest_semver
from promptctl.promptfile.sources import FileSource, WorkingTreeSource
from promptctl.promptfile.yaml_loader import LocatedYaml, decode_text, load_yaml

__all__ = [
    "FileLoad",
    "LoadResult",
    "discover_prompt_files",
    "find_project",
    "load_partials",
    "load_project",
    "load_prompt",
    "load_prompt_file",
    "load_prompts",
    "partials_dir",
]

PROMPT_SUFFIXES = (".yaml", ".yml")
PARTIALS = "_partials"


@dataclass
class FileLoad:
    """One file's outcome: the prompt if it could be built, and every finding."""

    path: Path
    prompt: Prompt | None = None
    doc: LocatedYaml | None = None
    default_id: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # where `id:` is (None: the id comes from the path); kept when `doc` is dropped
    id_location: SourceLocation | None = None
    # a file that could not be built: the id its text declares, if one can be seen
    # (`promptctl render ID` then shows that file's error, not "no prompt with id")
    declared_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.prompt is not None and not any(d.is_error for d in self.diagnostics)


@dataclass
class LoadResult:
    """`prompts` holds only error-free prompts; `files` keeps every file's outcome."""

    prompts: list[Prompt]
    diagnostics: list[Diagnostic]
    files: list[FileLoad] = field(default_factory=list)
    partials: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    def get(self, prompt_id: str) -> Prompt:
        """The prompt with this id (or file path); UsageError with a suggestion otherwise."""
        prompt_id = self._id_of_path(prompt_id) or prompt_id
        for prompt in self.prompts:
            if prompt.id == prompt_id:
                return prompt
        broken = [
            f
            for f in self.files
            if (f.prompt.id if f.prompt is not None else f.declared_id or f.default_id) == prompt_id
        ]
        errors = [d for d in broken[0].diagnostics if d.is_error] if broken else []
        if errors:
            first = errors[0]
            more = f" (and {len(errors) - 1} more; run `promptctl lint`)" if len(errors) > 1 else ""
            raise PromptFileError(first.message + more, location=first.location, hint=first.hint)
        guess = did_you_mean(prompt_id, [p.id for p in self.prompts])
        raise UsageError(
            f"no prompt with id {prompt_id!r}",
            hint=f"did you mean {guess!r}?" if guess else "run `promptctl list` to see the ids",
        )

    def _id_of_path(self, ref: str) -> str | None:
        """Users often pass `prompts/a.yaml` where an id is expected: accept it."""
        if not ref.endswith(PROMPT_SUFFIXES):
            return None
        target = Path(ref).resolve()
        for f in self.files:
            if f.path == target:
                return f.prompt.id if f.prompt is not None else f.default_id
        return None


def partials_dir(project: Project) -> Path:
    return project.prompts_dir / PARTIALS


def discover_prompt_files(
    project: Project, paths: Sequence[Path] | None = None, *, source: FileSource | None = None
) -> list[Path]:
    """`prompts/**/*.yaml|yml` (or the given files/folders), excluding `_partials/`.

    Raises UnsafeFileError when a folder or file given resolves outside the project.
    """
    src = source or WorkingTreeSource()
    roots = [p.resolve() for p in paths] if paths else [project.prompts_dir]
    found: set[Path] = set()
    for root in roots:
        if isinstance(src, WorkingTreeSource):
            confine(root, project.root, what="prompts folder" if not paths else "path")
        if src.is_file(root):
            if root.suffix in PROMPT_SUFFIXES:
                found.add(root)
            continue
        if isinstance(src, WorkingTreeSource) and paths and not root.exists():
            raise UsageError(f"no such file or directory: {root}")
        for path in src.list_files(root):
            if path.suffix in PROMPT_SUFFIXES and PARTIALS not in path.relative_to(root).parts:
                found.add(path)
    return sorted(found)


def load_partials(project: Project, source: FileSource | None = None) -> dict[str, str]:
    """Every file under `prompts/_partials/` as {relative name: text}.

    Raises UnsafeFileError (exit 2) for a partial that leaves the project (a symlink to
    `/proc/self/environ`), is not a regular file or is too large: nothing is rendered.
    """
    src = source or WorkingTreeSource()
    base = partials_dir(project)
    out: dict[str, str] = {}
    for path in src.list_files(base):
        data = src.read_bytes(path, root=project.root, what="partial")
        out[path.relative_to(base).as_posix()] = decode_text(data, path)
    return out


def load_prompt_file(
    path: Path,
    project: Project,
    *,
    source: FileSource | None = None,
    text: str | None = None,
    partials: dict[str, str] | None = None,
) -> FileLoad:
    """Parse, validate and build one prompt, collecting every finding."""
    src = source or WorkingTreeSource()
    result = FileLoad(path=path, default_id=default_id(path, project))
    diags = result.diagnostics
    try:
        if text is None:
            text = _read_prompt_file(path, project, src)
        doc = load_yaml(text, path, cache=True)
    except FileNotFoundError:
        diags.append(finding("PC001", "file not found", SourceLocation(path)))
        return result
    except PromptFileError as exc:
        diags.append(finding("PC001", exc.message, exc.location, exc.hint))
        result.declared_id = _id_line(text) if text is not None else None
        return result
    result.doc = doc
    if isinstance(doc.data, dict) and "id" in doc.data:
        result.id_location = doc.locate("/id")
    for ptr, (line, col), first in doc.duplicates:
        key = ptr.rsplit("/", 1)[-1]
        diags.append(
            finding(
                "PC002",
                f"duplicate key '{key}' (first defined on line {first})",
                SourceLocation(path, line, col),
                "YAML keeps only the last one; remove or merge the other",
            )
        )
    data: dict[str, Any] = doc.data
    diags.extend(_version_findings(data, doc, text))
    findings = schema_findings(doc, "prompt", skip=frozenset({"/version"}))
    diags.extend(d for _, d in findings)
    if findings:
        salvaged = salvage(data, [path for path, _ in findings])
        if salvaged is None:
            declared = data.get("id") if isinstance(data, dict) else None
            result.declared_id = declared if isinstance(declared, str) else None
            return result
        data = salvaged
    prompt = build_prompt(data, doc, path, project, src, diags)
    table = partials if partials is not None else load_partials(project, src)
    try:
        prompt = dataclasses.replace(prompt, content_hash=content_hash(prompt, table))
    except RenderError as exc:
        loc = failing_include(prompt, table, doc)
        diags.append(finding("PC012", exc.message, loc, exc.hint))
    result.prompt = prompt
    return result


_ID_LINE = re.compile(r"""^id:[ \t]*(?:"([^"\n]+)"|'([^'\n]+)'|([^\s#'"]+))""", re.MULTILINE)


def _id_line(text: str) -> str | None:
    """The `id:` a file that YAML cannot read still shows on a top-level line of its own."""
    match = _ID_LINE.search(text)
    return next((g for g in match.groups() if g), None) if match else None


def _read_prompt_file(path: Path, project: Project, src: FileSource) -> str:
    """The file's text, within `limits.max_prompt_file_bytes` (the error says how to go on)."""
    limit = project.limits.max_prompt_file_bytes
    try:
        raw = src.read_bytes(path, root=project.root, limit=limit, what="prompt file")
    except FileTooLargeError as exc:
        raise PromptFileError(
            exc.message,
            location=exc.location,
            hint="move the tests into a dataset file (`dataset: evals/<name>.jsonl`), or "
            f"raise `limits: {{max_prompt_file_bytes: {2 * limit}}}` in promptctl.yaml",
        ) from None
    return decode_text(raw, path, limit=limit)


def _version_findings(data: dict[str, Any], doc: LocatedYaml, text: str) -> list[Diagnostic]:
    """PC005 with a hint that is itself valid semver (built from the source text)."""
    if "version" not in data:
        return []
    version = data["version"]
    where = doc.locate("/version")
    if isinstance(version, str) and parse_semver(version) is not None:
        return []
    lines = text.splitlines()
    raw = str(version)
    if where.line is not None and where.column is not None and where.line <= len(lines):
        raw = lines[where.line - 1][where.column - 1 :].split(" #", 1)[0]
    guess = suggest_semver(raw)
    hint = (
        f'use a quoted MAJOR.MINOR.PATCH: version: "{guess}"'
        if guess
        else 'use MAJOR.MINOR.PATCH, e.g. version: "1.0.0"'
    )
    if not isinstance(version, str):
        got = repr(version)
        message = f"version must be a string, got {got if len(got) <= 60 else excerpt(got)}"
    else:
        message = f"invalid version {excerpt(version)}: not semver"
    return [finding("PC005", message, where, hint)]


def _explicit_id(loaded: FileLoad) -> bool:
    return loaded.id_location is not None


def _report_clash(loaded: FileLoad, other: FileLoad, project: Project) -> None:
    prompt_id = loaded.prompt.id if loaded.prompt else loaded.default_id
    try:
        where = other.path.relative_to(project.root).as_posix()
    except ValueError:
        where = str(other.path)
    how = "has it as `id:`" if _explicit_id(other) else "gets it from its path"
    loaded.diagnostics.append(
        finding(
            "PC006",
            f"duplicate prompt id '{prompt_id}' ({where} {how})",
            loaded.id_location or SourceLocation(loaded.path),
            "ids must be unique; rename one file or set a different `id:`",
        )
    )


def load_prompt(
    path: Path,
    project: Project | None = None,
    *,
    text: str | None = None,
    source: FileSource | None = None,
) -> Prompt:
    """Load one prompt file; raises PromptFileError for its first error."""
    proj = project or find_project(path.parent)
    loaded = load_prompt_file(path.resolve(), proj, source=source, text=text)
    errors = [d for d in loaded.diagnostics if d.is_error]
    if errors or loaded.prompt is None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more; run `promptctl lint`)" if len(errors) > 1 else ""
        raise PromptFileError(first.message + more, location=first.location, hint=first.hint)
    return loaded.prompt


def load_prompts(
    project: Project,
    paths: Sequence[Path] | None = None,
    *,
    source: FileSource | None = None,
    keep_docs: bool = True,
    id_globs: Sequence[str] = (),
) -> LoadResult:
    """Load every prompt file; collects all findings, refuses duplicate ids.

    `keep_docs=False` drops each file's parsed YAML once its prompt is built (`FileLoad.doc`,
    positions of every node, and `Prompt.raw`, which only lint reads): a run needs only
    the prompts, and 10,000 inline tests hold ~25 MB of positions and ~9 MB of raw data.

    `id_globs` (`promptctl test team/qa`): only the files these select are loaded and
    reported, each as it would be in a full load, with the files sharing a selected
    prompt's id (a duplicate id is still refused). A broken file that is not selected
    does not stop the run; `promptctl lint` reports it. A file is selected by its path,
    its id, or the `id:` its text declares (a broken file: its path-derived id).
    """
    src = source or WorkingTreeSource()
    partials = load_partials(project, src)
    found = discover_prompt_files(project, paths, source=src)
    texts: dict[Path, str | None] = dict.fromkeys(found)
    ids: dict[Path, str] = {}  # the id of each file read before loading (`_candidates`)
    if id_globs:
        texts, ids = _candidates(found, project, src, id_globs)
    files = [_load(path, text, project, src, partials, keep_docs) for path, text in texts.items()]
    if id_globs:  # a file not selected that has the id of a selected prompt: a duplicate
        taken = {f.prompt.id for f in files if f.prompt is not None}
        clashing = [p for p, pid in ids.items() if p not in texts and pid in taken]
        files += [_load(path, None, project, src, partials, keep_docs) for path in clashing]
        files.sort(key=lambda f: f.path)
    _refuse_duplicate_ids(files, project)
    if id_globs:
        files = _selected_files(files, id_globs, {p: ids.get(p) for p in texts})
    return LoadResult(
        prompts=[f.prompt for f in files if f.ok and f.prompt is not None],
        diagnostics=[d for f in files for d in f.diagnostics],
        files=files,
        partials=partials,
    )


def _load(
    path: Path,
    text: str | None,
    project: Project,
    src: FileSource,
    partials: dict[str, str],
    keep_docs: bool,
) -> FileLoad:
    loaded = load_prompt_file(path, project, source=src, text=text, partials=partials)
    if not keep_docs:
        loaded.doc = None
        if loaded.prompt is not None:
            loaded.prompt = dataclasses.replace(loaded.prompt, raw={})
    return loaded


def _candidates(
    found: list[Path], project: Project, src: FileSource, globs: Sequence[str]
) -> tuple[dict[Path, str | None], dict[Path, str]]:
    """The files `globs` may select ({path: its text, if read}), and every id read.

    A file is a candidate when its path or path-derived id matches, when the `id:` its
    text declares matches, or when that cannot be told without loading it. The ids
    read (the declared one, else the path-derived one) find the duplicates of a
    selected id among the files not loaded.
    """
    candidates: dict[Path, str | None] = {}
    ids: dict[Path, str] = {}
    for path in found:
        own = default_id(path, project)
        if any(matches(own, path, g) for g in globs):
            candidates[path] = None
            continue
        try:
            text = _read_prompt_file(path, project, src)
        except (OSError, PromptFileError):
            candidates[path] = None  # loading it reports the problem exactly
            continue
        declared = declared_id(text)
        if declared == UNKNOWN:
            candidates[path] = text
            continue
        ids[path] = declared or own
        if declared is not None and any(matches(declared, path, g) for g in globs):
            candidates[path] = text
    return candidates, ids


def _selected_files(
    files: list[FileLoad], globs: Sequence[str], declared: dict[Path, str | None]
) -> list[FileLoad]:
    """The files the globs select (`declared`: the candidates, with the id their text
    declares), and the files that share the id of a selected prompt."""

    def chosen(f: FileLoad) -> bool:
        if f.path not in declared:
            return False  # loaded only to find a duplicate id
        names = [f.prompt.id if f.prompt is not None else f.default_id, declared[f.path]]
        return any(matches(n, f.path, g) for n in names if n is not None for g in globs)

    selected = {id(f) for f in files if chosen(f)}
    ids = {f.prompt.id for f in files if id(f) in selected and f.prompt is not None}
    return [f for f in files if id(f) in selected or (f.prompt is not None and f.prompt.id in ids)]


def _refuse_duplicate_ids(files: list[FileLoad], project: Project) -> None:
    by_id: dict[str, FileLoad] = {}
    for loaded in files:
        if loaded.prompt is None:
            continue
        other = by_id.get(loaded.prompt.id)
        if other is None:
            by_id[loaded.prompt.id] = loaded
            continue
        # blame the file whose `id:` causes the clash, not the one named after its path
        swap = _explicit_id(other) and not _explicit_id(loaded)
        blamed, kept = (other, loaded) if swap else (loaded, other)
        by_id[loaded.prompt.id] = kept
        _report_clash(blamed, kept, project)
