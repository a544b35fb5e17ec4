"""What commands share: option declarations used by several, the overrides from flags, the progress bar.

Registers no command (the registry imports it along with the command modules; that is harmless).
"""

from __future__ import annotations

from typing import Any

import typer

CONFIG = typer.Argument(..., help="A YAML config file.")
AT_HELP = (
    "The point: x=1,y=2; a vector as w=[1,2] or one coordinate as w[0]=1; unnamed variables keep their "
    "start value. Default: the config's start."
)
RUN_HELP = "Only the run with this name (for a config with a runs: list; default: every run)."
SET_HELP = "Override a config key: --set objective.init.x=1"

# Options that several commands declare the same way (one definition, one help text).
JSON = typer.Option(False, "--json", help="Print one JSON document to stdout instead of tables.")
ALLOW_PYTHON = typer.Option(False, "--allow-python", help="Allow objectives written in Python files.")
AT = typer.Option(None, "--at", help=AT_HELP)
RUN = typer.Option(None, "--run", help=RUN_HELP)
SET = typer.Option(None, "--set", help=SET_HELP)
ENGINE = typer.Option(
    None, "--engine", help="eager | compiled | auto (overrides the config; auto compiles only when it pays)."
)


def overrides(
    sets: list[str] | None,
    device: str | None = None,
    dtype: str | None = None,
    steps: int | None = None,
    seed: int | None = None,
    engine: str | None = None,
) -> list[str]:
    """Command-line flags as `key=value` overrides, applied after the file (flags win)."""
    merged = list(sets or [])
    for key, value in (("device", device), ("dtype", dtype), ("steps", steps), ("seed", seed), ("engine", engine)):
        if value is not None:
            merged.append(f"{key}={value}")
    return merged


class ProgressBar:
    """A transient rich progress bar on stderr for work of at least `threshold` units; silent when
    stderr is not a terminal (pipes, CI, --json). Entering gives the engine's callback
    (done, total) -> None, or None when there is no bar."""

    def __init__(self, enabled: bool, work: int, threshold: int, label: str):
        from gdplay.cli.shell import err

        self.console = err()
        self.enabled = enabled and work >= threshold and self.console.is_terminal
        self.label = label
        self.bar: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        from rich.progress import Progress

        self.bar = Progress(console=self.console, transient=True)
        self.bar.start()
        task = self.bar.add_task(self.label, total=1.0)
        return lambda done, total: self.bar.update(task, completed=done / max(total, 1))

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
