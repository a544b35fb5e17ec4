"""`gdplay grad`: the gradient at a point by autograd and by central differences, side by side."""

from __future__ import annotations

from pathlib import Path

import typer

from gdplay.cli.commands import command
from gdplay.cli.commands._shared import ALLOW_PYTHON, AT, CONFIG, JSON, RUN, SET
from gdplay.cli.shell import emit_json, guarded, out
from gdplay.errors import EXIT_EXPECTATION, EXIT_OK


@command("grad", order=30)
@guarded
def grad(
    config: Path = CONFIG,
    at: list[str] | None = AT,
    run_name: str | None = RUN,
    sets: list[str] | None = SET,
    json_out: bool = JSON,
    allow_python: bool = ALLOW_PYTHON,
    h: float | None = typer.Option(
        None, "--h", help="The step of the central difference, (f(x + h) − f(x − h)) / (2·h) as the notebook writes it."
    ),
    h_sweep: bool = typer.Option(
        False, "--h-sweep", help="A table of h = 1e-1 … 1e-12: the difference, its error, the dominant term."
    ),
) -> None:
    """The gradient at a point by autograd and by central finite differences, per variable.

    Both in float64; the difference tries steps h = 1e-2 ... 1e-10 and shows the one kept (or uses
    --h). --h-sweep adds the notebook's experiment: h = 1e-1 ... 1e-12 in float64 and float32, the
    error against autograd and whether truncation (h²) or rounding (1/h) dominates it.
    torch.autograd.gradcheck gives a second opinion; one-sided slopes that disagree show a kink.
    Exit codes: 0 they agree, 1 they disagree, a derivative is not finite or f is not differentiable
    there (a kink), 2 usage error, 3 invalid config.
    """
    from gdplay.api import grad as gradients
    from gdplay.render.views import gradients_renderable

    found = gradients(config, at, run=run_name, sets=sets or (), allow_python=allow_python, h=h, h_sweep=h_sweep)
    if json_out:
        emit_json(found.to_dict())
    else:
        out().print(gradients_renderable(found))
    failed = found.failed
    raise typer.Exit(EXIT_EXPECTATION if failed else EXIT_OK)
