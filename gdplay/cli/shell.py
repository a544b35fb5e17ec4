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

import typer
from rich.console import Console
from rich.markup import escape

from gdplay import files
from gdplay.errors import GdplayError
from gdplay.files import refuse_inputs

__all__ = ["refuse_inputs", "write_atomic", "write_atomic_bytes"]

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
