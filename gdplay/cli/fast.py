"""A short way in for plain command lines: the command's function called without typer's parser.

Typer parses every command line by building a pydantic TypeAdapter per parameter; importing
pydantic and building them costs more than `list`, `schema` or `init` do in all (0.1–0.2 s of a
0.35 s process) and a tenth of a small `run`. So `main` first offers the arguments to
`dispatch`: a plain form of a command below calls the very function typer would call, with the
values typer would pass (each parameter's declared default, the flags and values given). A
plain form is made of

- the command's positional arguments (a path or a name; `run` and `check` take one or more),
- its on/off flags, each at most once (`--json`, `--plain`, `--force`, ...),
- its text or path options (`--objective NAME`, `--write PATH`) as two words, each at most once,
  whose value does not start with '-'.

Anything else (`--help`, a number option such as `--steps 5`, a list option such as `--set`, a
misspelt or repeated option, `--opt=value`, `--`) returns False and goes to typer, which answers
as it always has. tests/test_startup.py checks that both ways pass the same values for many
lines, and runs some both ways to compare what they print, write and exit with.

    gdplay list [--json]                 gdplay run FILE... [--json] [--plain] [--run NAME]
    gdplay schema [--output COMMAND]     gdplay explain FILE [--json] [--modes]
    gdplay init NAME [--objective NAME] [--optimizer NAME] [--force]
    gdplay --version                     (and grad, hessian, compare, check, show alike)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

COMMANDS = {
    "list": "list_cmd",
    "schema": "schema",
    "init": "init",
    "run": "run",
    "explain": "explain",
    "grad": "grad",
    "hessian": "hessian",
    "compare": "compare",
    "check": "check",
    "show": "show",
}
TEXT = {"str", "str | None", "Path", "Path | None"}  # option annotations taken as one word


def plan(args: Sequence[str]) -> tuple[Callable[..., Any], dict[str, Any]] | None:
    """(the function typer would call for `args`, its keyword arguments), or None when typer
    must parse them."""
    if not args:
        return None
    if list(args) == ["--version"]:
        return _version, {}
    module = COMMANDS.get(args[0])
    if module is None:
        return None
    import importlib

    from gdplay.cli.commands import COMMANDS as REGISTRY

    importlib.import_module(f"gdplay.cli.commands.{module}")
    fn = REGISTRY[args[0]].fn
    kwargs = _bind(fn, list(args[1:]))
    return None if kwargs is None else (fn, kwargs)


def _bind(fn: Callable[..., Any], args: list[str]) -> dict[str, Any] | None:
    """The keyword arguments typer would pass `fn` for `args` in a plain form, else None."""
    from typer.models import ArgumentInfo, OptionInfo

    flags: dict[str, str] = {}  # --flag -> parameter
    texts: dict[str, tuple[str, bool]] = {}  # --option -> (parameter, is a path)
    positional: tuple[str, str] | None = None  # (parameter, annotation)
    kwargs: dict[str, Any] = {}
    for name, param in inspect.signature(fn).parameters.items():
        info, annotation = param.default, str(param.annotation)
        if not isinstance(info, ArgumentInfo | OptionInfo) or info.envvar or info.callback or info.default_factory:
            return None
        if info.exists or info.resolve_path or not (info.file_okay and info.dir_okay and info.readable):
            return None  # typer would check or change the path
        if isinstance(info, OptionInfo) and (info.prompt or info.is_eager):
            return None
        if isinstance(info, ArgumentInfo):
            if positional is not None or info.default is not ... or annotation not in ("Path", "str", "list[Path]"):
                return None
            positional = (name, annotation)
            continue
        kwargs[name] = info.default
        decls = info.param_decls or ()
        if any("/" in d for d in decls) or not decls:
            return None  # an on/off pair or a name typer makes up
        if annotation == "bool" and info.default is False:
            flags.update(dict.fromkeys(decls, name))
        elif annotation in TEXT:
            texts.update(dict.fromkeys(decls, (name, annotation.startswith("Path"))))
    words: list[str] = []
    seen: set[str] = set()
    while args:
        item = args.pop(0)
        if item in flags and flags[item] not in seen:
            seen.add(flags[item])
            kwargs[flags[item]] = True
        elif item in texts and texts[item][0] not in seen and args and not args[0].startswith("-"):
            name, is_path = texts[item]
            seen.add(name)
            value = args.pop(0)
            kwargs[name] = Path(value) if is_path else value
        elif item.startswith("-"):
            return None
        else:
            words.append(item)
    if positional is None:
        return kwargs if not words else None
    name, annotation = positional
    if annotation == "list[Path]":
        if not words:
            return None
        kwargs[name] = [Path(w) for w in words]
    elif len(words) != 1:
        return None
    else:
        kwargs[name] = Path(words[0]) if annotation == "Path" else words[0]
    return kwargs


def _version() -> None:
    from gdplay import __version__

    print(f"gdplay {__version__}")


def dispatch(args: Sequence[str]) -> bool:
    """Run `args` without typer when they are a plain form (then end with SystemExit, as typer
    does: 0, or the exit code a command chose; Ctrl-C 130); False when typer must parse them."""
    found = plan(args)
    if found is None:
        return False
    fn, kwargs = found
    import click
    import typer

    try:
        fn(**kwargs)
    except (typer.Exit, click.exceptions.Exit) as exc:  # how `guarded` ends a command with a code
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except (EOFError, click.exceptions.Abort):  # typer's standalone mode: "Aborted!", exit 1
        click.echo("Aborted!", err=True)
        raise SystemExit(1) from None
    raise SystemExit(0)
