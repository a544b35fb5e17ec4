"""What every command shares: consoles, error reporting, JSON output, atomic file writes.

Only the CLI layer (gdplay.cli.app and gdplay.cli.commands) imports this module; the core
never prints and never chooses an exit code.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from gdplay import files
from gdplay.errors import EXIT_INTERNAL, GdplayError, OutputError
from gdplay.render.text import SafeConsole
from gdplay.files import refuse_inputs

__all__ = ["refuse_inputs", "write_atomic", "write_atomic_bytes"]

F = TypeVar("F", bound=Callable[..., Any])


def out() -> Console:
    """Console for results on stdout (recreated per call so tests can capture it).

    Piped to a file or another program, rich would assume 80 columns and squeeze tables;
    we use 120 unless COLUMNS says otherwise (a COLUMNS that is not a positive width is unset).
    """
    sane_environment()
    console = SafeConsole(highlight=False, soft_wrap=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = SafeConsole(highlight=False, soft_wrap=False, width=120)
    return console


def err() -> Console:
    """Console for messages on stderr (like out(): user text in it is text, never markup)."""
    sane_environment()
    return SafeConsole(stderr=True, highlight=False)


def sane_environment() -> None:
    """COLUMNS or LINES that is not a positive number is treated as unset (rich would print
    nothing at width 0)."""
    for name in ("COLUMNS", "LINES"):
        value = os.environ.get(name)
        if value is not None and not (value.strip().isdigit() and 0 < int(value) < 100_000):
            del os.environ[name]


def report_error(exc: GdplayError) -> None:
    """One line on stderr: 'error: FILE:LINE:COL, key 'K': what was expected (did you mean ...)'."""
    # escape: messages quote user text (formulas, `w[i]`, 'gdplay[plot]'), not rich markup.
    err().print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True, emoji=False)


def report_internal(exc: BaseException) -> None:
    """An unexpected exception (a bug): one line on stderr and a crash report in a file."""
    import tempfile
    import time
    import traceback

    from gdplay import __version__

    report = (
        f"gdplay {__version__} internal error\n"
        f"command: {' '.join(sys.argv)!r}\npython: {sys.version.split()[0]}\n"
        f"platform: {sys.platform}\ntime: {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        fd, where = tempfile.mkstemp(prefix=f"gdplay-crash-{stamp}-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(report)
        saved = f"a crash report is in {where}; please attach it to a bug report"
    except OSError as io:
        saved = f"no crash report could be written ({io.strerror or io})"
    line = f"internal error: {type(exc).__name__}: {exc}"
    try:
        console = err()
        console.print(Text(line, style="bold red"), soft_wrap=True)
        console.print(Text(saved), soft_wrap=True)
    except Exception:  # noqa: BLE001 - stderr itself is broken; the exit code still says it
        pass


def guarded(fn: F) -> F:
    """Turn GdplayError into a one-line message and its exit code; never a traceback. Any other
    exception is a bug: 'internal error: ...', a crash report, exit 70."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GdplayError as exc:
            report_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, click.exceptions.Exit, click.ClickException, click.Abort, BrokenPipeError, PipeClosed):
            raise
        except Exception as exc:  # noqa: BLE001 - the one place a bug becomes exit 70
            report_internal(exc)
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper  # type: ignore[return-value]


class PipeClosed(BaseException):  # noqa: N818 - not an error: the reader has gone (`| head -1`)
    """The reader of stdout went away; a BaseException so that click does not turn it into exit 1."""


class GuardedStream:
    """sys.stdout as gdplay writes it: what the encoding cannot hold written with ASCII
    fallbacks (not a UnicodeEncodeError), a closed pipe a quiet PipeClosed, and any other
    write failure (a full disk) an OutputError: exit 2 with one line on stderr."""

    def __init__(self, stream: Any):
        self._stream = stream
        self.failed = False  # a write failed: what is left in the buffer can never be written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _guard(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except BrokenPipeError:
            self.failed = True
            raise PipeClosed() from None
        except OSError as exc:
            self.failed = True
            raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None

    def write(self, text: str) -> int:
        return int(self._guard(lambda: self._stream.write(text)))

    def flush(self) -> None:
        self._guard(self._stream.flush)


def ascii_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler 'gdplay-fallback': a character the stream's encoding lacks becomes its
    ASCII look-alike (∇ → grad, ² → ^2, − → -, box drawing → + - |), else '?'."""
    import unicodedata

    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = []
    for char in exc.object[exc.start : exc.end]:
        if char in FALLBACKS:
            out.append(FALLBACKS[char])
            continue
        name = unicodedata.name(char, "")
        if name.startswith("GREEK SMALL LETTER ") or name.startswith("GREEK CAPITAL LETTER "):
            word = name.rsplit(" ", 1)[-1].lower()
            out.append(word if "SMALL" in name else word.capitalize())
        elif name.startswith("BOX DRAWINGS"):
            out.append(_box(name))
        else:
            plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append(plain or "?")
    return "".join(out), exc.end


def _box(name: str) -> str:
    """'BOX DRAWINGS HEAVY VERTICAL' → '|', '... HORIZONTAL' → '-', a corner or junction → '+'."""
    words = set(name.split())
    if words & {"DOWN", "UP", "LEFT", "RIGHT"} or {"VERTICAL", "HORIZONTAL"} <= words:
        return "+"
    return "|" if "VERTICAL" in words else "-"


FALLBACKS = {
    "∇": "grad ", "²": "^2", "³": "^3", "⁻": "^-", "¹": "^1", "⁰": "^0", "ᵀ": "^T", "½": "1/2",
    "−": "-", "×": "x", "·": "*", "≈": "~", "≤": "<=", "≥": ">=", "≠": "!=", "→": "->", "←": "<-",
    "…": "...", "★": "*", "○": "o", "■": "#", "✕": "x", "✓": "ok", "✗": "x", "√": "sqrt", "∞": "inf",
    "‖": "||", "—": "--", "–": "-", "“": '"', "”": '"', "‘": "'", "’": "'", "▁": "_", "▂": "_",
    "▃": "-", "▄": "-", "▅": "=", "▆": "=", "▇": "#", "█": "#", "•": "*", "±": "+/-", "∈": " in ",
}


def install_streams() -> None:
    """Set up stdout and stderr for a command-line run (called once by `main`)."""
    import codecs

    codecs.register_error("gdplay-fallback", ascii_fallback)
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:  # closed (`2>&-`): what would go there is dropped, exit codes stay
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the process
            continue
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
        if not encoding.startswith("utf") and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="gdplay-fallback")
    if not isinstance(sys.stdout, GuardedStream):
        sys.stdout = GuardedStream(sys.stdout)  # type: ignore[assignment]


def json_text(document: Any) -> str:
    """A valid JSON document (NaN/inf must already be None: allow_nan=False)."""
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def emit_json(document: Any) -> None:
    """One valid JSON document on stdout."""
    sys.stdout.write(json_text(document))
    sys.stdout.flush()


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """files.write_atomic, with `-` meaning standard output (only the CLI prints)."""
    if str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        files.write_atomic(path, text)


def write_atomic_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """files.write_atomic_bytes, with `-` meaning standard output."""
    if str(path) == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        files.write_atomic_bytes(path, data)
