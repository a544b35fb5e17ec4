"""`gdplay init`: write a commented starter config that runs as it is."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from gdplay.cli.commands import command
from gdplay.cli.shell import guarded, out
from gdplay.errors import UsageError


PLAIN_NAME = re.compile(r"[^\W_][\w.+-]{0,99}|_[\w.+-]{0,99}")  # a word character first: no '-flag', no '.hidden'


@command("init", order=70)
@guarded
def init(
    name: str = typer.Argument(..., help="NAME writes NAME.yaml; a path ending in .yaml or .yml is used as it is."),
    objective: str | None = typer.Option(
        None, "--objective", help="A built-in objective (gdplay list) (default: the notebook's 3x² + 2x − 1)."
    ),
    optimizer: str = typer.Option("sgd", "--optimizer", help="manual_sgd, or a torch.optim optimizer by name."),
    force: bool = typer.Option(False, "--force", help="Overwrite the file if it exists."),
) -> None:
    """Write a starter config, every key commented, that runs as it is.

    Example: gdplay init mine --objective rosenbrock --optimizer adam  (writes mine.yaml)
    """
    from gdplay.cli.shell import write_atomic
    from gdplay.teach.starter import starter_text

    stem = Path(name).stem if Path(name).suffix.lower() in (".yaml", ".yml") else Path(name).name
    if not PLAIN_NAME.fullmatch(stem) or any(not part.isprintable() for part in Path(name).parts):
        raise UsageError(
            f"init: {name!r} is not a plain name; use letters, digits, '_', '-', '.' and '+' "
            "(it becomes the file's name and the run's name)"
        )
    target = Path(name) if Path(name).suffix.lower() in (".yaml", ".yml") else Path(f"{name}.yaml")
    if target.exists() and not force:
        raise UsageError(f"{target} exists; add --force to overwrite it")
    if target.is_dir():
        raise UsageError(f"{target} is a folder")
    text = starter_text(target, objective, optimizer)
    write_atomic(target, text)
    out().print(f"wrote {target}; run it with: gdplay run {target}", soft_wrap=True)
