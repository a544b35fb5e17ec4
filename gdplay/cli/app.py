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
4 a run diverged, 70 internal error (a crash report is written), 130 interrupted.
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
    output to a closed pipe (`gdplay list | head -1`) ends quietly with exit 0; stdout that
    cannot be written (`> /dev/full`) is exit 2; a stdout whose encoding is not UTF-8 gets
    ASCII fallbacks; any unexpected exception is 'internal error: ...', a crash report, exit 70."""
    from gdplay.cli.shell import PipeClosed, install_streams, report_error, report_internal
    from gdplay.errors import EXIT_INTERNAL, EXIT_OK, GdplayError

    install_streams()
    code: int | str | None = EXIT_OK
    try:
        from gdplay.cli import fast

        if not fast.dispatch(sys.argv[1:] if argv is None else argv):  # list, schema, init without typer
            app = build_app()
            app(args=argv, prog_name="gdplay")
    except SystemExit as exc:
        code = exc.code
    except (BrokenPipeError, PipeClosed):
        code = EXIT_OK
    except GdplayError as exc:  # raised outside a command (help text written to a full disk)
        report_error(exc)
        code = exc.exit_code
    except Exception as exc:
        report_internal(exc)
        code = EXIT_INTERNAL
    try:
        sys.stdout.flush()
        broken = getattr(sys.stdout, "failed", False)
    except (BrokenPipeError, PipeClosed):
        broken = True
    except GdplayError as exc:
        report_error(exc)
        code, broken = code or exc.exit_code, True
    if broken:
        _quiet_stdout()
    sys.exit(code)


def _quiet_stdout() -> None:
    """Point file descriptor 1 at /dev/null, so the interpreter's final flush of what a closed
    pipe or a full disk did not take stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ is not None else 1)
    except (OSError, ValueError):
        pass
