"""The command line: the only place that prints and chooses exit codes.

Commands live in gdplay/cli/commands/ (one registry); this module builds the typer
app from it. Nothing here imports torch, so `gdplay --help` answers instantly.
"""

from __future__ import annotations

import os
import sys

import typer

from gdplay import __version__
from gdplay.cli.commands import load_commands

HELP = f"""gdplay {__version__}: a gradient-descent playground on PyTorch.

Exit codes: 0 ok, 1 expectations not met, 2 usage error, 3 invalid config,
4 a run diverged, 130 interrupted.
"""


def build_app() -> typer.Typer:
    app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    for spec in load_commands().values():
        app.command(spec.name, help=spec.help)(spec.fn)

    @app.callback(invoke_without_command=True)
    def _root(
        version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    ) -> None:
        if version:
            typer.echo(f"gdplay {__version__}")
            raise typer.Exit(0)

    return app


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point. Typer maps Ctrl-C to exit 130 and usage errors to exit 2;
    output to a closed pipe (`gdplay run ... | head -1`) ends quietly."""
    app = build_app()
    try:
        app(args=argv, prog_name="gdplay")
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush stays quiet
        sys.exit(0)
