"""Text for a terminal from sources we do not control: control characters shown, not run.

Model output, provider error bodies, prompt ids, test names, file names and tags can all
carry terminal escapes: `ESC ] 0 ; title BEL` renames the window, `ESC [ 2 J` clears the
screen, OSC 8 fakes a hyperlink, `\\r` overwrites a line (a FAIL repainted as PASS). The CLI
shows every control character as an escape (`\\x1b`, `\\r`) instead; three entry points
together cover every byte it writes:

- `neutral_streams()` (around the whole CLI run) wraps `sys.stdout`/`sys.stderr`, so
  every `typer.echo`, `print` and `sys.stderr.write` is neutralised;
- `neutral_console()` is the rich console of the CLI: it writes past that filter (rich's
  own colours and progress bar must pass) and neutralises the *text* of everything it
  renders, never rich's styling (a render hook over the segments; rich itself already
  drops BEL, backspace, VT, FF and CR from text);
- `write_data()` prints machine-readable formats: exact when stdout is a file or pipe,
  neutralised on a terminal.

Kept: newline and tab. Shown escaped: the other C0 controls, DEL, C1 (`\\x9b` is a CSI on
some terminals) and the bidirectional overrides/isolates ("Trojan Source" reordering).

CI logs are read by a machine first: a line starting with `::` is a GitHub Actions
workflow command (`::error …::` forges an annotation, `::add-mask::` hides text), `##vso[`
an Azure Pipelines one. Every stream above (`write_data` too, except for the commands
`lint --format github` writes on purpose) puts a zero-width space into such a line
(`:\\u200b:error`), which reads the same and runs nothing (`CommandGuard`).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO, cast

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult

__all__ = [
    "CommandGuard",
    "NeutralStream",
    "neutral_console",
    "neutral_streams",
    "neutralize",
    "raw_stream",
    "write_data",
]

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\r": "\\r", "\x1b": "\\x1b"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def neutralize(text: str) -> str:
    """`text` with every control character but newline and tab shown as an escape."""
    return _UNSAFE.sub(_escape, text)


_COMMAND = re.compile(r"(?<=\n)([ \t]*)(:)(?=:)|(?<=\n)([ \t]*)(#)(?=#(?:vso)?\[)")


def _defang(match: re.Match[str]) -> str:
    indent, char = (match.group(1), match.group(2)) if match.group(2) else match.group(3, 4)
    return f"{indent}{char}\u200b"


def _is_unicode(encoding: str) -> bool:
    """Whether `encoding` can write any character (UTF-8, -16, -32)."""
    import codecs

    try:
        return codecs.lookup(encoding).name.startswith("utf")
    except LookupError:
        return False


class CommandGuard:
    """Writes to `raw`, breaking CI log commands at line starts (see the module docstring)."""

    def __init__(self, raw: TextIO) -> None:
        self.raw = raw
        self.encoding: str = getattr(raw, "encoding", None) or "utf-8"
        self.errors: str = getattr(raw, "errors", None) or "strict"
        self._line_start = True
        # a stream that cannot take every character (a Windows console's code page, a
        # pipe under PYTHONIOENCODING=ascii) gets "?" for the others (✓, 🛑, a model's
        # text), not a UnicodeEncodeError in the middle of a report
        self._lossy = self.errors == "strict" and not _is_unicode(self.encoding)

    def write(self, s: str) -> int:
        if not s:
            return 0
        text = _COMMAND.sub(_defang, ("\n" if self._line_start else " ") + s)[1:]
        self._line_start = s.endswith("\n")
        if self._lossy:
            text = text.encode(self.encoding, "replace").decode(self.encoding)
        if not self._gone:
            try:
                self.raw.write(text)
            except BrokenPipeError:
                self._reader_gone()
        return len(s)

    # The reader went away (`promptctl test | head`): the rest of the output is dropped
    # and the command goes on to its own exit code (a passed run is still 0, not click's
    # 1 for a broken pipe). The stream's descriptor is pointed at /dev/null, so Python's
    # own flush at exit finds nothing to complain about.
    _gone = False

    def _reader_gone(self) -> None:
        self._gone = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self.raw.fileno())
            os.close(null)
        except (OSError, ValueError, AttributeError):  # no descriptor (a test's StringIO)
            pass

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        if not self._gone:
            try:
                self.raw.flush()
            except BrokenPipeError:
                self._reader_gone()

    def isatty(self) -> bool:
        return self.raw.isatty()

    def fileno(self) -> int:
        return self.raw.fileno()


class NeutralStream:
    """A text stream that writes `neutralize(text)` to `raw` (looks like `raw` otherwise).

    No `buffer` attribute on purpose: click/typer would write bytes around it. rich
    consoles write to `rich_proxied_file` (rich's own protocol for wrapped streams), the
    raw stream: their colours and cursor moves must pass. promptctl's consoles neutralise
    their text themselves (`neutral_console`); typer's print only its own help and usage.
    """

    def __init__(self, raw: TextIO) -> None:
        self.raw = raw
        self.rich_proxied_file = CommandGuard(raw)
        self.encoding: str = getattr(raw, "encoding", None) or "utf-8"
        self.errors: str = getattr(raw, "errors", None) or "strict"

    def write(self, s: str) -> int:
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        self.rich_proxied_file.write(neutralize(s))
        return len(s)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self.rich_proxied_file.flush()

    def isatty(self) -> bool:
        return self.raw.isatty()

    def fileno(self) -> int:
        return self.raw.fileno()


def raw_stream(stream: TextIO) -> TextIO:
    """What a NeutralStream writes to, with only CI commands broken (for rich, which
    neutralises its own text); any other stream as is."""
    if isinstance(stream, NeutralStream):
        return cast("TextIO", stream.rich_proxied_file)
    return stream


def write_data(text: str, *, ci_commands: bool = False) -> None:
    """Machine-readable output (JSON, CSV, SARIF, markdown) on stdout: the exact text for
    a file or a pipe (an escape added to JSON or CSV would corrupt it), neutralised when
    a person reads it on a terminal. CI log commands at line starts are broken unless
    `ci_commands` (GitHub annotations that `lint --format github` writes on purpose)."""
    out = raw_stream(sys.stdout)
    if ci_commands and isinstance(out, CommandGuard):
        out = out.raw
    isatty = getattr(out, "isatty", None)
    out.write(neutralize(text) if callable(isatty) and isatty() else text)
    out.flush()


@contextmanager
def neutral_streams() -> Iterator[None]:
    """Neutralise everything written to sys.stdout/sys.stderr inside the block."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = NeutralStream(saved[0]), NeutralStream(saved[1])
    try:
        yield
    finally:
        for wrapper in (sys.stdout, sys.stderr):
            if isinstance(wrapper, NeutralStream):
                wrapper.flush()
        sys.stdout, sys.stderr = saved


class _Neutral:
    """A renderable whose text segments are neutralised (control segments pass)."""

    def __init__(self, inner: RenderableType) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        for segment in console.render(self.inner, options):
            if segment.control is None and _UNSAFE.search(segment.text):
                yield Segment(neutralize(segment.text), segment.style)
            else:
                yield segment

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Any:
        from rich.measure import Measurement

        return Measurement.get(console, options, self.inner)


def neutral_console(*, stderr: bool = False, **kwargs: Any) -> Console:
    """A rich Console on the raw stdout/stderr whose rendered text is neutralised."""
    from rich.console import Console, RenderHook

    class _Hook(RenderHook):
        def process_renderables(self, renderables: list[Any]) -> list[Any]:
            return [_Neutral(r) for r in renderables]

    stream = raw_stream(sys.stderr if stderr else sys.stdout)
    console = Console(file=stream, **kwargs)
    console.push_render_hook(_Hook())
    return console
