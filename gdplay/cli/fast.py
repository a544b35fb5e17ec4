"""A short way in for the commands that compute nothing: `list`, `schema`, `init`, `--version`.

Typer parses every command line by building a pydantic TypeAdapter per parameter, and importing
pydantic for it costs more than such a command's whole work (0.1–0.2 s of a 0.35 s process).
So `main` first offers the arguments to `dispatch`: a plain form of one of these commands (the
forms below, nothing else) calls the very function typer would call, with the values typer would
pass. Anything else (`--help`, a misspelt option, a repeated one, `--opt=value` forms, a value
that starts with '-') returns False and goes to typer, which then answers as it always has.
tests/test_startup.py runs each plain form both ways and compares output and exit code.

    gdplay list [--json]
    gdplay schema [--output COMMAND | --write PATH]
    gdplay init NAME [--objective NAME] [--optimizer NAME] [--force]   (options in any order)
    gdplay --version
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def parse(args: Sequence[str], flags: set[str], options: set[str], positionals: int) -> dict[str, Any] | None:
    """Split `args` into flags (True when given), options (their values) and exactly
    `positionals` positional arguments (key '_'); None for anything not in the plain form."""
    out: dict[str, Any] = {"_": []}
    items = list(args)
    while items:
        item = items.pop(0)
        if item in flags and item not in out:
            out[item] = True
        elif item in options and item not in out and items and not items[0].startswith("-"):
            out[item] = items.pop(0)
        elif not item.startswith("-"):
            out["_"].append(item)
        else:
            return None
    return out if len(out["_"]) == positionals else None


def plan(args: Sequence[str]) -> Callable[[], Any] | None:
    """The call typer would make for `args`, or None when typer must parse them."""
    if not args:
        return None
    head, rest = args[0], args[1:]
    if head == "--version" and not rest:
        return _version
    if head == "list":
        got = parse(rest, {"--json"}, set(), 0)
        if got is None:
            return None
        from gdplay.cli.commands.list_cmd import list_

        json_out = "--json" in got
        return lambda: list_(json_out=json_out)
    if head == "schema":
        got = parse(rest, set(), {"--output", "--write"}, 0)
        if got is None or ("--output" in got and "--write" in got):
            return None
        from gdplay.cli.commands.schema import schema

        write, output = (Path(got["--write"]) if "--write" in got else None), got.get("--output")
        return lambda: schema(write=write, output=output)
    if head == "init":
        got = parse(rest, {"--force"}, {"--objective", "--optimizer"}, 1)
        if got is None:
            return None
        from gdplay.cli.commands.init import init

        values = {
            "name": got["_"][0],
            "objective": got.get("--objective"),
            "optimizer": got.get("--optimizer", "sgd"),
            "force": "--force" in got,
        }
        return lambda: init(**values)
    return None


def _version() -> None:
    from gdplay import __version__

    print(f"gdplay {__version__}")


def dispatch(args: Sequence[str]) -> bool:
    """Run `args` without typer when they are a plain form (then end with SystemExit, as typer
    does: 0, or the exit code a command chose; Ctrl-C 130); False when typer must parse them."""
    call = plan(args)
    if call is None:
        return False
    import click
    import typer

    try:
        call()
    except (typer.Exit, click.exceptions.Exit) as exc:  # how `guarded` ends a command with a code
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    raise SystemExit(0)
