"""The registry of commands: every module in this package defines one or more commands.

A module registers its commands with `@command(...)`; the CLI imports every module
here (found by listing the package, so adding a command is adding one file).
Command modules import torch only inside their functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CommandSpec:
    name: str
    fn: Callable[..., Any]
    help: str
    order: int


COMMANDS: dict[str, CommandSpec] = {}


def command(name: str, order: int = 50) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as `gdplay NAME`; its docstring is the help text."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in COMMANDS:
            raise RuntimeError(f"command {name!r} is defined twice")
        COMMANDS[name] = CommandSpec(name, fn, reflow(fn.__doc__ or ""), order)
        return fn

    return register


def reflow(doc: str) -> str:
    """A docstring as help text: paragraphs kept, the line breaks inside them joined (the
    terminal wraps them to its own width)."""
    import inspect

    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs if p.strip())


def load_commands() -> dict[str, CommandSpec]:
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return dict(sorted(COMMANDS.items(), key=lambda kv: (kv[1].order, kv[0])))
