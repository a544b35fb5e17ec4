"""What every command shares: consoles, error reporting, JSON output, atomic file writes.

Only the CLI layer (gdplay.cli and gdplay.commands) imports this module; the core
never prints and never chooses an exit code.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from gdplay.errors import GdplayError, UsageError

F = TypeVar("F", bound=Callable[..., Any])


def out() -> Console:
    """Console for results on stdout (recreated per call so tests can capture it).

    Piped to a file or another program, rich would assume 80 columns and squeeze tables;
    we use 120 unless COLUMNS says otherwise.
    """
    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, soft_wrap=False, width=120)
    return console


def err() -> Console:
    return Console(stderr=True, highlight=False)


def report_error(exc: GdplayError) -> None:
    """One line on stderr: 'error: FILE:LINE:COL, key 'K': what was expected (did you mean ...)'."""
    # escape: messages quote user text (formulas, `w[i]`, 'gdplay[plot]'), not rich markup.
    err().print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True, emoji=False)


def guarded(fn: F) -> F:
    """Turn GdplayError into a one-line message and its exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GdplayError as exc:
            report_error(exc)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def json_text(document: Any) -> str:
    """A valid JSON document (NaN/inf must already be None: allow_nan=False)."""
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def emit_json(document: Any) -> None:
    """One valid JSON document on stdout."""
    sys.stdout.write(json_text(document))
    sys.stdout.flush()


def write_atomic(path: str | Path, text: str) -> None:
    """Write a file via a temporary file in the same folder and a rename, so a reader (or an
    interruption) sees the old file or the new one, never a truncated one."""
    write_atomic_bytes(path, text.encode("utf-8"))


def write_atomic_bytes(path: str | Path, data: bytes) -> None:
    """write_atomic for bytes (pictures). A file that cannot be written is a UsageError naming it."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(target))  # mkstemp makes 0600 files; give it the mode open() would
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_for(target: Path) -> int:
    """The permission bits a plain open() would give: the old file's, else 0666 less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
